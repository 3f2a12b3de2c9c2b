"""The layers hold: the pure core and the strap pipeline load no BLE or MQTT library."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

PURE = (
    "hrvd.daemon.pipeline",
    "hrvd.daemon.interrupted",
    "hrvd.ble.protocol",
    "hrvd.ble.events",
    "hrvd.ble.timeline",
    "hrvd.ble.policy",
    "hrvd.publish.messages",
    "hrvd.publish.topics",
    "hrvd.publish.discovery",
    "hrvd.publish.entities",
    "hrvd.publish.commands",
    "hrvd.publish.policy",
)
"""Modules that do no I/O of their own; with them, every module of hrvd.hrv and hrvd.coach."""

IO_LIBRARIES = ("bleak", "bleak_retry_connector", "dbus_fast", "aiomqtt", "paho")

PROBE = """
import importlib, json, pkgutil, sys
import hrvd.coach, hrvd.hrv
names = {pure!r}
for pkg in (hrvd.hrv, hrvd.coach):
    names += tuple(pkg.__name__ + "." + m.name for m in pkgutil.iter_modules(pkg.__path__))
for name in names:
    importlib.import_module(name)
print(json.dumps({{"imported": names, "loaded": sorted(sys.modules)}}))
"""


def test_the_pipeline_and_the_core_load_no_ble_or_mqtt_library() -> None:
    # A fresh interpreter: this test process has long since imported everything.
    probe = PROBE.format(pure=PURE)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(done.stdout)
    assert len(report["imported"]) > len(PURE)  # hrv/ and coach/ were found and imported
    loaded = {name.split(".")[0] for name in report["loaded"]}
    assert "hrvd" in loaded
    assert loaded.isdisjoint(IO_LIBRARIES), sorted(loaded & set(IO_LIBRARIES))


def test_every_file_the_readme_layout_names_exists() -> None:
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    layout = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"\b((?:[a-z_]+/)*[a-z_]+\.py)\b", layout))
    named |= {d.rstrip("/") for d in re.findall(r"`((?:tests|bench)/[a-z_]*/?)`", layout)}
    assert len(named) > 20  # the map names the files along a beat's way
    missing = [
        n for n in sorted(named) if not (root / "src/hrvd" / n).exists() and not (root / n).exists()
    ]
    assert missing == []
