"""Command payloads: any bytes give a command or a rejection, never an exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hrvd.publish import topics
from hrvd.publish.commands import (
    MAX_COMMAND_BYTES,
    MorningCommand,
    Rejected,
    RideCommand,
    TokenBucket,
    parse_morning_command,
    parse_ride_command,
    shown,
)

PARSERS = (parse_ride_command, parse_morning_command)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
_command_like = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(["start", "stop", "go"]) | _json_values,
        "strap": st.text(max_size=80) | _json_values,
        "repeat": st.booleans() | _json_values,
        "posture": st.sampled_from(["lying", "sitting", "standing", "upside"]) | _json_values,
        "orthostatic": st.booleans() | _json_values,
    },
).map(lambda d: json.dumps(d).encode())


_nested = st.tuples(st.integers(0, 1200), st.sampled_from([b"[", b'{"a":', b"9"])).map(
    lambda n_piece: n_piece[1] * n_piece[0]
)


@given(st.binary(max_size=MAX_COMMAND_BYTES + 8) | _command_like | _nested)
def test_any_bytes_give_a_command_or_a_reason(payload: bytes) -> None:
    for parse in PARSERS:
        result = parse(payload)
        assert isinstance(result, RideCommand | MorningCommand | Rejected)
        if isinstance(result, Rejected):
            assert result.reason
            assert "\n" not in result.reason
        else:
            assert result.strap is None or 0 < len(result.strap) <= 64


HOSTILE = {
    "1,000-deep JSON": b"[" * 1000,
    "1,000-deep object": b'{"a":' * 200,
    "a 4,400-digit number": b"9" * 4400,
    "a 1,000-digit number in an object": b'{"action": ' + b"9" * 1000 + b"}",
    "10 MB": b"x" * 10_000_000,
    "10 MB strap name": json.dumps({"action": "start", "strap": "h" * 10_000_000}).encode(),
    "not UTF-8": b"\xff\xfe start",
    "a list": b'["start"]',
    "a number for the action": b'{"action": 1}',
    "a number for the strap": b'{"action": "start", "strap": 7}',
    "an empty strap name": b'{"action": "start", "strap": " "}',
}


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_ride_payloads_are_rejected_with_a_reason(payload: bytes) -> None:
    result = parse_ride_command(payload)
    assert isinstance(result, Rejected)
    assert len(result.reason) < 100


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 1000,
        b"9" * 4400,
        b"x" * 10_000_000,
        b'{"repeat": "yes"}',
        b'{"posture": 3}',
        b'{"posture": "upside down"}',
        b"[1, 2]",
        b"please",
        b'{"orthostatic": 1}',
    ],
)
def test_hostile_morning_payloads_are_rejected_with_a_reason(payload: bytes) -> None:
    assert isinstance(parse_morning_command(payload), Rejected)


def test_the_commands_hrvd_and_home_assistant_send_are_understood() -> None:
    assert parse_ride_command(b"start") == RideCommand("start")
    assert parse_ride_command(b" stop\n") == RideCommand("stop")
    switch_on = topics.ride_command("h10_garage", "start").encode()
    assert parse_ride_command(switch_on) == RideCommand("start", "h10_garage")
    assert parse_morning_command(b"start") == MorningCommand()
    both = b'{"strap": "h10", "repeat": true, "posture": "sitting"}'
    assert parse_morning_command(both) == MorningCommand("h10", repeat=True, posture="sitting")
    assert parse_morning_command(b"orthostatic") == MorningCommand(orthostatic=True)
    lie_stand = b'{"orthostatic": true, "strap": "h10"}'
    assert parse_morning_command(lie_stand) == MorningCommand("h10", orthostatic=True)


def test_a_log_line_shows_a_few_words_of_a_payload() -> None:
    assert shown(b"start") == "start"
    assert len(shown(b"h" * 10_000_000)) == 81
    assert shown(b"\xff") == "\ufffd"


def test_a_token_bucket_lets_a_burst_through_then_one_per_interval() -> None:
    bucket = TokenBucket(burst=3, every_s=60.0)
    assert [bucket.allow(0.0) for _ in range(5)] == [True, True, True, False, False]
    assert not bucket.allow(59.0)
    assert bucket.allow(61.0)
    assert bucket.take_refused() == 3
    assert bucket.take_refused() == 0
    # Full again after three quiet minutes; a flood of 1,000 a second for 20 s then lets
    # the burst through and no more (one more comes only after 60 s), not 20,000.
    flood = sum(bucket.allow(300.0 + k / 1000) for k in range(20_000))
    assert flood == 3
