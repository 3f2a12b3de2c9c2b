"""hrvd: heart-rate variability from a BLE chest strap, for a Raspberry Pi and Home Assistant."""

__version__ = "0.1.0"
