"""Issue 16's correction goals on the held-out part of the validation corpus (tests/corpus.py).

Every goal is asserted, for the batch and the live form; the full tables, with neurokit2
beside them, are in BENCHMARKS.md ("Validation corpus"), made by bench/bench_corpus.py.
"""

import numpy as np
import pytest

from corpus import HELD_OUT_SEEDS, base_series, load, mitdb_100, normal_stretches
from hrvd.hrv.artifacts import classify, correct_batch
from hrvd.hrv.artifacts_live import StreamingCorrector
from hrvd.hrv.metrics import time_domain
from hrvd.hrv.synthetic import detection_scores, inject, sinus_rr

RMSSD_GOAL = 0.05
CLEAN_FLAGGED_GOAL = 0.003
CLEAN_RMSSD_GOAL = 0.02
ECTOPIC_GOAL = 0.95
BEATS = 3000


def _rmssd(rr):
    return time_domain(np.asarray(rr)).rmssd_ms


def _live(rr):
    """Flagged indices and output of the streaming corrector."""
    corrector = StreamingCorrector(keep_classes=True)
    out = []
    for v, t in zip(rr.tolist(), (np.cumsum(rr) / 1000).tolist(), strict=True):
        out += [b.rr_ms for b in corrector.push(v, t)]
    out += [b.rr_ms for b in corrector.flush()]
    return np.flatnonzero(np.array(corrector.classes)), out


def _worst_errors(make_base, rate):
    batch, live = [], []
    for seed in HELD_OUT_SEEDS:
        rng = np.random.default_rng(seed)
        clean = make_base(rng)
        series = inject(clean, rate, rng)
        truth = _rmssd(clean)
        batch.append(abs(_rmssd(correct_batch(series.rr_ms).rr_ms) / truth - 1))
        live.append(abs(_rmssd(_live(series.rr_ms)[1]) / truth - 1))
    return max(batch), max(live)


@pytest.mark.parametrize("rate", [0.01, 0.03, 0.05])
def test_rmssd_stays_within_5_percent_of_clean_with_injected_artifacts_batch_and_live(rate):
    batch, live = _worst_errors(lambda rng: sinus_rr(BEATS, rng), rate)
    assert batch <= RMSSD_GOAL
    assert live <= RMSSD_GOAL


@pytest.mark.parametrize("rate", [0.01, 0.03, 0.05])
def test_rmssd_of_a_real_ppg_series_with_artifacts_stays_within_5_percent_batch_and_live(rate):
    base = base_series("systole_ppg", BEATS)
    batch, live = _worst_errors(lambda _rng: base, rate)
    assert batch <= RMSSD_GOAL
    assert live <= RMSSD_GOAL


def _assert_left_alone(rr, flags, corrected):
    assert len(flags) / len(rr) <= CLEAN_FLAGGED_GOAL
    assert abs(_rmssd(corrected) / _rmssd(rr) - 1) <= CLEAN_RMSSD_GOAL


def _clean_recordings():
    mit = mitdb_100()
    stretches = normal_stretches(*mit)
    return [
        pytest.param(part, id=f"mitdb-100-normal-{k + 1}") for k, part in enumerate(stretches)
    ] + [pytest.param(load("systole_ppg"), id="systole-ppg")]


@pytest.mark.parametrize("rr", _clean_recordings())
def test_clean_sinus_rhythm_is_left_alone_in_batch_and_live(rr):
    batch = correct_batch(rr)
    _assert_left_alone(rr, np.flatnonzero(batch.classes), batch.rr_ms)
    _assert_left_alone(rr, *_live(rr))


def test_cardiologist_labelled_premature_beats_are_found_with_precision_and_recall_095():
    rr, truth = mitdb_100()
    for flags in (np.flatnonzero(classify(rr)), _live(rr)[0]):
        precision, recall = detection_scores(flags, truth)
        assert precision >= ECTOPIC_GOAL
        assert recall >= ECTOPIC_GOAL
