"""The morning's analysis in a child process: the same numbers, and never a lost morning."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import asdict
from itertools import accumulate

import numpy as np
import pytest
from structlog.testing import capture_logs

from hrvd.coach.analysis import IN_PROCESS, StandingBeats
from hrvd.coach.morning_quality import Window
from hrvd.daemon import analysis_worker
from hrvd.daemon.analysis_worker import WorkerAnalyst, serve
from hrvd.hrv.synthetic import inject, orthostatic_rr
from recordings import load_rr
from support.fresh import fresh_json

SETTLE_BEATS = 60


def _window() -> Window:
    """A real recording with a few artifacts, its first minute settling, a gap in it."""
    rr = inject(load_rr("polar_h10"), 0.02, np.random.default_rng(5)).rr_ms.tolist()
    gaps = [i in {0, 200} for i in range(len(rr))]
    inside = [i >= SETTLE_BEATS for i in range(len(rr))]
    return Window(tuple(rr), tuple(gaps), tuple(inside), coverage=0.97, longest_gap_s=1.5)


def _standing() -> StandingBeats:
    rr = orthostatic_rr(np.random.default_rng(3), lying_s=1.0, standing_s=150.0).tolist()
    t = [v / 1000.0 for v in accumulate(rr)]
    return StandingBeats(
        t_s=tuple(t),
        rr_ms=tuple(rr),
        gap_before=tuple(i == 0 for i in range(len(rr))),
        stand_s=t[12],
        supine_hr_bpm=55.0,
        standing_s=150.0,
        settle_s=30.0,
    )


@pytest.fixture
def analyst():
    worker = WorkerAnalyst()
    worker.start()
    yield worker
    worker.close()


def test_the_worker_gives_the_numbers_the_daemon_would(analyst):
    window, standing = _window(), _standing()
    with capture_logs() as logs:
        assert analyst.morning(window) == IN_PROCESS.morning(window)
        assert analyst.standing(standing) == IN_PROCESS.standing(standing)
        assert analyst.morning(window).artifact_rate > 0  # the artifacts were seen
    assert logs == []


def test_closing_ends_the_child():
    worker = WorkerAnalyst()
    worker.start()
    proc = worker._proc  # noqa: SLF001 - the child itself is what this test is about
    assert proc is not None
    worker.close()
    assert proc.returncode == 0
    worker.close()  # twice is harmless


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["/nonexistent/python"], "analysis worker not started"),
        ([sys.executable, "-c", "pass"], "it exited"),
        (
            [
                sys.executable,
                "-c",
                'import sys\nfor _ in sys.stdin: print(\'{"error": "boom"}\', flush=True)',
            ],
            "boom",
        ),
        ([sys.executable, "-c", "import sys\nfor _ in sys.stdin: print('[1]', flush=True)"], "[1]"),
    ],
    ids=["no such program", "exits at once", "answers an error", "answers nonsense"],
)
def test_a_worker_that_fails_leaves_the_analysis_to_the_daemon(command, said):
    worker = WorkerAnalyst(command)
    window = _window()
    with capture_logs() as logs:
        worker.start()
        assert worker.morning(window) == IN_PROCESS.morning(window)
        assert worker.standing(_standing()) == IN_PROCESS.standing(_standing())
    worker.close()
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1  # said once; the second analysis goes straight to the daemon
    assert said in json.dumps(warnings[0])


def test_a_worker_that_never_answers_is_given_up(monkeypatch):
    monkeypatch.setattr(analysis_worker, "ANSWER_TIMEOUT_S", 0.3)
    worker = WorkerAnalyst([sys.executable, "-c", "import time; time.sleep(60)"])
    worker.start()
    window = _window()
    with capture_logs() as logs:
        assert worker.morning(window) == IN_PROCESS.morning(window)
    assert "no answer" in logs[0]["error"]
    worker.close()


def test_serve_answers_each_line_and_survives_a_bad_one():
    window = _window()
    requests = io.StringIO(
        json.dumps({"kind": "morning", "args": asdict(window)})
        + "\nnot json\n"
        + json.dumps({"kind": "standing", "args": {"t_s": []}})
        + "\n"
    )
    answers = io.StringIO()
    serve(requests, answers)
    lines = [json.loads(line) for line in answers.getvalue().splitlines()]
    assert lines[0] == {"ok": asdict(IN_PROCESS.morning(window))}
    assert lines[1]["error"].startswith("JSONDecodeError")
    assert lines[2]["error"].startswith("KeyError")


def test_a_morning_through_the_worker_leaves_numpy_out_of_the_daemon():
    # A fresh interpreter, as the daemon: a whole measurement, its end analysed by the worker.
    code = (
        "import json, math, sys\n"
        "from datetime import date\n"
        "from types import SimpleNamespace\n"
        "from hrvd.coach.baseline import Posture\n"
        "from hrvd.coach.morning import MorningMeasurement\n"
        "from hrvd.coach.morning_values import MorningSettings\n"
        "from hrvd.daemon.analysis_worker import WorkerAnalyst\n"
        "worker = WorkerAnalyst()\n"
        "worker.start()\n"
        "m = MorningMeasurement(started_at_s=0.0, day=date(2026, 12, 4), posture=Posture.LYING,\n"
        "    settings=MorningSettings(stabilise_s=30, measure_s=120), analyst=worker)\n"
        "t = 0.0\n"
        "for i in range(200):\n"
        "    rr = 1000.0 + 60.0 * math.sin(i / 2.5)\n"
        "    t += rr / 1000.0\n"
        "    m.add((SimpleNamespace(t_s=t, rr_ms=rr, gap_before=i == 0),), t)\n"
        "m.tick(200.0)\n"
        "worker.close()\n"
        "r = m.result\n"
        "out = {'valid': r.valid, 'rmssd': r.rmssd_ms, 'numpy': 'numpy' in sys.modules}\n"
        "print(json.dumps(out))\n"
    )
    result = fresh_json(code)
    assert result["valid"] is True
    assert result["rmssd"] > 0
    assert result["numpy"] is False
