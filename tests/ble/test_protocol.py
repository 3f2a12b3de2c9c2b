import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hrvd.ble.protocol import (
    BodySensorLocation,
    encode_measurement,
    parse_battery_level,
    parse_body_sensor_location,
    parse_measurement,
    rr_raw_to_ms,
)
from hrvd.errors import MalformedPayloadError


def test_polar_h10_payload_with_two_rr_values():
    # flags 0x10: u8 heart rate, no contact feature, RR present (what an H10 sends).
    m = parse_measurement(bytes.fromhex("10 4b 3a 03 45 03"))
    assert m.hr_bpm == 75
    assert m.contact is None
    assert m.energy_kj is None
    assert m.rr_raw == (0x033A, 0x0345)
    assert m.rr_ms == pytest.approx((806.640625, 817.3828125))


def test_contact_bits_energy_and_u16_heart_rate():
    # 0x1f: u16 HR, contact supported and detected, energy, RR.
    m = parse_measurement(bytes.fromhex("1f 2c 01 10 27 00 04"))
    assert m.hr_bpm == 300
    assert m.contact is True
    assert m.energy_kj == 10000
    assert m.rr_raw == (1024,)
    no_contact = parse_measurement(bytes.fromhex("04 00"))
    assert no_contact.contact is False
    assert no_contact.rr_raw == ()


def test_rr_in_ms_keeps_the_fraction():
    assert rr_raw_to_ms(1) == pytest.approx(0.9765625)


@pytest.mark.parametrize(
    ("hexbytes", "message"),
    [
        ("", "empty"),
        ("01 4b", "too short for its heart rate"),
        ("08 4b 01", "too short for its energy"),
        ("10 4b 3a", "half an RR interval"),
        ("00 4b 99", "do not announce"),
    ],
)
def test_malformed_measurements_raise_our_error_with_the_bytes(hexbytes, message):
    with pytest.raises(MalformedPayloadError, match=message) as err:
        parse_measurement(bytes.fromhex(hexbytes))
    assert (hexbytes or "(empty)") in str(err.value)


@given(st.binary(max_size=40))
def test_random_bytes_parse_or_raise_only_our_error(payload):
    try:
        m = parse_measurement(payload)
    except MalformedPayloadError:
        return
    assert 0 <= m.hr_bpm <= 0xFFFF
    assert all(0 <= r <= 0xFFFF for r in m.rr_raw)


@given(
    st.integers(0, 0xFFFF),
    st.lists(st.integers(0, 0xFFFF), max_size=9),
    st.none() | st.booleans(),
    st.none() | st.integers(0, 0xFFFF),
    st.booleans(),
)
def test_encode_then_parse_round_trips(hr, rr, contact, energy, u16):
    m = parse_measurement(
        encode_measurement(hr, rr, contact=contact, energy_kj=energy, hr_uint16=u16)
    )
    assert (m.hr_bpm, m.rr_raw, m.contact, m.energy_kj) == (hr, tuple(rr), contact, energy)


def test_encoder_refuses_values_that_do_not_fit():
    with pytest.raises(ValueError, match="0-65535"):
        encode_measurement(70, [70000])


def test_body_sensor_location_and_battery():
    assert parse_body_sensor_location(b"\x01") is BodySensorLocation.CHEST
    assert parse_body_sensor_location(b"\x09") == 9
    assert parse_battery_level(b"\x57") == 87
    for bad in (b"", b"\x01\x02"):
        with pytest.raises(MalformedPayloadError):
            parse_body_sensor_location(bad)
    for bad in (b"", b"\x65", b"\x01\x02"):
        with pytest.raises(MalformedPayloadError):
            parse_battery_level(bad)


@given(st.binary(max_size=4))
def test_other_characteristics_never_raise_anything_else(payload):
    for parse in (parse_body_sensor_location, parse_battery_level):
        with contextlib.suppress(MalformedPayloadError):
            parse(payload)
