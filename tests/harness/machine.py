"""The machine a benchmark ran on, for its report: no host name, no paths."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import hrvd

if TYPE_CHECKING:
    from collections.abc import Sequence

REPO = Path(__file__).resolve().parents[2]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or "unknown"."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def os_name() -> str:
    """The distribution's name from /etc/os-release, if there is one."""
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _command_output(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (done.stdout or done.stderr).strip()


def _first_line(args: list[str]) -> str:
    lines = _command_output(args).splitlines()
    return lines[0] if lines else "unknown"


def machine(packages: Sequence[str] = (), *, tools: bool = False) -> dict[str, str | int]:
    """Date, CPU, cores, OS, Python, hrvd and the versions of ``packages``.

    Args:
        packages: distributions whose versions matter to the figures, as "name version"
            pairs in ``packages``.
        tools: also mosquitto's and dbus-daemon's versions, the git commit and how many
            files under src/ differ from it (-1 when git cannot tell).
    """
    out: dict[str, str | int] = {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count() or 0,
        "os": f"{os_name()}, {platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "hrvd": hrvd.__version__,
    }
    if packages:
        out["packages"] = ", ".join(f"{p} {_version(p)}" for p in packages)
    if tools:
        dirty = _command_output(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"])
        out |= {
            "mosquitto": _first_line(["mosquitto", "-h"]),
            "dbus": _first_line(["dbus-daemon", "--version"]),
            "commit": _command_output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
            "src_changes": len(dirty.splitlines()) if dirty != "unknown" else -1,
        }
    return out
