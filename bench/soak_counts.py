"""The soak's counts: messages, rides, beats, the store and memory, from one run's record.

``soak_analysis.py`` turns them into the report's figures and the invariants that failed;
the definitions are in ``RELIABILITY.md``.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from soak_plan import BASE, RIDE_TOPICS, strap_name
from soak_run import INTERRUPTED, ride_id_of

if TYPE_CHECKING:
    from harness.subscriber import Delivery
    from soak_run import Raw

MATCH_WINDOW_S = 3.5
"""A stored beat matches a sent one with the same RR sent at most this far from its time."""
KILL_BATCH_S = 30.0
"""The beat recorder writes at least this often (hrvd.daemon.beats.FLUSH_S): what kill -9 loses."""
EARLY_S = 0.1
"""A beat stamped this much before it ended was timed from a sum missing lost beats, s."""
REDELIVERY_WINDOW_S = 60.0
"""A repeated message counts as a QoS 1 redelivery if it came this soon after a reconnect."""
FLAT_MB_PER_H = 2.0
"""Memory is "flat" when the least-squares slope over the second half of the last
daemon process's life is below this, MB/hour."""
MIN_TREND_MIN = 20.0
"""Shorter runs get no memory verdict: allocator noise outweighs a trend."""


@dataclass
class TopicCount:
    """Durable messages of one kind: queued by the daemon, delivered, and how."""

    queued: int = 0
    delivered: int = 0
    missing: int = 0
    duplicates: int = 0
    unexplained_duplicates: int = 0
    out_of_order: int = 0
    unexpected: int = 0


@dataclass
class BeatCount:
    """Beats of one strap: sent, stored, matched, lost (and where), stored twice."""

    strap: str
    sent: int = 0
    stored: int = 0
    matched: int = 0
    stored_twice: int = 0
    unmatched_stored: int = 0
    out_of_order: int = 0
    lost_at_kill: int = 0
    lost_at_end: int = 0
    lost_other: int = 0
    send_log_mismatches: int = 0
    time_error_p50_ms: float = 0.0
    time_error_max_ms: float = 0.0
    stamped_early: int = 0
    """Beats stored more than :data:`EARLY_S` before they ended: the RR sum lags the
    clock because beats went missing without a gap being marked."""


def topic_kind(topic: str) -> str:
    return topic.rsplit("/", 1)[-1]


def messages_of(
    raw: Raw, logs: list[list[dict[str, object]]]
) -> tuple[dict[str, TopicCount], dict[str, int], list[str]]:
    """Compare the queued durable messages with the deliveries."""
    queued = [
        (str(e["topic"]), str(e["payload"]))
        for events in logs
        for e in events
        if e.get("event") == "durable queued"
    ]
    delivered = [
        d
        for d in raw.deliveries
        if not d.retain
        and topic_kind(d.topic) != "status"
        and not d.topic.startswith(f"{BASE}/cmd/")
    ]
    topics: dict[str, TopicCount] = {
        k: TopicCount() for k in (*RIDE_TOPICS, "readiness", "thresholds")
    }
    morning_end = {"queued": 0, "delivered": 0}
    for topic, _payload in queued:
        if topic_kind(topic) == "morning":
            morning_end["queued"] += 1
        else:
            topics[topic_kind(topic)].queued += 1
    for d in delivered:
        if topic_kind(d.topic) != "morning":
            topics[topic_kind(d.topic)].delivered += 1
        elif json.loads(d.text).get("state") in {"done", "invalid"}:
            morning_end["delivered"] += 1
    with_id = [key for key in queued if topic_kind(key[0]) != "morning"]
    findings = _compare(
        raw, with_id, [d for d in delivered if topic_kind(d.topic) != "morning"], topics
    )
    return topics, morning_end, findings + _shared_ids(with_id)


def _compare(
    raw: Raw,
    queued: list[tuple[str, str]],
    delivered: list[Delivery],
    topics: dict[str, TopicCount],
) -> list[str]:
    """Missing, repeated, out-of-order and unexpected deliveries, into ``topics``."""
    reconnects = sorted([*raw.broker_starts, *raw.subscriber_connects])
    findings = []
    index: dict[tuple[str, str], int] = {}
    for i, key in enumerate(queued):
        if key in index:
            findings.append(f"the same durable message was queued twice: {key}")
        index.setdefault(key, i)
    seen: set[tuple[str, str]] = set()
    last: dict[str, int] = {}
    for d in delivered:
        key, count = (d.topic, d.text), topics[topic_kind(d.topic)]
        if key not in index:
            count.unexpected += 1
        elif key in seen:
            count.duplicates += 1
            after = d.t_s - raw.t0_mono
            if not any(0 <= after - r <= REDELIVERY_WINDOW_S for r in reconnects):
                count.unexplained_duplicates += 1
        else:
            seen.add(key)
            if index[key] < last.get(d.topic, -1):
                count.out_of_order += 1
            last[d.topic] = max(last.get(d.topic, -1), index[key])
    for key in index:
        if key not in seen:
            topics[topic_kind(key[0])].missing += 1
    return findings


def _shared_ids(queued: list[tuple[str, str]]) -> list[str]:
    """Different messages of one kind that carry the same ``id``."""
    ids: dict[str, Counter[str]] = {}
    for topic, payload in queued:
        ids.setdefault(topic_kind(topic), Counter())[str(json.loads(payload).get("id"))] += 1
    findings = []
    for kind, counter in ids.items():
        repeated = sum(n - 1 for n in counter.values() if n > 1)
        if repeated:
            findings.append(
                f"{kind}: {repeated} messages share an id with an earlier, different message:"
                " a consumer deduplicating by id drops them"
            )
    return findings


def rides_of(queued: list[tuple[int, str, dict[str, object]]], raw: Raw) -> dict[str, int]:
    """Rides by how they ended; those cut by kill -9 have no summary."""
    started: dict[str, int] = {}
    ended: Counter[str] = Counter()
    sessions: set[str] = set()
    for gen, topic, p in queued:
        if topic_kind(topic) == "ride" and str(p.get("event", "")).startswith("started"):
            started[ride_id_of(str(p["id"]), str(p["event"]))] = gen
        elif topic_kind(topic) == "session":
            sessions.add(str(p["id"]))
            ended[str(p.get("end_reason"))] += 1
    killed = [g for g, (_, how) in enumerate(raw.gen_ends) if how == "kill"]
    cut = [r for r, g in started.items() if r not in sessions]
    # What the retained topics said when a daemon was killed, and at the end of the run.
    last: dict[tuple[int, str], dict[str, object]] = {}
    final: dict[str, dict[str, object]] = {}
    for gen, topic, p in queued:
        if gen in killed and topic_kind(topic) in {"ride", "alert"}:
            last[gen, topic] = p
        if topic_kind(topic) in {"ride", "alert"}:
            final[topic] = p
    out = {
        "started": len(started),
        "with_summary": len(sessions),
        "cut_by_kill_9": sum(1 for r in cut if started[r] in killed),
        "cut_otherwise": sum(1 for r in cut if started[r] not in killed),
        "retained_ride_active_after_kill": sum(
            1 for (_, t), p in last.items() if topic_kind(t) == "ride" and p.get("active") is True
        ),
        "retained_alert_on_after_kill": sum(
            1
            for (_, t), p in last.items()
            if topic_kind(t) == "alert" and p.get("too_hard") is True
        ),
        # The next daemon ends those (hrvd.daemon.interrupted.interrupted_messages).
        "ended_interrupted": sum(
            1 for _, t, p in queued if topic_kind(t) == "ride" and p.get("event") == INTERRUPTED
        ),
        "alert_off_interrupted": sum(
            1 for _, t, p in queued if topic_kind(t) == "alert" and p.get("reason") == "interrupted"
        ),
        "left_active_at_end": sum(
            1 for p in final.values() if p.get("active") is True or p.get("too_hard") is True
        ),
    }
    out.update({f"ended_{k}": v for k, v in sorted(ended.items())})
    return out


def beats_of(raw: Raw) -> list[BeatCount]:  # noqa: C901 - one matching loop per strap
    """Match each stored beat to the sent beat it must be (see the module docstring)."""
    kills = [t for t, how in raw.gen_ends if how == "kill"]
    end = max((t for t, how in raw.gen_ends if how.startswith("sigterm")), default=raw.end_s)
    db = sqlite3.connect(f"file:{raw.workdir / 'store.sqlite3'}?mode=ro", uri=True)
    out = []
    try:
        for i, (heart, sent) in enumerate(zip(raw.hearts, raw.sent_logs, strict=True)):
            name = strap_name(i)
            rows = db.execute(
                "SELECT t_ms, rr_raw FROM beats WHERE strap = ? ORDER BY t_ms", (name,)
            ).fetchall()
            # Plan-clock time of the end of each sent beat.
            t0 = raw.heart_t0[i] - raw.t0_mono
            sent_t = [t0 + heart.ends_s[j] for j in sent.indices]
            to_plan = raw.wall_offset_s + raw.t0_mono
            c = BeatCount(
                name, sent=len(sent.indices), stored=len(rows), send_log_mismatches=sent.mismatches
            )
            hits: Counter[int] = Counter()
            errors: list[float] = []
            previous = -1
            for t_ms, rr_raw in rows:
                t = t_ms / 1000 - to_plan
                lo = bisect.bisect_left(sent_t, t - MATCH_WINDOW_S)
                hi = bisect.bisect_right(sent_t, t + MATCH_WINDOW_S)
                near = [k for k in range(lo, hi) if heart.raw[sent.indices[k]] == rr_raw]
                if not near:
                    c.unmatched_stored += 1
                    continue
                k = min(near, key=lambda k: abs(sent_t[k] - t))
                hits[k] += 1
                errors.append((t - sent_t[k]) * 1000)
                if t - sent_t[k] < -EARLY_S:
                    c.stamped_early += 1
                if k <= previous:
                    c.out_of_order += 1
                previous = max(previous, k)
            c.matched = len(hits)
            c.stored_twice = sum(1 for n in hits.values() if n > 1)
            for k, t in enumerate(sent_t):
                if k in hits:
                    continue
                if any(kill - KILL_BATCH_S - 5.0 <= t <= kill + 1.0 for kill in kills):
                    c.lost_at_kill += 1
                elif t >= end - 5.0:
                    c.lost_at_end += 1
                else:
                    c.lost_other += 1
            if errors:
                c.time_error_p50_ms = round(float(np.median(errors)), 1)
                c.time_error_max_ms = round(errors[int(np.argmax(np.abs(errors)))], 1)
            out.append(c)
    finally:
        db.close()
    return out


def store_of(raw: Raw) -> dict[str, object]:
    db = sqlite3.connect(f"file:{raw.workdir / 'store.sqlite3'}?mode=ro", uri=True)
    try:
        (check,) = db.execute("PRAGMA integrity_check").fetchone()
        counts = {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
            for t in ("beats", "rides", "mornings", "measurements", "outbox")
        }
        size = (raw.workdir / "store.sqlite3").stat().st_size
    finally:
        db.close()
    return {"integrity_check": check, **counts, "file_mb": round(size / 1e6, 1)}


def memory_of(raw: Raw) -> dict[str, object]:
    if not raw.samples:
        return {"verdict": "no samples"}
    last = raw.samples[-1].gen
    # The trend is taken over the second half of the last process's life: its first half
    # holds the warm-up (imports, HRV windows and rides filling up).
    life = [s.t_s for s in raw.samples if s.gen == last]
    half = (life[0] + life[-1]) / 2
    tail = [s for s in raw.samples if s.gen == last and s.t_s >= half]
    mb = [s.rss_kb / 1024 for s in raw.samples]
    out: dict[str, object] = {
        "samples": len(raw.samples),
        "start_mb": round(mb[0], 1),
        "end_mb": round(mb[-1], 1),
        "max_mb": round(max(mb), 1),
        "last_process_start_mb": round(
            next(s.rss_kb for s in raw.samples if s.gen == last) / 1024, 1
        ),
    }
    if len(tail) >= 4:
        hours = np.array([s.t_s / 3600 for s in tail])
        slope = float(np.polyfit(hours, np.array([s.rss_kb / 1024 for s in tail]), 1)[0])
        out["second_half_slope_mb_per_h"] = round(slope, 2)
        out["second_half_samples"] = len(tail)
        if raw.end_s < MIN_TREND_MIN * 60:
            out["verdict"] = f"run under {MIN_TREND_MIN:.0f} min: no verdict"
        else:
            out["verdict"] = "flat" if slope < FLAT_MB_PER_H else "GROWING"
    else:
        out["verdict"] = "too few samples"
    cpu = [s for s in raw.samples if s.gen == last]
    if len(cpu) >= 2 and cpu[-1].t_s > cpu[0].t_s:
        share = (cpu[-1].cpu_s - cpu[0].cpu_s) / (cpu[-1].t_s - cpu[0].t_s)
        out["daemon_cpu_pct"] = round(100 * share, 1)
    return out
