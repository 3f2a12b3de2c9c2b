"""The short form of bench/fuzz_protocol.py: the parser's contract on 100,000 inputs."""

from fuzz_protocol import fuzz
from hrvd.ble.protocol import parse_measurement


def test_any_bytes_parse_or_raise_the_malformed_payload_error():
    outcome = fuzz(100_000)
    assert outcome.total == 100_000
    assert outcome.crashes == []
    assert outcome.crash_count == 0
    results = {result for _, result in outcome.counts}
    assert results == {"parsed", "malformed"}  # both sides of the contract were reached


def test_the_fuzz_counts_another_exception_as_a_crash(monkeypatch):
    import fuzz_protocol  # noqa: PLC0415

    def fragile(payload: bytes) -> object:
        if len(payload) == 1:
            raise IndexError(payload)
        return parse_measurement(payload)

    monkeypatch.setattr(fuzz_protocol, "parse_measurement", fragile)
    outcome = fuzz(0)  # the exhaustive 0-2 byte payloads only
    assert outcome.crash_count == 256
    assert "IndexError" in outcome.crashes[0]
