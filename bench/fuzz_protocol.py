"""The parser's contract at a million inputs: any bytes parse or raise MalformedPayloadError.

``hrvd.ble.protocol`` promises (STYLE.md rule 11, h11's contract) that any bytes a strap
sends either parse or raise :class:`~hrvd.errors.MalformedPayloadError`, never another
exception. The unit tests check it with hypothesis on a few hundred inputs; this script
checks it on a million, in five families, each seeded so that a run can be repeated:

* every payload of 0, 1 and 2 bytes (65,793: every flag byte with every short tail);
* uniform random bytes of 3-40 bytes (a strap's notification: ATT MTU 23 gives 20, and
  larger MTUs allow more);
* valid measurements (random heart rate, energy, 0-9 RR values, contact) mutated: a bit
  flipped, a byte dropped, added or replaced, or cut short;
* random flag bytes with a random length tail of 0-512 bytes (512: the largest attribute
  value ATT allows, Bluetooth Core 5.3 Vol 3 Part F 3.2.9);
* random payloads of 0-3 bytes through the Body Sensor Location and Battery Level parsers.

A parsed measurement must also hold values that fit its fields (heart rate and RR are
u16) and encode back to a payload that parses to the same values.

Run: ``.venv/bin/python bench/fuzz_protocol.py`` (1,000,000 inputs, about a minute) or
``--count N``; it prints a Markdown report with the machine and date and exits 1 on any
crash. ``tests/ble/test_fuzz_protocol.py`` runs a short form in CI. Results:
``RELIABILITY.md``, section "The parser at a million inputs".
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from harness.machine import cpu_model
from hrvd.ble.protocol import (
    encode_measurement,
    parse_battery_level,
    parse_body_sensor_location,
    parse_measurement,
)
from hrvd.errors import MalformedPayloadError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SEED = 20261204
MAX_ATTRIBUTE_BYTES = 512
"""The longest attribute value ATT allows (Bluetooth Core 5.3, Vol 3, Part F, 3.2.9)."""
NOTIFICATION_BYTES = 40
"""Random payloads go up to this: above any real strap's 20-byte (MTU 23) notification."""
EXHAUSTIVE_BYTES = 2
"""Every payload up to this many bytes is tried."""


@dataclass
class Outcome:
    """What the inputs did: counts by family and result, and the first crashes."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every input tried."""
        return sum(self.counts.values())

    @property
    def crash_count(self) -> int:
        """Inputs that raised anything but MalformedPayloadError, or parsed to nonsense."""
        return sum(n for (_, result), n in self.counts.items() if result == "crash")


def _exhaustive() -> Iterator[bytes]:
    for size in range(EXHAUSTIVE_BYTES + 1):
        for value in range(256**size):
            yield value.to_bytes(size, "little")


def _uniform(rng: random.Random) -> bytes:
    return rng.randbytes(rng.randint(EXHAUSTIVE_BYTES + 1, NOTIFICATION_BYTES))


def _tiny(rng: random.Random) -> bytes:
    return rng.randbytes(rng.randint(0, 3))


def _valid(rng: random.Random) -> bytes:
    return encode_measurement(
        rng.randint(0, 0xFFFF),
        [rng.randint(0, 0xFFFF) for _ in range(rng.randint(0, 9))],
        contact=rng.choice((None, True, False)),
        energy_kj=rng.choice((None, rng.randint(0, 0xFFFF))),
        hr_uint16=rng.random() < 0.5,
    )


def _mutated(rng: random.Random) -> bytes:
    data = bytearray(_valid(rng))
    kind = rng.randrange(5)
    i = rng.randrange(len(data))
    if kind == 0:
        data[i] ^= 1 << rng.randrange(8)
    elif kind == 1:
        del data[i]
    elif kind == 2:
        data.insert(i, rng.randrange(256))
    elif kind == 3:
        data[i] = rng.randrange(256)
    else:
        del data[i:]
    return bytes(data)


def _long(rng: random.Random) -> bytes:
    return bytes([rng.randrange(256)]) + rng.randbytes(rng.randint(0, MAX_ATTRIBUTE_BYTES - 1))


def _check_measurement(payload: bytes) -> str:
    try:
        m = parse_measurement(payload)
    except MalformedPayloadError:
        return "malformed"
    fits = 0 <= m.hr_bpm <= 0xFFFF and all(0 <= r <= 0xFFFF for r in m.rr_raw)
    fits = fits and (m.energy_kj is None or 0 <= m.energy_kj <= 0xFFFF)
    again = parse_measurement(
        encode_measurement(
            m.hr_bpm,
            list(m.rr_raw),
            contact=m.contact,
            energy_kj=m.energy_kj,
            hr_uint16=bool(payload[0] & 1),
        )
    )
    if not fits or again != m:
        msg = f"parsed to values that do not fit or round-trip: {m}"
        raise AssertionError(msg)
    return "parsed"


def _check_other(payload: bytes) -> str:
    results = []
    for parse in (parse_body_sensor_location, parse_battery_level):
        try:
            parse(payload)
            results.append("parsed")
        except MalformedPayloadError:
            results.append("malformed")
    return "parsed" if "parsed" in results else "malformed"


def _try(outcome: Outcome, family: str, check: Callable[[bytes], str], payload: bytes) -> None:
    try:
        result = check(payload)
    except Exception:  # noqa: BLE001 - any other exception is what we count
        result = "crash"
        if len(outcome.crashes) < 10:
            outcome.crashes.append(f"{payload.hex(' ')}\n{traceback.format_exc()}")
    outcome.counts[family, result] += 1


def fuzz(count: int, seed: int = SEED) -> Outcome:
    """Try ``count`` inputs (at least the exhaustive short ones); return what they did."""
    rng = random.Random(seed)  # noqa: S311 - reproducible inputs, not secrets
    outcome = Outcome()
    short = list(_exhaustive())
    for payload in short:
        _try(outcome, "every 0-2 bytes", _check_measurement, payload)
    families: list[tuple[str, Callable[[random.Random], bytes], Callable[[bytes], str]]] = [
        ("uniform 3-40 bytes", _uniform, _check_measurement),
        ("mutated valid", _mutated, _check_measurement),
        ("flags + 0-511 bytes", _long, _check_measurement),
        ("location and battery, 0-3 bytes", _tiny, _check_other),
    ]
    rest = max(0, count - len(short))
    for i in range(rest):
        name, make, check = families[i % len(families)]
        _try(outcome, name, check, make(rng))
    return outcome


def report(outcome: Outcome, seconds: float) -> str:
    """A Markdown report: machine, date, counts by family, crashes."""
    families = sorted({family for family, _ in outcome.counts})
    lines = [
        f"Parser fuzz: {outcome.total:,} inputs, seed {SEED}, {seconds:.1f} s",
        f"({datetime.now(UTC):%Y-%m-%d}, {cpu_model()}, Python {sys.version.split()[0]})",
        "",
        "| family | inputs | parsed | malformed | crashes |",
        "|---|---:|---:|---:|---:|",
    ]
    for family in families:
        c = {r: outcome.counts[family, r] for r in ("parsed", "malformed", "crash")}
        lines.append(
            f"| {family} | {sum(c.values()):,} | {c['parsed']:,} | "
            f"{c['malformed']:,} | {c['crash']:,} |"
        )
    lines += ["", f"crashes: {outcome.crash_count}"]
    lines += [f"\n{crash}" for crash in outcome.crashes]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run the fuzz and print the report; exit 1 on any crash."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="inputs (default 1e6)")
    args = parser.parse_args()
    start = time.perf_counter()
    outcome = fuzz(args.count)
    sys.stdout.write(report(outcome, time.perf_counter() - start))
    return 1 if outcome.crash_count else 0


if __name__ == "__main__":
    sys.exit(main())
