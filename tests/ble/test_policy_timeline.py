import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hrvd.ble.policy import FIRST_RETRY_S, JITTER, MAX_BACKOFF_S, backoff_s
from hrvd.ble.timeline import BeatTimeline


def test_backoff_starts_quick_doubles_and_is_capped():
    rng = random.Random(1)
    waits = [backoff_s(a, rng) for a in range(12)]
    assert waits[0] <= FIRST_RETRY_S * (1 + JITTER)
    assert waits[3] > waits[0] * 4
    assert max(waits) <= MAX_BACKOFF_S * (1 + JITTER)
    assert waits[-1] >= MAX_BACKOFF_S * (1 - JITTER)


@given(st.integers(-5, 1000))
def test_backoff_is_always_positive_and_bounded(attempt):
    assert 0 < backoff_s(attempt) <= MAX_BACKOFF_S * (1 + JITTER)


def test_backoff_has_jitter_so_straps_do_not_retry_in_step():
    rng = random.Random(2)
    assert len({round(backoff_s(4, rng), 6) for _ in range(20)}) > 10


def test_beats_are_timed_by_rr_sum_and_anchored_at_the_first_notification():
    tl = BeatTimeline()
    first = tl.add(100.0, (1024, 512))
    assert [b.t_s for b in first] == pytest.approx([99.5, 100.0])
    assert first[0].gap_before
    assert not first[1].gap_before
    # A late notification does not move beat times: they follow the RR sum.
    later = tl.add(101.7, (1024,))
    assert later[0].t_s == pytest.approx(101.0)
    assert not later[0].gap_before


def test_empty_notifications_give_no_beats():
    assert BeatTimeline().add(5.0, ()) == []


def test_reconnect_and_lost_beats_start_a_new_segment():
    tl = BeatTimeline()
    tl.add(10.0, (1024,))
    tl.gap()
    after = tl.add(60.0, (1024,))
    assert after[0].gap_before
    assert after[0].t_s == pytest.approx(60.0)
    # 20 s of notifications lost while "connected": the sum falls behind, a new segment.
    lost = tl.add(81.0, (1024,))
    assert lost[0].gap_before
    assert lost[0].t_s == pytest.approx(81.0)
