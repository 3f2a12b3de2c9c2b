"""RR intervals from a FIT file (Garmin, Wahoo, ...), read with Garmin's FIT SDK.

A device with HRV logging on writes HRV messages (global number 78): up to five
beat-to-beat times each, in 1/1000 s, unused places invalid (0xFFFF). Newer Garmin files
may hold beat-interval messages (290), in ms, instead.

The decoder is Garmin's FIT SDK (``garmin-fit-sdk``), the optional ``fit`` extra
(``pip install 'hrvd[fit]'``): Garmin's own, released with every FIT profile, no
dependencies, 2 MB, typed (``py.typed``, each message a TypedDict), and it encodes too, so
the tests write their FIT files with it. Weighed against it: fitdecode (MIT, decode only,
its profile behind Garmin's) and fit-tool (BSD, reads and writes, 8 MB). Its licence is
Garmin's FIT Protocol License, free to use but not an OSI one: one more reason it is an
extra, not a dependency of every install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hrvd.errors import InputFileError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import NDArray

NO_HRV_ADVICE = (
    "holds no beat-to-beat (HRV) data: record with HRV logging on (on a Garmin: Settings > "
    "System > Data Recording > Log HRV) and a chest strap"
)


def read_fit_rr(data: bytes, source: str) -> NDArray[np.float64]:
    """The RR intervals of a FIT file, ms, in the order recorded.

    Raises:
        InputFileError: the FIT SDK is not installed, the file is corrupt, or it holds
            no HRV data.
    """
    try:
        from garmin_fit_sdk import Decoder, Stream  # noqa: PLC0415 - an optional extra
    except ImportError:
        msg = "is a FIT file: install the fit extra to read it (pip install 'hrvd[fit]')"
        raise InputFileError(source, None, msg) from None
    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    try:
        messages, errors = decoder.read(
            convert_datetimes_to_dates=False, expand_components=False, merge_heart_rates=False
        )
    except Exception as exc:  # noqa: BLE001 - the SDK raises anything on a corrupt file
        raise InputFileError(source, None, f"not a valid FIT file ({exc})") from None
    if errors:
        raise InputFileError(source, None, f"not a valid FIT file ({errors[0]})")
    hrv, intervals = messages.get("hrv_mesgs", []), messages.get("beat_intervals_mesgs", [])
    # HRV messages hold seconds, beat-interval messages ms.
    times, scale = (_times(hrv), 1000.0) if hrv else (_times(intervals), 1.0)
    if not times:
        raise InputFileError(source, None, NO_HRV_ADVICE)
    # FIT stores whole ms: round away the float error of the SDK's scaling.
    return np.rint(np.asarray(times, dtype=np.float64) * scale)


def _times(messages: Sequence[Mapping[str, object]]) -> list[float]:
    """Every valid beat time of the messages (the SDK gives invalid ones as None)."""
    out: list[float] = []
    for message in messages:
        time = message.get("time")
        values = time if isinstance(time, list) else [time]
        out.extend(float(v) for v in values if isinstance(v, int | float))
    return out
