import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hrvd.hrv.metrics import time_domain
from recordings import RECORDINGS, load_rr


@pytest.mark.parametrize("name", RECORDINGS)
def test_time_domain_matches_pyhrv_and_neurokit2_on_real_recordings(name, reference):
    ref = reference[name]
    td = time_domain(load_rr(name))
    assert td.n_beats == ref["n_beats"]
    for ours, theirs in [
        (td.mean_rr_ms, ref["pyhrv"]["nni_mean"]),
        (td.rmssd_ms, ref["pyhrv"]["rmssd"]),
        (td.rmssd_ms, ref["neurokit2"]["RMSSD"]),
        (td.sdnn_ms, ref["pyhrv"]["sdnn"]),
        (td.sdnn_ms, ref["neurokit2"]["SDNN"]),
        # pyhrv divides NN50 by the number of differences, as we do; neurokit2 by the
        # number of intervals, 1/N lower (see data/README.md).
        (td.pnn50, ref["pyhrv"]["pnn50"]),
    ]:
        assert ours == pytest.approx(theirs, rel=1e-9)
    assert td.ln_rmssd == pytest.approx(math.log(ref["pyhrv"]["rmssd"]), rel=1e-12)
    # Mean HR is 60000 / mean RR (Kubios), not pyhrv's mean of instantaneous rates.
    assert td.mean_hr_bpm == pytest.approx(ref["numpy"]["hr_from_mean_nn"], rel=1e-9)


def test_known_answers_on_an_alternating_series():
    # 800, 900, 800, ...: every successive difference is 100 ms.
    rr = np.tile([800.0, 900.0], 50)
    td = time_domain(rr)
    assert td.mean_rr_ms == 850.0
    assert td.mean_hr_bpm == pytest.approx(60000 / 850)
    assert td.rmssd_ms == pytest.approx(100.0)
    assert td.pnn50 == 100.0
    assert td.sdnn_ms == pytest.approx(math.sqrt(50 * 50 * 100 / 99))


def test_constant_series_has_zero_variability_and_no_log():
    td = time_domain(np.full(30, 1000.0))
    assert td.rmssd_ms == 0.0
    assert td.sdnn_ms == 0.0
    assert td.pnn50 == 0.0
    assert td.ln_rmssd is None  # ln 0 is undefined: reported as unknown, not -inf


def test_empty_and_single_beat_give_unknowns_not_errors():
    assert time_domain(np.array([])).mean_rr_ms is None
    one = time_domain(np.array([900.0]))
    assert one.mean_rr_ms == 900.0
    assert one.rmssd_ms is None
    assert one.sdnn_ms is None


def test_no_successive_difference_is_taken_across_a_gap():
    rr = np.array([800.0, 810.0, 1500.0, 1510.0])
    gap = np.array([False, False, True, False])
    assert time_domain(rr, gap).rmssd_ms == pytest.approx(10.0)
    assert time_domain(rr).rmssd_ms > 300


@given(arrays(np.float64, st.integers(2, 300), elements=st.floats(250, 2000)))
def test_rmssd_and_sdnn_match_the_textbook_formulas(rr):
    td = time_domain(rr)
    assert td.rmssd_ms == pytest.approx(np.sqrt(np.mean(np.diff(rr) ** 2)), rel=1e-9, abs=1e-9)
    assert td.sdnn_ms == pytest.approx(np.std(rr, ddof=1), rel=1e-9, abs=1e-6)
