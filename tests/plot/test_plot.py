"""`hrvd plot` and `hrvd analyze --plot`: pictures of real recordings, checked by content."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from matplotlib import image

from hrvd.cli import main
from hrvd.coach.baseline import Morning, Posture
from hrvd.coach.recovery import RideSettings
from hrvd.hrv.zones import ZoneModel, zones_for
from hrvd.plot.trace import ride_trace
from hrvd.store import StoredBeat, open_store
from recordings import RECORDINGS, load_rr

WIDTH, HEIGHT = 1000, 600  # draw.SIZE_IN at draw.DPI


def rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255


def share_near(pixels: np.ndarray, colour: np.ndarray, tol: float = 0.04) -> float:
    return float(np.mean(np.all(np.abs(pixels[..., :3] - colour) < tol, axis=-1)))


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "hrvd.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "s.sqlite3"}"\n[ride]\nceiling_bpm = 100\n')
    return path


def test_a_ride_trace_holds_what_the_live_pipeline_showed():
    zones = zones_for(ZoneModel.HRMAX, hr_max=190)
    trace = ride_trace(load_rr("exercise_rri"), RideSettings(100.0), zones)
    assert [p for _, p in trace.phases] == ["start", "warmup", "steady", "complete"]
    assert trace.too_hard  # the recording rides at ~105 bpm for half an hour
    assert all(a < b for a, b in trace.too_hard)
    assert trace.warmup_ceiling_bpm == 90.0
    assert sum(a is not None for a in trace.alpha1) > 0.9 * len(trace.alpha1)


def test_a_real_ride_is_drawn_with_its_heart_rate_alpha1_and_too_hard_spans(
    tmp_path, config, capsys
):
    out = tmp_path / "ride.png"
    args = [
        "plot",
        "ride",
        str(RECORDINGS["exercise_rri"]),
        "-o",
        str(out),
        "--config",
        str(config),
    ]
    assert main(args) == 0
    assert capsys.readouterr().out.endswith(f"wrote {out}\n")
    pixels = image.imread(out)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    assert pixels[..., :3].std() > 0.05  # not blank
    assert share_near(pixels, rgb("#d62728")) > 0.002  # the heart-rate line
    assert share_near(pixels, rgb("#1f77b4")) > 0.002  # alpha1
    shade = 0.5 * rgb("#ff9896") + 0.5  # "too hard" at alpha 0.5 over white
    assert share_near(pixels, shade) > 0.05


def test_the_history_is_drawn_as_svg_with_status_colours_and_axis_labels(tmp_path, config, capsys):
    lines = ["Date;lnRMSSD;RHR"]
    for i in range(30):
        ln = 4.0 + (0.05 if i % 2 else -0.05) - (0.6 if i >= 27 else 0)
        lines.append(f"{(date(2026, 10, 1) + timedelta(days=i)).isoformat()};{ln:.3f};50")
    (tmp_path / "h.csv").write_text("\n".join(lines) + "\n")
    assert main(["history", "import", str(tmp_path / "h.csv"), "--config", str(config)]) == 0
    capsys.readouterr()
    out = tmp_path / "h.svg"
    assert main(["plot", "history", "-o", str(out), "--config", str(config)]) == 0
    svg = out.read_text()
    for label in ("lnRMSSD (ln ms)", "resting HR (bpm)", "7-day mean", "normal band"):
        assert label in svg, label
    for colour in ("#2ca02c", "#d62728", "#7f7f7f"):  # green, red and baseline days
        assert colour in svg, colour


def test_a_real_morning_is_drawn_with_its_corrected_beats_and_poincare_plot(tmp_path, config):
    rr = load_rr("noisy_rri")[180:480].tolist()  # a real recording, artifacts at 222, 442
    store = open_store(tmp_path / "s.sqlite3")
    try:
        asyncio.run(
            store.add_mornings(
                [Morning(date(2026, 11, 26), Posture.LYING, 4.0, 55.0)],
                source="measured",
                raw_rr=rr,
            )
        )
    finally:
        store.close()
    out = tmp_path / "m.svg"
    assert main(["plot", "morning", "2026-11-26", "-o", str(out), "--config", str(config)]) == 0
    svg = out.read_text()
    assert "Poincaré plot" in svg
    assert "RR interval (ms)" in svg
    assert "corrected beats (" in svg
    assert "corrected beats (0)" not in svg


def test_analyze_plot_writes_a_png_and_keeps_stdout_for_the_analysis(tmp_path, capsys):
    out = tmp_path / "rr.png"
    assert main(["analyze", str(RECORDINGS["SampleNNISeriesShort"]), "--plot", str(out)]) == 0
    captured = capsys.readouterr()
    assert "RMSSD" in captured.out
    assert captured.err == f"wrote {out}\n"
    pixels = image.imread(out)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    assert share_near(pixels, rgb("#1f77b4")) > 0.005


def test_without_matplotlib_one_line_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    code = main(["plot", "ride", str(RECORDINGS["exercise_rri"]), "-o", str(tmp_path / "r.png")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'hrvd[plot]'" in err
    assert not (tmp_path / "r.png").exists()


def test_a_wrong_suffix_or_date_is_a_one_line_usage_error(tmp_path, config, capsys):
    assert main(["plot", "history", "-o", str(tmp_path / "h.jpg"), "--config", str(config)]) == 2
    assert "as .png or .svg" in capsys.readouterr().err
    assert main(["plot", "morning", "yesterday", "--config", str(config)]) == 2
    assert "not a date" in capsys.readouterr().err
    assert main(["plot", "morning", "2026-01-01", "--config", str(config)]) == 2
    assert "no morning measurement" in capsys.readouterr().err


def test_a_stored_ride_is_drawn_by_its_id(tmp_path, config, capsys):
    raw = [round(rr * 1024 / 1000) for rr in load_rr("exercise_rri")[:900]]
    start = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    t, beats = int(start.timestamp() * 1000), []
    for i, r in enumerate(raw):
        t += round(r * 1000 / 1024)
        beats.append(StoredBeat("H10", t, r, gap=i == 0))
    end = datetime.fromtimestamp(t / 1000 + 1, tz=UTC).replace(microsecond=0)
    store = open_store(tmp_path / "s.sqlite3")
    try:
        store.write_beats(beats)
        summary = {
            "id": f"H10@{start.isoformat()}",
            "strap": "H10",
            "started": start.isoformat(),
            "ended": end.isoformat(),
        }
        asyncio.run(store.add_ride(summary))
    finally:
        store.close()
    out = tmp_path / "stored.svg"
    assert main(["plot", "ride", "H10@2026-11-27", "-o", str(out), "--config", str(config)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    svg = out.read_text()
    assert "Ride H10@2026-11-27" in svg
    assert "heart rate (bpm)" in svg
    assert "recovery ceiling 100" in svg
    assert main(["plot", "ride", "nope", "--config", str(config)]) == 2
    assert "no ride 'nope'" in capsys.readouterr().err
