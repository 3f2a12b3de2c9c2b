"""Bluetooth LE heart-rate straps: the pure GATT parser, scanning and resilient sessions."""
