"""A virtual strap: RR intervals in, Heart Rate Measurement bytes out, one a second.

It sends what a chest strap sends (flags, heart rate, the RR values that ended in the last
second, in 1/1024 s, skin contact), so the demo exercises the real parser and session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hrvd.ble.protocol import RR_UNITS_PER_S, encode_measurement

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
    from numpy.typing import NDArray

NOTIFY_EVERY_S = 1.0


def measurements(rr_ms: NDArray[np.float64]) -> Iterator[tuple[float, bytes]]:
    """(time s from the first beat, payload) for each notification of ``rr_ms``."""
    t, due = 0.0, NOTIFY_EVERY_S
    pending: list[int] = []
    last_rr = 1000.0
    for rr in rr_ms.tolist():
        t += rr / 1000.0
        while t > due:
            yield due, encode_measurement(round(60000 / last_rr), pending, contact=True)
            pending, due = [], due + NOTIFY_EVERY_S
        pending.append(round(rr * RR_UNITS_PER_S / 1000.0))
        last_rr = rr
    yield due, encode_measurement(round(60000 / last_rr), pending, contact=True)
