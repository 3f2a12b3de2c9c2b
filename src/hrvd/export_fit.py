"""A ride as a FIT activity: heart-rate records and HRV messages, for the training platforms.

Written with Garmin's own FIT SDK (``garmin-fit-sdk``, the Python SDK of the FIT protocol
owner, which both encodes and decodes), as the messages a head unit writes for an indoor
ride: ``file_id`` (an activity), a timer start event, one ``record`` a second with the heart
rate, ``hrv`` messages with every RR interval (s, up to 5 a message, as Garmin devices
write them), a timer stop, then ``lap``, ``session`` and ``activity`` summaries. Garmin
Connect, intervals.icu and Strava read these messages; intervals.icu computes its own HRV and
DFA alpha1 from the ``hrv`` messages.

A beat before which beats are missing (a Bluetooth drop) starts a new run of records; its
interval is written as is, since the FIT profile has no mark for a gap in ``hrv``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hrvd.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hrvd.config import Config
    from hrvd.store import StoredBeat

HRV_PER_MESSAGE = 5
"""RR intervals in one ``hrv`` message: the profile's array size as Garmin devices use it."""
MANUFACTURER = "development"
"""The FIT manufacturer id for software that is not a registered manufacturer's."""
INSTALL_HINT = "FIT export needs the 'fit' extra (Garmin's FIT SDK): pip install 'hrvd[fit]'"


def fit_activity(
    beats: Sequence[StoredBeat], sport: str = "cycling", sub_sport: str = "indoor_cycling"
) -> bytes:
    """The FIT file of a ride's beats (their end times in Unix ms, RR in 1/1024 s).

    Raises:
        UsageError: no beats, or the FIT SDK is not installed.
    """
    try:
        from garmin_fit_sdk import Encoder, Profile  # noqa: PLC0415 - only for this export
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    if not beats:
        raise UsageError("the ride has no beats to export")
    num = {name: n for n, name in Profile["types"]["mesg_num"].items()}
    start = _when(beats[0].t_ms - beats[0].rr_ms)
    end = _when(beats[-1].t_ms)
    enc = Encoder()
    file_id = {
        "type": "activity",
        "manufacturer": MANUFACTURER,
        "product": 0,
        "serial_number": 1,
        "time_created": start,
    }
    enc.on_mesg(num["file_id"], file_id)
    enc.on_mesg(num["event"], {"timestamp": start, "event": "timer", "event_type": "start"})
    hrs: list[int] = []
    for second, hr in _per_second(beats):
        hrs.append(hr)
        enc.on_mesg(num["record"], {"timestamp": second, "heart_rate": hr})
    rr_s = [b.rr_ms / 1000 for b in beats]
    for i in range(0, len(rr_s), HRV_PER_MESSAGE):
        enc.on_mesg(num["hrv"], {"time": rr_s[i : i + HRV_PER_MESSAGE]})
    enc.on_mesg(num["event"], {"timestamp": end, "event": "timer", "event_type": "stop_all"})
    elapsed = (end - start).total_seconds()
    summary = {
        "timestamp": end,
        "start_time": start,
        "total_elapsed_time": elapsed,
        "total_timer_time": elapsed,
        "avg_heart_rate": round(sum(hrs) / len(hrs)),
        "max_heart_rate": max(hrs),
        "sport": sport,
        "sub_sport": sub_sport,
    }
    enc.on_mesg(num["lap"], {**summary, "event": "lap", "event_type": "stop"})
    enc.on_mesg(
        num["session"],
        {**summary, "event": "session", "event_type": "stop", "first_lap_index": 0, "num_laps": 1},
    )
    enc.on_mesg(
        num["activity"],
        {
            "timestamp": end,
            "total_timer_time": elapsed,
            "num_sessions": 1,
            "type": "manual",
            "event": "activity",
            "event_type": "stop",
        },
    )
    return bytes(enc.close())


def _when(t_ms: float) -> datetime:
    return datetime.fromtimestamp(t_ms / 1000, tz=UTC)


def _per_second(beats: Sequence[StoredBeat]) -> list[tuple[datetime, int]]:
    """One heart rate a second that holds beats: 60000 / the mean RR of its beats, bpm."""
    seconds: dict[int, list[float]] = {}
    for b in beats:
        seconds.setdefault(int(b.t_ms // 1000), []).append(b.rr_ms)
    return [
        (_when(s * 1000), round(60000 * len(rr) / math.fsum(rr)))
        for s, rr in sorted(seconds.items())
    ]


def write_ride_fit(config: Config, ride_id: str, target: str | None, *, force: bool) -> int:
    """`hrvd export ride ID --format fit`: write the FIT file; return how many beats.

    Raises:
        UsageError: no such ride, no beats kept, no file named, or the file exists.
    """
    from hrvd.cli.export import ride_beats  # noqa: PLC0415
    from hrvd.files import write_atomically  # noqa: PLC0415

    if target in {None, "-"}:
        raise UsageError("a FIT file is binary: name it with --output FILE.fit")
    path = Path(str(target))
    if path.exists() and not force:
        raise UsageError(f"{path} exists: choose another name, or add --force to replace it")
    _ride, beats = ride_beats(config, ride_id)
    # Health data: private, and through mkstemp (a predictable name could be a planted link).
    write_atomically(path, fit_activity(beats), mode=0o600, dir_mode=0o700)
    return len(beats)
