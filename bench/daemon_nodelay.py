"""Is Nagle's algorithm behind the ~40 ms state latencies with several straps? A check.

Run from the repository root::

    python bench/daemon_nodelay.py                 # 5 and 20 straps, 120 s each, twice
    python bench/daemon_nodelay.py --seconds 20    # shorter

It runs the scale runs of bench_daemon.py with every strap notifying in the same instant
(a burst each second, the worst case) twice: once as the daemon and the broker are, and
once with TCP_NODELAY on both sockets that send MQTT messages on their way to a subscriber:
the daemon's (a ``sitecustomize.py`` on the daemon's PYTHONPATH sets it on paho's socket,
which is what ``aiomqtt.Client(socket_options=...)`` in MqttPublisher would do) and
mosquitto's (``set_tcp_nodelay true``). Nothing under src/ changes. It prints a Markdown
table of the state latencies and the daemon's CPU per strap-hour.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from core_common import md_table
from daemon_plan import REAL_INTERVAL_S, log, real_plans
from daemon_report import ms
from daemon_rig import load_fixtures
from daemon_runs import run_daemon

if TYPE_CHECKING:
    from collections.abc import Sequence

    from daemon_plan import DaemonRun
    from daemon_rig import Fixtures
    from harness.mosquitto import Broker

SITECUSTOMIZE = '''\
"""bench/daemon_nodelay.py: TCP_NODELAY on paho's sockets, as socket_options would set it."""
import socket

import paho.mqtt.client as _paho

_create = _paho.Client._create_socket_connection


def _nodelay(self):
    sock = _create(self)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


_paho.Client._create_socket_connection = _nodelay
'''


def nodelay_fixtures(fx: Fixtures) -> Fixtures:
    """The fixtures, with mosquitto's ``set_tcp_nodelay true``."""

    def new_broker(workdir: Path) -> Broker:
        broker = fx.new_broker(workdir)
        write = broker._config  # noqa: SLF001 - the fixture's one place for the config

        def config() -> Path:
            path = write()
            path.write_text(path.read_text() + "set_tcp_nodelay true\n")
            return path

        broker._config = config  # type: ignore[method-assign]  # noqa: SLF001 - see above
        return broker

    return replace(fx, new_broker=new_broker)


async def run(straps: Sequence[int], seconds: float, workdir: Path) -> list[tuple[str, DaemonRun]]:
    """Each strap count as is, then with TCP_NODELAY."""
    fx = load_fixtures()
    site = workdir / "site"
    site.mkdir(parents=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    results: list[tuple[str, DaemonRun]] = []
    for variant in ("as is", "TCP_NODELAY"):
        fixtures = fx if variant == "as is" else nodelay_fixtures(fx)
        if variant != "as is":
            os.environ["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(site), os.environ.get("PYTHONPATH")) if p
            )
        for n in straps:
            log(f"{variant}: {n} straps for {seconds:.0f} s")
            result = await run_daemon(
                fixtures,
                f"{n} straps, {variant}",
                real_plans(fx, n),
                notifications=round(n * seconds / REAL_INTERVAL_S),
                ride={},
                workdir=workdir / f"{variant[:5]}-{n}",
                aligned=True,
            )
            results.append((variant, result))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Run both variants and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--straps", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hrvd-bench-nodelay-") as tmp:
        results = asyncio.run(run(args.straps, args.seconds, Path(tmp)))
    rows = [
        [
            variant,
            str(r.straps),
            str(r.state.n),
            ms(r.state.p50_ms),
            ms(r.state.p90_ms),
            ms(r.state.p99_ms),
            ms(r.state.max_ms),
            f"{r.cpu_per_strap_hour:.2f} s",
        ]
        for variant, r in results
    ]
    headers = ["sockets", "straps", "n", "p50", "p90", "p99", "max", "CPU per strap-hour"]
    load_after = os.getloadavg()[0]
    print(md_table(headers, rows))
    print(f"\n1-minute load average {load_before:.2f} before, {load_after:.2f} after.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
