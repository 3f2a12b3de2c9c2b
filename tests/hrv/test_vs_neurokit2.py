"""hrvd's correction side by side with neurokit2's signal_fixpeaks(method="Kubios")."""

import numpy as np
import pytest

from hrvd.hrv.artifacts import classify, correct_batch
from hrvd.hrv.metrics import time_domain
from hrvd.hrv.synthetic import detection_scores, inject, sinus_rr
from neurokit_ref import fixpeaks


@pytest.mark.parametrize("rate", [0.01, 0.03, 0.05])
def test_at_least_as_good_as_neurokit2_on_the_same_data(rate):
    ours, theirs = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        clean = sinus_rr(3000, rng)
        series = inject(clean, rate, rng)
        truth = time_domain(clean).rmssd_ms
        flagged, nk_fixed = fixpeaks(series.rr_ms)
        fixed = correct_batch(series.rr_ms).rr_ms
        ours.append(
            (
                *detection_scores(np.flatnonzero(classify(series.rr_ms)), series.artifacts),
                abs(time_domain(fixed).rmssd_ms / truth - 1),
            )
        )
        theirs.append(
            (
                *detection_scores(flagged, series.artifacts),
                abs(time_domain(nk_fixed).rmssd_ms / truth - 1),
            )
        )
    (p, r, err), (nk_p, nk_r, nk_err) = np.mean(ours, axis=0), np.mean(theirs, axis=0)
    assert p >= nk_p
    assert r >= nk_r
    assert err <= nk_err
