"""README's table of JSON topics and their fields, made from the message classes (pure).

``scripts/topic-contract`` writes it into README between the markers below; a test checks
that README's copy is current, so the documented contract is the one the code sends.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

from hrvd.publish.messages import ABSENT, ATHLETE_MESSAGES, STRAP_MESSAGES

if TYPE_CHECKING:
    from hrvd.publish.messages import Message

BEGIN = "<!-- topic-contract: made by scripts/topic-contract from hrvd.publish.messages -->"
END = "<!-- /topic-contract -->"
EXAMPLE_BASE = "hrvd"
EXAMPLE_STRAP = "H10 Garage"


def table() -> str:
    """The Markdown table: topic, what it carries, its fields (*italic*: not always there)."""
    rows = ["| Topic | Message | Fields |", "| --- | --- | --- |"]
    classes: list[tuple[type[Message], str]] = [
        (c, c.topic(EXAMPLE_BASE, EXAMPLE_STRAP)) for c in STRAP_MESSAGES
    ]
    classes += [(c, c.topic(EXAMPLE_BASE)) for c in ATHLETE_MESSAGES]
    for cls, topic in classes:
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        names = [f"*`{f.name}`*" if f.default is ABSENT else f"`{f.name}`" for f in fields(cls)]
        rows.append(f"| `{topic}` | {summary} | {', '.join(names)} |")
    return "\n".join(rows)


def section() -> str:
    """The table between its markers, as README holds it."""
    return f"{BEGIN}\n{table()}\n{END}"
