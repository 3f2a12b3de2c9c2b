"""Pure policies of a strap session: how long to wait before the next connect attempt."""

from __future__ import annotations

import random

STALL_TIMEOUT_S = 5.0
"""A connected strap that sends nothing for this long has stalled: reconnect. Straps
notify about once a second; 5 s rides out a few lost notifications."""
FIRST_RETRY_S = 0.5
"""First retry comes quickly: a Polar H10 on Linux is reported to drop about 150 s after
connecting, and a morning measurement tolerates a gap of only a few seconds."""
BACKOFF_FACTOR = 2.0
MAX_BACKOFF_S = 30.0
"""Cap of the wait, s: a strap back in range is found within half a minute."""
JITTER = 0.25
"""Each wait is drawn from +/-25 % around its step, so two straps do not retry in step."""
RESET_AFTER_STREAMING_S = 60.0
"""A link that streamed this long counts as healthy: the next drop starts the backoff
from the first step again."""


def backoff_s(attempt: int, rng: random.Random | None = None) -> float:
    """Wait before connect attempt ``attempt`` (0 = the first retry), s.

    Capped exponential with jitter: 0.5, 1, 2, 4, ... up to 30 s, each +/-25 %.
    """
    step = min(FIRST_RETRY_S * BACKOFF_FACTOR ** max(attempt, 0), MAX_BACKOFF_S)
    spread = (rng or random).uniform(-JITTER, JITTER)
    return step * (1.0 + spread)
