"""Terminal sparklines: the history's lnRMSSD against its band, the live trails."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime

from rich.console import Console

from hrvd.cli.live import LiveView
from hrvd.cli.spark import BLOCKS, band_marks, sparkline
from hrvd.publish.messages import Payload, StateMessage


def _state(hr_bpm: float, dfa_alpha1: float | None) -> Payload:
    """A state message with this heart rate and alpha1, the rest plausible."""
    return StateMessage(
        ts="2026-11-27T00:00:00+00:00",
        hr_bpm=hr_bpm,
        rr_ms=[600.0],
        rmssd_ms=20.0,
        ln_rmssd=3.0,
        sdnn_ms=30.0,
        dfa_alpha1=dfa_alpha1,
        artifact_rate=0.0,
        quality="good",
        quality_reasons=[],
        zone=1,
        contact=True,
        battery_pct=90,
    ).payload()


def test_a_sparkline_runs_from_the_lowest_block_to_the_highest():
    assert sparkline([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]) == BLOCKS


def test_missing_values_are_spaces_and_outliers_are_clipped_to_the_scale():
    assert sparkline([None, 1.0, math.nan, 9.0], 0.0, 1.0) == " █ █"
    assert sparkline([-5.0], 0.0, 1.0) == "▁"
    assert sparkline([None, None]) == "  "
    assert sparkline([4.0, 4.0]) == "▅▅"  # a flat series sits mid-height


def test_band_marks_say_below_within_above_and_unknown():
    assert band_marks([3.0, 4.0, 5.0, 4.0], [3.5, 3.5, 3.5, None], [4.5, 4.5, 4.5, None]) == "v-^ "


def test_the_live_view_keeps_a_trail_of_heart_rate_and_alpha1():
    view = LiveView(
        Console(file=io.StringIO(), force_terminal=False), "H10", datetime(2026, 11, 27, tzinfo=UTC)
    )
    for i in range(100):
        view.state("hrvd/h10/state", _state(100 + i % 10, None if i < 95 else 0.8))
    assert len(view.hr_trail) == 60  # the last minute
    assert list(view.alpha1_trail)[-5:] == [0.8] * 5
    console = Console(file=io.StringIO(), width=100)
    console.print(view.render())
    text = console.file.getvalue()
    assert "HR trail" in text
    assert sparkline(list(view.hr_trail)) in text
