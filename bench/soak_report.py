"""The soak's report: a run's figures as Markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from soak_counts import BeatCount

if TYPE_CHECKING:
    from soak_analysis import Result


def report(r: Result) -> str:
    """The figures as Markdown."""
    out = [
        f"## Soak: {r.plan['straps']} straps, {r.duration_s / 60:.1f} min (seed {r.plan['seed']})",
        "",
    ]
    sent = sum(b.sent for b in r.beats)
    hours = r.duration_s * int(cast("int", r.plan["straps"])) / 3600
    out += [
        (
            f"Data: {hours:.1f} strap-hours, {sent} beats sent "
            f"({sent / 94_000:.2f} x a day of one athlete at 65 bpm)."
        ),
        "",
    ]
    out += [
        (
            "| durable message | queued | delivered | missing | duplicates (unexplained) | "
            "out of order | unexpected |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, c in r.topics.items():
        out.append(
            f"| {kind} | {c.queued} | {c.delivered} | {c.missing} | {c.duplicates} "
            f"({c.unexplained_duplicates}) | {c.out_of_order} | {c.unexpected} |"
        )
    out.append(
        f"| morning end (no id) | {r.morning_end['queued']} | "
        f"{r.morning_end['delivered']} | - | - | - | - |"
    )
    out += [
        "",
        (
            "| beats | sent | stored | matched | lost at kill -9 | lost at end | lost "
            "otherwise | stored twice | unmatched | out of order | time error p50 / max ms | "
            "stamped early |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total = BeatCount("all")
    for b in r.beats:
        out.append(
            f"| {b.strap} | {b.sent} | {b.stored} | {b.matched} | {b.lost_at_kill} | "
            f"{b.lost_at_end} | {b.lost_other} | {b.stored_twice} | "
            f"{b.unmatched_stored} | {b.out_of_order} | {b.time_error_p50_ms} / "
            f"{b.time_error_max_ms} | {b.stamped_early} |"
        )
        for name in (
            "sent",
            "stored",
            "matched",
            "lost_at_kill",
            "lost_at_end",
            "lost_other",
            "stored_twice",
            "unmatched_stored",
            "out_of_order",
            "stamped_early",
        ):
            setattr(total, name, getattr(total, name) + getattr(b, name))
    out.append(
        f"| **all** | {total.sent} | {total.stored} | {total.matched} | "
        f"{total.lost_at_kill} | {total.lost_at_end} | {total.lost_other} | "
        f"{total.stored_twice} | {total.unmatched_stored} | {total.out_of_order} | | "
        f"{total.stamped_early} |"
    )

    def line(title: str, d: dict[str, object] | dict[str, int]) -> str:
        return f"- **{title}**: " + ", ".join(f"{k} {v}" for k, v in d.items())

    out += [
        "",
        line("faults injected", r.faults),
        line("rides", r.rides),
        line("alerts", r.alerts),
        line("readiness", r.readiness),
        line("store", r.store),
        line("memory (VmRSS)", r.memory),
        line("daemon", r.daemon),
        line("machine", r.machine),
        "",
    ]
    out += ["**Findings**:", *([f"- {f}" for f in r.findings] or ["- none"]), ""]
    out += [
        "**Invariants**: " + ("all hold" if not r.violations else "FAILED"),
        *[f"- {v}" for v in r.violations],
        "",
    ]
    return "\n".join(out)
