"""The soak's analysis: every figure of the report, and the invariants that failed."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

import numpy as np

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from harness.machine import machine as describe_machine
from soak_counts import (
    EARLY_S,
    BeatCount,
    TopicCount,
    beats_of,
    memory_of,
    messages_of,
    rides_of,
    store_of,
    topic_kind,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from soak_run import Raw


@dataclass
class Result:
    """A soak run's figures (see RELIABILITY.md for the definitions)."""

    plan: dict[str, object]
    duration_s: float
    topics: dict[str, TopicCount]
    morning_end: dict[str, int]
    beats: list[BeatCount]
    faults: dict[str, int]
    rides: dict[str, int]
    alerts: dict[str, int]
    readiness: dict[str, int]
    store: dict[str, object]
    memory: dict[str, object]
    daemon: dict[str, object]
    findings: list[str]
    violations: list[str]
    machine: dict[str, object]


def _log_events(path: Path) -> tuple[list[dict[str, object]], Counter[str]]:
    """The JSON events of one daemon log, and its other lines (digits as #), counted."""
    events: list[dict[str, object]] = []
    other: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            other[re.sub(r"\d+", "#", line)[:120]] += 1
            continue
        if isinstance(event, dict):
            events.append(event)
    return events, other


def _downtimes(logs: list[list[dict[str, object]]]) -> dict[str, object]:
    """From a strap's link leaving "streaming" to its next "streaming", s (within a process)."""
    gaps = []
    for events in logs:
        down: dict[str, datetime] = {}
        for e in events:
            if e.get("event") != "link":
                continue
            strap, at = str(e.get("strap")), datetime.fromisoformat(str(e["timestamp"]))
            if e.get("state") == "streaming":
                if strap in down:
                    gaps.append((at - down.pop(strap)).total_seconds())
            elif e.get("state") in {"disconnected", "stalled", "no_contact"}:
                down.setdefault(strap, at)
    if not gaps:
        return {"outages": 0}
    return {
        "outages": len(gaps),
        "p50_s": round(float(np.percentile(gaps, 50)), 2),
        "p95_s": round(float(np.percentile(gaps, 95)), 2),
        "max_s": round(max(gaps), 1),
    }


def analyse(raw: Raw) -> Result:  # noqa: C901, PLR0912, PLR0915 - one pass over every figure
    """Every figure of the report, and the invariants that failed."""
    logs, non_json = [], Counter[str]()
    for path in raw.logs:
        events, other = _log_events(path)
        logs.append(events)
        non_json += other
    topics, morning_end, findings = messages_of(raw, logs)
    queued = [
        (g, str(e["topic"]), cast("dict[str, object]", json.loads(str(e["payload"]))))
        for g, events in enumerate(logs)
        for e in events
        if e.get("event") == "durable queued"
    ]
    rides = rides_of(queued, raw)
    beats = beats_of(raw)
    store = store_of(raw)
    memory = memory_of(raw)
    # Alerts the coach raised (logged at once) against those that reached the outbox.
    alerts = {
        "raised": 0,
        "queued": 0,
        "on": 0,
        "off": 0,
        "raised_not_queued_at_kill": 0,
        "raised_not_queued_otherwise": 0,
    }
    reasons: Counter[str] = Counter()
    for g, events in enumerate(logs):
        raised = [e for e in events if e.get("event") == "alert"]
        q = [
            e
            for e in events
            if e.get("event") == "durable queued"
            and topic_kind(str(e["topic"])) == "alert"
            # an alert turned off at start, after a kill -9, was never raised by the coach
            and json.loads(str(e["payload"])).get("reason") != "interrupted"
        ]
        alerts["raised"] += len(raised)
        alerts["queued"] += len(q)
        for e in raised:
            alerts["on" if e.get("too_hard") else "off"] += 1
            reasons[str(e.get("reason"))] += 1
        short = len(raised) - len(q)
        killed = g < len(raw.gen_ends) and raw.gen_ends[g][1] == "kill"
        alerts["raised_not_queued_at_kill" if killed else "raised_not_queued_otherwise"] += short
    alerts.update({f"reason_{k}": v for k, v in sorted(reasons.items())})
    readiness = {
        "queued": topics["readiness"].queued,
        "delivered": topics["readiness"].delivered,
        "mornings_stored": cast("int", store["mornings"]),
        "measurements_stored": cast("int", store["measurements"]),
        "morning_ends_queued": morning_end["queued"],
        "morning_ends_delivered": morning_end["delivered"],
    }
    faults = Counter(kind for _, kind, _ in raw.faults_done)
    malformed_seen = sum(
        1 for events in logs for e in events if e.get("event") == "malformed payload"
    )
    link: Counter[str] = Counter(
        str(e.get("state")) for events in logs for e in events if e.get("event") == "link"
    )
    errors = [e for events in logs for e in events if e.get("level") in {"error", "critical"}]
    crashed = sum(
        1 for events in logs for e in events if e.get("event") == "session crashed; restarting"
    )
    daemon = {
        "processes": len(raw.logs),
        "ends": [how for _, how in raw.gen_ends],
        "stalls_seen": link["stalled"],
        "disconnects_seen": link["disconnected"],
        "malformed_logged_first_of_100": malformed_seen,
        "error_events": len(errors),
        "sessions_crashed": crashed,
        "non_json_stderr_lines": non_json.total(),
        "strap_outage": _downtimes(logs),
        "strap_connects": sum(raw.connects),
        "subscriber_connects": len(raw.subscriber_connects),
        "commands": dict(raw.commands),
        "control_hiccups": raw.control,
    }
    findings += [f"daemon error event: {json.dumps(e)[:300]}" for e in errors[:5]]
    violations = []
    for kind, c in topics.items():
        if c.missing:
            violations.append(f"{kind}: {c.missing} queued messages never delivered")
        if c.out_of_order:
            violations.append(f"{kind}: {c.out_of_order} delivered out of order")
        if c.unexplained_duplicates:
            violations.append(
                f"{kind}: {c.unexplained_duplicates} duplicates not after a reconnect"
            )
        if c.unexpected:
            violations.append(f"{kind}: {c.unexpected} delivered but never queued")
    if morning_end["delivered"] < morning_end["queued"]:
        violations.append("morning: fewer measurement ends delivered than queued")
    if store["integrity_check"] != "ok":
        violations.append(f"integrity_check: {store['integrity_check']}")
    if store["outbox"]:
        violations.append(f"{store['outbox']} messages left in the outbox")
    if store["rides"] != rides["with_summary"]:
        violations.append(
            f"{store['rides']} rides stored, {rides['with_summary']} summaries queued"
        )
    if rides["cut_otherwise"]:
        violations.append(f"{rides['cut_otherwise']} rides never ended, not cut by kill -9")
    if rides["ended_interrupted"] != rides["retained_ride_active_after_kill"]:
        violations.append(
            f"{rides['retained_ride_active_after_kill']} rides left active by kill -9, "
            f"{rides['ended_interrupted']} ended as interrupted after the restart"
        )
    if rides["alert_off_interrupted"] != rides["retained_alert_on_after_kill"]:
        violations.append(
            f"{rides['retained_alert_on_after_kill']} alerts left on by kill -9, "
            f"{rides['alert_off_interrupted']} turned off after the restart"
        )
    if rides["left_active_at_end"]:
        violations.append(f"{rides['left_active_at_end']} ride or alert topics left active")
    if alerts["raised_not_queued_otherwise"]:
        violations.append(f"{alerts['raised_not_queued_otherwise']} alerts raised, not queued")
    beat_rules = (
        "stored_twice",
        "unmatched_stored",
        "out_of_order",
        "lost_other",
        "send_log_mismatches",
    )
    violations += [
        f"{b.strap}: {getattr(b, name)} beats {name.replace('_', ' ')}"
        for b in beats
        for name in beat_rules
        if getattr(b, name)
    ]
    if crashed:
        violations.append(f"{crashed} strap sessions crashed")
    if memory.get("verdict") == "GROWING":
        violations.append(f"memory grows: {memory['second_half_slope_mb_per_h']} MB/h")
    if alerts["raised_not_queued_at_kill"]:
        findings.append(
            f"{alerts['raised_not_queued_at_kill']} alerts raised just before a "
            "kill -9 never reached the outbox"
        )
    findings += [f"control: {hiccup}" for hiccup in raw.control]
    findings += [
        f"{n} lines on the daemon's stderr are not JSON events, e.g. {line!r}"
        for line, n in non_json.most_common(3)
    ]
    early = sum(b.stamped_early for b in beats)
    if early:
        findings.append(
            f"{early} beats were stored more than {EARLY_S} s before they ended: their RR "
            "sum lags the clock (beats went missing without a gap being marked)"
        )
    plan = asdict(raw.plan)
    plan = {k: v for k, v in plan.items() if k not in {"rides", "mornings", "faults"}}
    plan.update(ride_slots=len(raw.plan.rides), morning_slots=len(raw.plan.mornings))
    return Result(
        plan=plan,
        duration_s=round(raw.end_s, 1),
        topics=topics,
        morning_end=morning_end,
        beats=beats,
        faults=dict(faults),
        rides=rides,
        alerts=alerts,
        readiness=readiness,
        store=store,
        memory=memory,
        daemon=daemon,
        findings=findings,
        violations=violations,
        machine=machine(raw.load_avg),
    )


def machine(load_avg: Sequence[tuple[float, float, float]]) -> dict[str, object]:
    """CPU model and cores, Python, OS, load averages at start and end."""
    return {**describe_machine(), "load_avg_start_end": [list(a) for a in load_avg]}
