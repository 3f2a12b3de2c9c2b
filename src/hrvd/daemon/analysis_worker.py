"""A measurement's analysis in a child process, so that the daemon never loads numpy.

The morning measurement and the orthostatic test run for minutes in the daemon and need
numpy only at their end (:mod:`hrvd.coach.analysis`). :class:`WorkerAnalyst` starts
``python -m hrvd.daemon.analysis_worker`` when a measurement starts; the child loads numpy
and the batch corrector while the athlete lies still, answers each request with one line,
and ends when its stdin closes (the measurement's end, or the daemon's). Once numpy is in
a process it stays: in the daemon it would add 12.7 MB for good, in the child it is gone
with the child (issue 15, BENCHMARKS.md "Footprint on the Pi").

Requests and answers are JSON lines (floats keep every bit); a fault in the analysis comes
back as an answer, and the daemon logs it. The child's stderr goes nowhere: sharing the
daemon's would keep the daemon's log pipe open after the daemon is gone, until the child
has noticed. Whatever goes wrong with the child (it would not start, died, said something
else, took too long) is logged once and the analysis runs in the daemon: a morning is
never lost to the worker.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import structlog

from hrvd.coach.analysis import IN_PROCESS, StandingBeats
from hrvd.coach.morning_quality import Metrics, Window
from hrvd.coach.orthostatic import Standing

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

log = structlog.get_logger("hrvd.analysis")

ANSWER_TIMEOUT_S = 20.0
"""Longest wait for the child's answer, s. It has loaded numpy long before a measurement
ends (it starts with it); the wait covers a slow Pi Zero whose measurement ended at once.
Past it the daemon analyses itself."""
CLOSE_TIMEOUT_S = 5.0
"""How long a closed child may take to exit before it is killed, s."""
COMMAND = (sys.executable, "-m", "hrvd.daemon.analysis_worker")
"""The child: this Python, this package."""


class WorkerError(Exception):
    """The child did not answer as it should."""


class WorkerAnalyst:
    """An :class:`~hrvd.coach.analysis.Analyst` that asks a child process.

    Every method blocks (it starts, writes to, reads from or waits for the child): call
    them off the event loop. :meth:`start` when the measurement starts, :meth:`close` when
    it is over.

    Args:
        command: the child's command line.
    """

    def __init__(self, command: Sequence[str] = COMMAND) -> None:
        self._command = tuple(command)
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the child; it loads what the analysis needs while the measurement runs."""
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            log.warning("analysis worker not started; the daemon will analyse", error=str(exc))

    def morning(self, window: Window) -> Metrics:
        """See :class:`~hrvd.coach.analysis.Analyst`."""
        answer = self._ask("morning", asdict(window))
        return IN_PROCESS.morning(window) if answer is None else Metrics(**answer)

    def standing(self, beats: StandingBeats) -> Standing:
        """See :class:`~hrvd.coach.analysis.Analyst`."""
        answer = self._ask("standing", asdict(beats))
        return IN_PROCESS.standing(beats) if answer is None else Standing(**answer)

    def close(self) -> None:
        """End the child (its stdin closes) and reap it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(CLOSE_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def _ask(self, kind: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """The child's answer, or None (logged) when the daemon must analyse itself."""
        if self._proc is None:
            return None
        try:
            return self._exchange(self._proc, kind, args)
        except (OSError, ValueError, WorkerError) as exc:
            log.warning("analysis worker failed; the daemon analyses", error=str(exc))
            self._proc.kill()
            self.close()
            return None

    @staticmethod
    def _exchange(proc: subprocess.Popen[bytes], kind: str, args: dict[str, Any]) -> dict[str, Any]:
        if proc.stdin is None or proc.stdout is None:  # pragma: no cover - piped in start
            raise WorkerError("no pipes")
        proc.stdin.write(json.dumps({"kind": kind, "args": args}).encode() + b"\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], ANSWER_TIMEOUT_S)
        if not ready:
            msg = f"no answer in {ANSWER_TIMEOUT_S:.0f} s"
            raise WorkerError(msg)
        line = proc.stdout.readline()
        if not line:
            raise WorkerError(f"it exited (code {proc.poll()})")
        answer = json.loads(line)
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), dict):
            raise WorkerError(str(answer.get("error") if isinstance(answer, dict) else answer))
        result: dict[str, Any] = answer["ok"]
        return result


def _window(args: dict[str, Any]) -> Window:
    return Window(
        rr_ms=tuple(args["rr_ms"]),
        gap_before=tuple(args["gap_before"]),
        inside=tuple(args["inside"]),
        coverage=args["coverage"],
        longest_gap_s=args["longest_gap_s"],
    )


def _standing(args: dict[str, Any]) -> StandingBeats:
    return StandingBeats(
        t_s=tuple(args["t_s"]),
        rr_ms=tuple(args["rr_ms"]),
        gap_before=tuple(args["gap_before"]),
        stand_s=args["stand_s"],
        supine_hr_bpm=args["supine_hr_bpm"],
        standing_s=args["standing_s"],
        settle_s=args["settle_s"],
    )


def serve(requests: TextIO, answers: TextIO) -> None:
    """Answer each request line with one line, until ``requests`` ends. Never raises."""
    for line in requests:
        try:
            request = json.loads(line)
            if request["kind"] == "morning":
                result: Metrics | Standing = IN_PROCESS.morning(_window(request["args"]))
            else:
                result = IN_PROCESS.standing(_standing(request["args"]))
            answer: dict[str, object] = {"ok": asdict(result)}
        except Exception as exc:  # noqa: BLE001 - every fault goes back to the daemon as text
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    """The child: load numpy and the batch corrector now, then serve stdin."""
    import hrvd.hrv.artifacts  # noqa: F401, PLC0415 - numpy and the corrector, loaded early

    serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
