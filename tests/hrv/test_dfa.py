import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrvd.hrv.dfa import DFA_MIN_BEATS, dfa_alpha1, fluctuations, window_alpha1
from recordings import RECORDINGS, load_rr


@pytest.mark.parametrize("name", RECORDINGS)
def test_alpha1_matches_pyhrv_box_layout_on_real_recordings(name, reference):
    # pyhrv/nolds: non-overlapping boxes from the start, least-squares fit (data/README.md).
    expected = reference[name]["pyhrv"]["dfa_alpha1_polyfit"]
    assert dfa_alpha1(load_rr(name)) == pytest.approx(expected, rel=1e-9)


def test_alpha1_is_close_to_neurokit2_without_overlap(reference):
    # neurokit2 drops boxes with no variance, nolds keeps them: a few tenths of a percent.
    for name in RECORDINGS:
        expected = reference[name]["neurokit2"]["DFA_alpha_nonoverlap"]
        assert dfa_alpha1(load_rr(name)) == pytest.approx(expected, rel=0.005)


def test_white_noise_gives_about_one_half_and_a_random_walk_three_halves():
    rng = np.random.default_rng(7)
    white = 1000 + rng.normal(0, 30, 20_000)
    walk = 1000 + np.cumsum(rng.normal(0, 5, 20_000))
    # Linear DFA overestimates a little at boxes of 4-16 beats (Kantelhardt et al. 2001,
    # Physica A 295:441): white noise lands just above 0.5, never near 0.75.
    assert 0.5 < dfa_alpha1(white) < 0.62
    assert dfa_alpha1(walk) == pytest.approx(1.5, abs=0.08)


def test_too_short_a_series_has_no_alpha1():
    assert dfa_alpha1(np.full(DFA_MIN_BEATS - 1, 800.0) + np.arange(DFA_MIN_BEATS - 1)) is None
    assert dfa_alpha1(np.full(DFA_MIN_BEATS, 800.0)) is None  # no variability at all


def test_fluctuation_grows_with_box_size_for_correlated_data():
    rng = np.random.default_rng(3)
    f = fluctuations(1000 + np.cumsum(rng.normal(0, 5, 2000)))
    assert np.all(np.diff(f) > 0)


@pytest.mark.parametrize("name", RECORDINGS)
def test_the_live_form_is_the_batch_form_on_two_minute_windows_of_real_recordings(name):
    rr = load_rr(name)
    for start in range(0, len(rr) - 240, 97):
        window = rr[start : start + 240]
        assert window_alpha1(window.tolist()) == pytest.approx(dfa_alpha1(window), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(300.0, 2000.0), min_size=DFA_MIN_BEATS - 2, max_size=400),
)
def test_the_live_form_is_the_batch_form_on_any_series(rr):
    batch = dfa_alpha1(np.array(rr))
    live = window_alpha1(rr)
    if batch is None:
        assert live is None
    else:
        assert live == pytest.approx(batch, abs=1e-9)


def test_the_live_form_has_no_alpha1_where_the_batch_form_has_none():
    assert window_alpha1([800.0] * (DFA_MIN_BEATS - 1)) is None
    assert window_alpha1([800.0] * DFA_MIN_BEATS) is None
