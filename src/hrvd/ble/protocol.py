"""The GATT characteristics of a heart-rate strap, parsed and encoded. Pure: bytes in, values out.

Bluetooth SIG Heart Rate Service 0x180D: Heart Rate Measurement 0x2A37 and Body Sensor
Location 0x2A38; Battery Service 0x180F: Battery Level 0x2A19. Any bytes either parse or
raise :class:`~hrvd.errors.MalformedPayloadError`, never another exception (the contract
of h11's parser).

Heart Rate Measurement layout (little-endian)::

    flags  u8   bit 0: heart rate is u16 (else u8)
                bits 1-2: sensor contact: 0b0x not supported, 0b10 no contact, 0b11 contact
                bit 3: energy expended (u16, kJ) present
                bit 4: RR intervals present
    hr     u8 | u16, bpm
    energy u16, kJ              (when bit 3)
    rr     u16 * n, 1/1024 s    (when bit 4; every remaining pair of bytes, oldest first)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from hrvd.errors import MalformedPayloadError

HEART_RATE_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
HEART_RATE_MEASUREMENT_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_UUID = "00002a38-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"

RR_UNITS_PER_S = 1024
"""RR intervals travel in 1/1024 s."""

_HR_U16 = 0x01
_CONTACT_SUPPORTED = 0x04
_CONTACT_DETECTED = 0x02
_ENERGY = 0x08
_RR = 0x10


class BodySensorLocation(IntEnum):
    """Where the sensor sits (0x2A38)."""

    OTHER = 0
    CHEST = 1
    WRIST = 2
    FINGER = 3
    HAND = 4
    EAR_LOBE = 5
    FOOT = 6


def rr_raw_to_ms(raw: int) -> float:
    """An RR value in 1/1024 s as ms, unrounded (rounding would bias RMSSD)."""
    return raw * 1000.0 / RR_UNITS_PER_S


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One 0x2A37 notification.

    Attributes:
        hr_bpm: heart rate the strap computed, bpm (0 when it has none).
        contact: True / False when the strap reports skin contact, None when it cannot.
        energy_kj: energy expended since reset, kJ, when sent.
        rr_raw: the RR intervals in 1/1024 s, oldest first, exactly as received.
    """

    hr_bpm: int
    contact: bool | None
    energy_kj: int | None
    rr_raw: tuple[int, ...]

    @property
    def rr_ms(self) -> tuple[float, ...]:
        """The RR intervals in ms."""
        return tuple(rr_raw_to_ms(r) for r in self.rr_raw)


def _malformed(what: str, payload: bytes) -> MalformedPayloadError:
    return MalformedPayloadError(f"{what}: {payload.hex(' ') or '(empty)'}")


def parse_measurement(payload: bytes | bytearray) -> HeartRateMeasurement:
    """Parse a Heart Rate Measurement (0x2A37).

    Raises:
        MalformedPayloadError: the bytes are too short or end in half an RR value.
    """
    data = bytes(payload)
    if not data:
        raise _malformed("empty heart rate measurement", data)
    flags = data[0]
    offset = 1
    hr_size = 2 if flags & _HR_U16 else 1
    if len(data) < offset + hr_size:
        raise _malformed("heart rate measurement too short for its heart rate", data)
    hr = int.from_bytes(data[offset : offset + hr_size], "little")
    offset += hr_size
    energy = None
    if flags & _ENERGY:
        if len(data) < offset + 2:
            raise _malformed("heart rate measurement too short for its energy field", data)
        energy = int.from_bytes(data[offset : offset + 2], "little")
        offset += 2
    rr: tuple[int, ...] = ()
    if flags & _RR:
        rest = len(data) - offset
        if rest % 2:
            raise _malformed("heart rate measurement ends in half an RR interval", data)
        rr = struct.unpack_from(f"<{rest // 2}H", data, offset)
    elif len(data) > offset:
        raise _malformed("heart rate measurement has bytes its flags do not announce", data)
    contact = bool(flags & _CONTACT_DETECTED) if flags & _CONTACT_SUPPORTED else None
    return HeartRateMeasurement(hr_bpm=hr, contact=contact, energy_kj=energy, rr_raw=rr)


def encode_measurement(
    hr_bpm: int,
    rr_raw: tuple[int, ...] | list[int] = (),
    *,
    contact: bool | None = None,
    energy_kj: int | None = None,
    hr_uint16: bool = False,
) -> bytes:
    """Encode a Heart Rate Measurement, as a strap would (used by the virtual strap).

    Raises:
        ValueError: a value does not fit its field.
    """
    flags = _RR if rr_raw else 0
    if contact is not None:
        flags |= _CONTACT_SUPPORTED | (_CONTACT_DETECTED if contact else 0)
    if energy_kj is not None:
        flags |= _ENERGY
    if hr_uint16 or hr_bpm > 0xFF:
        flags |= _HR_U16
    out = bytearray([flags])
    out += hr_bpm.to_bytes(2 if flags & _HR_U16 else 1, "little")
    if energy_kj is not None:
        out += energy_kj.to_bytes(2, "little")
    try:
        out += struct.pack(f"<{len(rr_raw)}H", *rr_raw)
    except struct.error as exc:
        raise ValueError(f"RR values must be 0-65535 (1/1024 s): {exc}") from None
    return bytes(out)


def parse_body_sensor_location(payload: bytes | bytearray) -> BodySensorLocation | int:
    """Parse Body Sensor Location (0x2A38); an unknown code comes back as the int.

    Raises:
        MalformedPayloadError: not exactly one byte.
    """
    if len(payload) != 1:
        raise _malformed("body sensor location is not one byte", bytes(payload))
    code = payload[0]
    try:
        return BodySensorLocation(code)
    except ValueError:
        return code


def parse_battery_level(payload: bytes | bytearray) -> int:
    """Parse Battery Level (0x2A19), percent.

    Raises:
        MalformedPayloadError: not one byte, or above 100.
    """
    if len(payload) != 1 or payload[0] > 100:
        raise _malformed("battery level is not one byte of 0-100", bytes(payload))
    return payload[0]
