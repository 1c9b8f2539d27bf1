"""Fingerprint sensor driver (ZFM-20 / R30x over a serial port, via pyfingerprint)."""

from hardware.sensor.driver import ZfmSensor

__all__ = ["ZfmSensor"]
