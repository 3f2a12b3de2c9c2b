import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hrvd.hrv.artifacts import classify
from hrvd.hrv.artifacts_live import StreamingCorrector
from hrvd.hrv.metrics import time_domain
from hrvd.hrv.rules import LOOKAHEAD_BEATS, STREAM_WARMUP_BEATS, BeatClass
from hrvd.hrv.stream import HrvStream
from hrvd.hrv.synthetic import Injected, detection_scores, inject, sinus_rr
from recordings import RECORDINGS, load_rr


def _stream(rr, gaps=()):
    corrector = StreamingCorrector(keep_classes=True)
    out = []
    t = np.cumsum(rr) / 1000
    for i, (v, ti) in enumerate(zip(rr.tolist(), t.tolist(), strict=True)):
        if i in gaps:
            out += corrector.gap()
        out += corrector.push(v, ti)
    out += corrector.flush()
    return corrector, out


def test_each_beat_is_decided_after_the_stated_look_ahead():
    rr = sinus_rr(200, np.random.default_rng(0))
    corrector = StreamingCorrector(keep_classes=True)
    for i, v in enumerate(rr.tolist(), start=1):
        corrector.push(v, i * 0.9)
        if i >= STREAM_WARMUP_BEATS:
            assert len(corrector.classes) == i - LOOKAHEAD_BEATS


def test_streaming_finds_injected_artifacts_like_the_batch_form():
    rng = np.random.default_rng(5)
    series = inject(sinus_rr(3000, rng), 0.03, rng)
    corrector, _ = _stream(series.rr_ms)
    flagged = np.flatnonzero(np.array(corrector.classes))
    precision, recall = detection_scores(flagged, series.artifacts)
    assert precision >= 0.9
    assert recall >= 0.95


@pytest.mark.parametrize("name", RECORDINGS)
def test_streaming_and_batch_forms_rarely_disagree_on_real_recordings(name):
    # Measured 0.0-4.1 % of beats (BENCHMARKS.md): the trailing thresholds lag a change in
    # variability that the centred ones already see. The 4.1 % (33 of 798 beats) is
    # polar_h10's runs of trigeminy (~700, 420, 1000 ms), which the live form, clearing the
    # thresholds of the ones it corrected, follows further than the batch form does; it
    # was 3.8 % before the 20 % criterion (PERCENT_FILTER), one beat short of the old 4 %.
    rr = load_rr(name)
    corrector, _ = _stream(rr)
    streamed = np.array(corrector.classes) != BeatClass.NORMAL
    batch = classify(rr) != BeatClass.NORMAL
    assert np.mean(streamed != batch) < 0.05


@pytest.mark.parametrize("kind", list(Injected))
def test_streaming_correction_keeps_rmssd_close_to_the_clean_value(kind):
    rng = np.random.default_rng(9)
    clean = sinus_rr(3000, rng)
    series = inject(clean, 0.03, rng, (kind,))
    _, out = _stream(series.rr_ms)
    fixed = np.array([b.rr_ms for b in out])
    assert time_domain(fixed).rmssd_ms == pytest.approx(time_domain(clean).rmssd_ms, rel=0.05)


def test_a_gap_is_never_bridged():
    rr = sinus_rr(100, np.random.default_rng(2))
    rr[50:] += 400  # after the reconnect the rider is resting: a big step in RR
    corrector, out = _stream(rr, gaps={50})
    gap_beats = [b for b in out if b.gap_before]
    assert len(gap_beats) == 1
    assert gap_beats[0].index == 50
    # The step across the gap is not an artifact: nothing around it is flagged.
    assert not any(corrector.classes[45:56])


@settings(max_examples=150, deadline=None)
@given(
    arrays(np.float64, st.integers(0, 300), elements=st.floats(200, 3000)),
    st.sets(st.integers(0, 299), max_size=4),
)
def test_every_beat_is_classified_once_and_released_in_order(rr, gaps):
    corrector, out = _stream(rr, gaps)
    assert len(corrector.classes) == len(rr)
    indices = [b.index for b in out]
    assert indices == sorted(indices)
    assert all(b.rr_ms > 0 for b in out)
    released = {b.index for b in out}
    merged = {i + 1 for i, c in enumerate(corrector.classes) if c == BeatClass.EXTRA}
    assert released | merged >= set(range(len(rr)))


def test_the_daemons_stream_keeps_nothing_per_beat_however_long_it_runs():
    # A strap's HrvStream lives as long as the daemon: months. Its corrector's memory must
    # not grow with the beats it has seen (the class list grew ~1 MB a strap-day).
    stream = HrvStream()
    rr = sinus_rr(20_000, np.random.default_rng(2))
    for v, t in zip(rr.tolist(), (np.cumsum(rr) / 1000).tolist(), strict=True):
        stream.push(v, t)
    assert stream.corrector.beats_in == len(rr)
    assert stream.corrector.classes == []
