"""The daemon and its parts.

The daemon, the strap pipeline, the morning run, beat recording, systemd, the clock and
the order of async work.
"""
