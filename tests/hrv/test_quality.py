import numpy as np
import pytest

from hrvd.cli.analyze import summarise
from hrvd.hrv.quality import (
    IRREGULAR_DEVIATION,
    MAX_GAP_S,
    MEDIAN_BEATS,
    Level,
    Reason,
    TrailingIrregular,
    irregular,
    judge,
)
from hrvd.hrv.stream import HrvStream
from hrvd.hrv.synthetic import sinus_rr
from recordings import load_rr

FINE = {
    "duration_s": 300.0,
    "artifact_rate": 0.0,
    "ectopic_burden": 0.0,
    "longest_gap_s": 0.0,
    "alpha1": 1.0,
}


def test_a_clean_analysis_is_good_and_trusts_alpha1():
    verdict = judge(**FINE)
    assert verdict.level is Level.GOOD
    assert verdict.reasons == ()
    assert verdict.alpha1_trusted
    assert verdict.words() == "good"


@pytest.mark.parametrize(
    ("change", "reason", "level"),
    [
        ({"artifact_rate": 0.06}, Reason.ARTIFACTS, Level.REJECT),
        ({"ectopic_burden": 0.06}, Reason.ECTOPIC_BURDEN, Level.REJECT),
        ({"longest_gap_s": MAX_GAP_S}, Reason.GAP, Level.REJECT),
        ({"duration_s": 45.0}, Reason.TOO_SHORT, Level.REJECT),
        ({"artifact_rate": 0.04}, Reason.ALPHA1_ARTIFACTS, Level.CAUTION),
        ({"alpha1": None}, Reason.ALPHA1_MISSING, Level.CAUTION),
    ],
)
def test_each_limit_gives_its_reason_and_level(change, reason, level):
    verdict = judge(**{**FINE, **change})
    assert reason in verdict.reasons
    assert verdict.level is level
    assert not verdict.alpha1_trusted
    payload = verdict.payload()
    assert payload["verdict"] == level.value
    assert reason.value in payload["reasons"]


def test_alpha1_is_judged_on_its_own_window_when_given():
    verdict = judge(**FINE, alpha1_artifact_rate=0.035)
    assert verdict.reasons == (Reason.ALPHA1_ARTIFACTS,)


@pytest.mark.parametrize("name", ["polar_h10", "noisy_rri", "SampleNNISeriesShort"])
def test_irregular_judges_each_beat_against_the_median_of_the_11_around_it(name):
    # irregular() takes the middle value of each window (np.partition) for speed; it must
    # be the window's median, edges padded with the first and last beat.
    rr = load_rr(name)
    half = MEDIAN_BEATS // 2
    padded = np.pad(rr, half, mode="edge")
    med = np.array([np.median(padded[i : i + MEDIAN_BEATS]) for i in range(len(rr))])
    expected = np.abs(rr - med) > IRREGULAR_DEVIATION * med
    assert expected.any()
    assert np.array_equal(irregular(rr), expected)


def test_a_beat_beyond_the_deviation_from_its_local_median_is_irregular():
    rr = np.full(30, 1000.0)
    rr[10] = 1000.0 * (1 - IRREGULAR_DEVIATION) - 1  # premature
    rr[11] = 1000.0 * (1 + IRREGULAR_DEVIATION) - 1  # long, but within the limit
    assert np.flatnonzero(irregular(rr)).tolist() == [10]
    live = TrailingIrregular(60.0)
    for i, v in enumerate(rr.tolist()):
        live.push(v, float(i))
    assert live.rate == pytest.approx(1 / 30)


@pytest.mark.parametrize("name", ["SampleNNISeriesShort", "SampleNNISeriesLong", "exercise_rri"])
def test_real_recordings_without_a_run_of_ectopic_beats_are_good(name):
    quality = summarise(load_rr(name))["quality"]
    assert quality["verdict"] == "good", quality


def test_a_strap_recording_full_of_ectopic_beats_is_rejected_in_words_and_codes():
    # RMSSD 422 ms and alpha1 0.11 after correction: numbers that mean nothing.
    summary = summarise(load_rr("polar_h10"))
    quality = summary["quality"]
    assert quality["verdict"] == "reject"
    assert quality["reasons"] == ["ectopic_burden", "alpha1_artifacts"]
    assert quality["ectopic_burden"] > 0.5
    assert quality["alpha1_trusted"] is False
    assert "irregular beats" in summary["quality_words"]


def test_a_dropout_is_the_longest_gap_of_a_file():
    rr = sinus_rr(400, np.random.default_rng(3))
    rr[200] = 12_000.0
    quality = summarise(rr)["quality"]
    assert quality["longest_gap_s"] == pytest.approx(12.0)
    assert "gap" in quality["reasons"]


def _live(rr, gaps_s=()):
    stream = HrvStream()
    t = np.cumsum(rr) / 1000
    for i, (v, ti) in enumerate(zip(rr.tolist(), t.tolist(), strict=True)):
        shift = sum(s for at, s in gaps_s if i >= at)
        if any(at == i for at, _ in gaps_s):
            stream.gap()
        stream.push(v, ti + shift)
    return stream.snapshot()


def test_the_live_window_carries_the_verdict_and_drops_trust_in_alpha1():
    clean = _live(sinus_rr(400, np.random.default_rng(4)))
    assert clean.quality.level is Level.GOOD
    assert clean.dfa_reliable
    ectopic = _live(load_rr("polar_h10")[:400])
    assert ectopic.quality.level is Level.REJECT
    assert Reason.ECTOPIC_BURDEN in ectopic.quality.reasons
    assert ectopic.dfa_alpha1 is not None
    assert not ectopic.dfa_reliable


def test_the_live_window_reports_a_reconnect_as_a_gap_until_it_leaves_the_window():
    rr = sinus_rr(400, np.random.default_rng(6))
    snap = _live(rr[:300], gaps_s=[(250, 15.0)])
    assert Reason.GAP in snap.quality.reasons
    assert snap.quality.longest_gap_s == pytest.approx(15.0, abs=0.01)
    later = _live(rr, gaps_s=[(250, 15.0)])
    assert Reason.GAP not in later.quality.reasons
