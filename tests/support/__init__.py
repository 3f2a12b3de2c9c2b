"""Helpers that several test modules share: rigs, configs and readers built on the harness.

``tests/harness/`` holds the real parts (D-Bus with a fake BlueZ, mosquitto, the daemon as
a process); this package holds what tests build from them, so that a test module never
imports another test module. The recordings and the reference implementations the
benchmarks share too (``recordings``, ``corpus``, ``neurokit_ref``, ``hrvt1_ref``) stay at
``tests/``' top, where the benchmarks and the docs name them.
"""
