import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hrvd.hrv.metrics import time_domain
from hrvd.hrv.rolling import RESYNC_EVERY_BEATS, RollingTimeDomain
from hrvd.hrv.stream import HrvStream
from hrvd.hrv.synthetic import sinus_rr


def _window(rr, t, now, window_s):
    inside = t > now - window_s
    return rr[inside]


@settings(max_examples=100, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 400), elements=st.floats(300, 1500)),
    st.sampled_from([10.0, 60.0, 120.0]),
)
def test_rolling_window_equals_batch_metrics_of_the_same_beats(rr, window_s):
    t = np.cumsum(rr) / 1000
    rolling = RollingTimeDomain(window_s)
    for v, ti in zip(rr.tolist(), t.tolist(), strict=True):
        rolling.push(v, ti)
    expected = time_domain(_window(rr, t, t[-1], window_s))
    got = rolling.metrics()
    assert got.n_beats == expected.n_beats
    for field in ("mean_rr_ms", "rmssd_ms", "sdnn_ms", "pnn50"):
        ours, theirs = getattr(got, field), getattr(expected, field)
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            # Running sums cancel to within 1e-4 ms; a strap resolves about 1 ms.
            assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-4)


def test_sums_do_not_drift_over_a_day_of_beats():
    rr = sinus_rr(100_000, np.random.default_rng(4))
    t = np.cumsum(rr) / 1000
    rolling = RollingTimeDomain(300.0)
    for v, ti in zip(rr.tolist(), t.tolist(), strict=True):
        rolling.push(v, ti)
    expected = time_domain(_window(rr, t, t[-1], 300.0))
    assert len(rr) > 10 * RESYNC_EVERY_BEATS
    assert rolling.metrics().sdnn_ms == pytest.approx(expected.sdnn_ms, rel=1e-9)
    assert rolling.metrics().rmssd_ms == pytest.approx(expected.rmssd_ms, rel=1e-9)


def test_rolling_window_does_not_bridge_a_gap():
    rolling = RollingTimeDomain(60.0)
    for i, rr in enumerate([800.0, 810.0, 800.0]):
        rolling.push(rr, i)
    rolling.push(1400.0, 10.0, gap_before=True)
    rolling.push(1410.0, 11.4)
    assert rolling.metrics().rmssd_ms == pytest.approx(np.sqrt((100 + 100 + 100) / 3))


def test_artifact_rate_counts_corrected_beats_in_the_window():
    rolling = RollingTimeDomain(60.0)
    for i in range(10):
        rolling.push(1000.0, float(i), corrected=i in {2, 7})
    assert rolling.artifact_rate == pytest.approx(0.2)


def test_live_stream_reports_alpha1_and_its_reliability():
    rr = sinus_rr(600, np.random.default_rng(8))
    stream = HrvStream()
    for v, ti in zip(rr.tolist(), (np.cumsum(rr) / 1000).tolist(), strict=True):
        stream.push(v, ti)
    snap = stream.snapshot()
    assert snap.dfa_alpha1 is not None
    assert snap.dfa_reliable
    assert snap.n_beats > 50
    assert snap.rmssd_ms == pytest.approx(time_domain(rr[-snap.n_beats - 3 : -3]).rmssd_ms, rel=0.2)


def test_alpha1_is_not_trusted_above_three_percent_artifacts():
    rr = sinus_rr(600, np.random.default_rng(8))
    rr[::10] *= 1.5  # 10 % long beats
    stream = HrvStream()
    for v, ti in zip(rr.tolist(), (np.cumsum(rr) / 1000).tolist(), strict=True):
        stream.push(v, ti)
    snap = stream.snapshot()
    assert snap.dfa_artifact_rate is not None
    assert snap.dfa_artifact_rate > 0.03
    assert not snap.dfa_reliable
