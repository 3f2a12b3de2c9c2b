"""The Pi's footprint: the runtime venv's size, `hrvd run`'s import time, RSS after an hour.

Run from the repository root: ``.venv/bin/python bench/footprint.py`` (about 17 minutes:
the hour of data is the accelerated one of bench_daemon.py, four notifications a second),
or ``--quick`` (a minute of data; the RSS is then not the hour's). It prints a Markdown
report; the results are in BENCHMARKS.md, section "Footprint (issue 15)".

- **Size**: the README's Raspberry Pi block (a venv, the runtime lock, hrvd) in a temporary
  folder, with Debian's own Python where the machine has it (as bookworm on a Pi). Counted
  twice: all of the venv, and what the install adds to it (the venv minus the pip and
  setuptools that ``python3 -m venv`` puts in every venv).
- **Import time**: in that venv, ``hrvd run --config MISSING`` with stderr not a terminal
  (it imports all that the daemon needs, as under systemd, then stops at the missing
  config) minus ``python -c pass``, best of 7 each; and ``hrvd --help`` as a whole.
- **RSS after an hour**: ``hrvd run`` of that venv with one fake strap on a private D-Bus and
  mosquitto (bench_daemon's accelerated hour, 3600 notifications), in the environment the
  systemd unit gives it (its ``Environment=`` line, read from ``hrvd install-service``'s
  render). The rig runs in the venv's Python too (``--rss-only``), so the daemon it starts
  is the Pi install's, not the development one's.
- **A morning measurement**: in a fresh interpreter of that venv, in the unit's environment,
  with the daemon's imports done, a whole morning measurement (default timing, beats fed
  at once) whose end is analysed as the daemon does, by the worker process
  (``hrvd.daemon.analysis_worker``), and again analysed in the process itself: the
  process's RSS before and after, and the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from daemon_plan import FAST_RIDE, fast_plan
from daemon_rig import load_fixtures
from daemon_runs import run_daemon
from harness.machine import cpu_model, os_name
from hrvd.setup.install_service import render_unit

REPO = Path(__file__).resolve().parents[1]
DEBIAN_PYTHON = Path("/usr/bin/python3")
HOUR_NOTIFICATIONS = 3600
REPEATS = 7
VENV_OWN = ("pip", "setuptools", "pkg_resources", "_distutils_hack")


def _bookworm_python() -> str:
    if DEBIAN_PYTHON.exists():
        done = subprocess.run([DEBIAN_PYTHON, "-c", "import ensurepip"], check=False)
        if done.returncode == 0:
            return str(DEBIAN_PYTHON)
    return sys.executable


def _du_mb(path: Path) -> float:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6
    )


def make_runtime_venv(folder: Path) -> tuple[Path, str]:
    """The README's Pi block: venv, runtime lock, hrvd; returns the venv and its Python."""
    python = _bookworm_python()
    venv = folder / "venv"
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run([*pip, "--require-hashes", "-r", str(REPO / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", str(REPO)], check=True)
    return venv, python


def sizes(venv: Path) -> tuple[float, float]:
    """All of the venv, and what the install added to it, MB."""
    site = next((venv / "lib").glob("python3*/site-packages"))
    own = sum(_du_mb(p) for p in site.iterdir() if p.name.split("-")[0] in VENV_OWN)
    total = _du_mb(venv)
    return total, total - own


def _best_s(cmd: list[str], exit_code: int = 0) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        done = subprocess.run(
            cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        best = min(best, time.perf_counter() - started)
        if done.returncode != exit_code:
            raise RuntimeError(f"{shlex.join(cmd)}: exit {done.returncode}\n{done.stderr}")
    return best


def import_times(venv: Path) -> tuple[float, float]:
    """``hrvd run``'s imports net of the interpreter's start, and ``hrvd --help``, s."""
    hrvd = str(venv / "bin" / "hrvd")
    bare = _best_s([str(venv / "bin" / "python"), "-c", "pass"])
    missing = str(venv / "missing.toml")
    imports = _best_s([hrvd, "run", "--config", missing], exit_code=2)
    help_s = _best_s([hrvd, "--help"])
    return imports - bare, help_s


def unit_environment() -> dict[str, str]:
    """The ``Environment=`` of the systemd unit that ``hrvd install-service`` writes."""
    unit = render_unit(PurePosixPath("/opt/hrvd/venv/bin/hrvd"), PurePosixPath("/etc/hrvd.toml"))
    env: dict[str, str] = {}
    for line in unit.splitlines():
        if line.startswith("Environment="):
            for word in shlex.split(line.removeprefix("Environment=")):
                key, _, value = word.partition("=")
                env[key] = value
    return env


async def hour_rss(notifications: int, workdir: Path) -> tuple[float, float, float]:
    """RSS at the start and end of the window and the peak, MB, of ``hrvd run``."""
    os.environ.update(unit_environment())
    run = await run_daemon(
        load_fixtures(),
        "footprint",
        fast_plan(),
        notifications=notifications,
        ride=FAST_RIDE,
        workdir=workdir / "daemon",
    )
    return run.rss_start_kb / 1024, run.rss_end_kb / 1024, run.hwm_kb / 1024


def rss_in_venv(venv: Path, notifications: int) -> tuple[float, float, float]:
    """:func:`hour_rss` run by the venv's Python, so of the venv's ``hrvd run``, MB."""
    done = subprocess.run(
        [str(venv / "bin" / "python"), __file__, "--rss-only", str(notifications)],
        check=True,
        capture_output=True,
        text=True,
    )
    start, end, peak = json.loads(done.stdout.splitlines()[-1])
    return float(start), float(end), float(peak)


MORNING_CODE = """
import json, math, re, sys
from datetime import date
from types import SimpleNamespace

import hrvd.daemon.service  # the daemon's imports
from hrvd.coach.analysis import IN_PROCESS
from hrvd.coach.baseline import Posture
from hrvd.coach.morning import MorningMeasurement
from hrvd.daemon.analysis_worker import WorkerAnalyst

def kb(status, key):
    return int(re.search(key + r":\\s+(\\d+)", status).group(1))

before = kb(open("/proc/self/status").read(), "VmRSS")
worker = WorkerAnalyst()
if sys.argv[1] == "worker":
    worker.start()
analyst = worker if sys.argv[1] == "worker" else IN_PROCESS
m = MorningMeasurement(started_at_s=0.0, day=date(2026, 12, 4), posture=Posture.LYING,
                       analyst=analyst)
end_s = m.settings.stabilise_s + m.settings.measure_s
t, i = 0.0, 0
while t < end_s:
    rr = 1000.0 + 60.0 * math.sin(i / 2.5) + (i % 7) * 4.0
    t, i = t + rr / 1000.0, i + 1
    m.add((SimpleNamespace(t_s=t, rr_ms=rr, gap_before=i == 1),), t)
m.tick(end_s)
child = 0
if worker._proc is not None:
    child = kb(open(f"/proc/{worker._proc.pid}/status").read(), "VmHWM")
worker.close()
after = kb(open("/proc/self/status").read(), "VmRSS")
print(json.dumps({"valid": m.result.valid, "before": before, "after": after,
                  "child_peak": child, "numpy": "numpy" in sys.modules}))
"""


def morning_rss(venv: Path, how: str) -> dict[str, float | bool]:
    """One morning in a fresh interpreter of the venv, analysed by ``worker`` or ``here``, MB."""
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", MORNING_CODE, how],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **unit_environment()},
    )
    out = json.loads(done.stdout.splitlines()[-1])
    if not out["valid"]:
        msg = f"the benchmark's morning was not valid: {out}"
        raise RuntimeError(msg)
    return {
        k: v / 1024 if isinstance(v, int) and not isinstance(v, bool) else v for k, v in out.items()
    }


def main() -> int:
    """Measure and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a minute of data, not an hour")
    parser.add_argument(
        "--rss-only",
        type=int,
        metavar="N",
        help="only the RSS of this Python's hrvd over N notifications, as JSON (MB)",
    )
    args = parser.parse_args()
    if args.rss_only is not None:
        with tempfile.TemporaryDirectory(prefix="hrvd-footprint-") as tmp:
            print(json.dumps(asyncio.run(hour_rss(args.rss_only, Path(tmp)))))
        return 0
    notifications = 240 if args.quick else HOUR_NOTIFICATIONS
    with tempfile.TemporaryDirectory(prefix="hrvd-footprint-") as tmp:
        venv, python = make_runtime_venv(Path(tmp))
        total_mb, added_mb = sizes(venv)
        pip_version = subprocess.run(
            [str(venv / "bin" / "pip"), "--version"], check=True, capture_output=True, text=True
        ).stdout.split()[1]
        net_import_s, help_s = import_times(venv)
        start_mb, end_mb, peak_mb = rss_in_venv(venv, notifications)
        by_worker, here = morning_rss(venv, "worker"), morning_rss(venv, "here")
    py_version = subprocess.run(
        [python, "--version"], check=True, capture_output=True, text=True
    ).stdout.strip()
    print(f"- Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {os_name()}")
    print(f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"- Venv made by: {py_version} (pip {pip_version})")
    print(f"- Unit environment: {unit_environment()}")
    print()
    print("| measure | figure |")
    print("| :--- | ---: |")
    print(f"| runtime venv, all of it | {total_mb:.1f} MB |")
    print(f"| what the install adds (venv minus its own pip and setuptools) | {added_mb:.1f} MB |")
    print(
        f"| `hrvd run` up to reading its config, net of the interpreter's start | "
        f"{net_import_s * 1000:.0f} ms |"
    )
    print(f"| `hrvd --help`, whole command | {help_s * 1000:.0f} ms |")
    what = "an hour" if notifications == HOUR_NOTIFICATIONS else f"{notifications} notifications"
    print(
        f"| `hrvd run` RSS at the window's start / after {what} / peak | "
        f"{start_mb:.1f} / {end_mb:.1f} / {peak_mb:.1f} MB |"
    )
    for name, m in (("by the worker (the daemon's way)", by_worker), ("in the process", here)):
        child = f", the worker's peak {m['child_peak']:.1f} MB" if m["child_peak"] else ""
        print(
            f"| a morning analysed {name}: the process's RSS before / after{child} | "
            f"{m['before']:.1f} / {m['after']:.1f} MB (numpy loaded: {m['numpy']}) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
