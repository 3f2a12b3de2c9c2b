"""`hrvd watch`: the live view of a running daemon, fed from MQTT.

Besides the strap's topics it follows ``<base>/status``: what a stopped daemon left
retained on the broker is shown as such, never as live (see :mod:`hrvd.cli.live`).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

import aiomqtt
import structlog

from hrvd.cli.broker import command_client
from hrvd.cli.live import LiveView
from hrvd.config import slug
from hrvd.daemon.ordered import cancel_and_wait
from hrvd.errors import HrvdError, UsageError
from hrvd.publish import topics
from hrvd.publish.mqtt_auth import resolve_password

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

    from hrvd.cli.args import Parser, Subparsers
    from hrvd.config import Config

log = structlog.get_logger("hrvd.watch")


async def watch(config: Config, strap: str | None, console: Console) -> None:
    """Show one strap's live values and events until interrupted.

    Raises:
        UsageError: the config names no strap (or not that one).
        HrvdError: the broker cannot be reached.
    """
    names = [s.name for s in config.straps]
    name = strap or (names[0] if names else None)
    if name is None or slug(name) not in {slug(n) for n in names}:
        raise UsageError(f"no strap {name!r} in the config (configured: {', '.join(names)})")
    cfg = config.mqtt
    wearer = config.athlete_of(name).name  # in a household: hrvd/<athlete>/<strap>/...
    base = f"{config.topic_base(wearer)}/{slug(name)}"
    password = await asyncio.to_thread(resolve_password, cfg, config.source)
    try:
        async with await command_client(cfg, password, "watch") as client:
            await client.subscribe(f"{base}/#", qos=0)
            await client.subscribe(topics.status(cfg.base_topic), qos=0)
            with LiveView(console, name, datetime.now().astimezone()) as view:
                ticker = asyncio.create_task(_tick(view), name="watch.tick")
                try:
                    async for message in client.messages:
                        _show(view, str(message.topic), message.payload, past=message.retain)
                finally:
                    await cancel_and_wait(ticker)
    except aiomqtt.MqttError as exc:
        raise HrvdError(f"cannot reach the broker {cfg.host}:{cfg.port}: {exc}") from None


TICK_S = 1.0
"""How often the view looks for live values gone stale, s."""


async def _tick(view: LiveView) -> None:
    while True:
        await asyncio.sleep(TICK_S)
        view.tick()


def _show(view: LiveView, topic: str, raw: object, *, past: bool = False) -> None:
    """Hand one received message to the view; one that is not JSON is a logged fault.

    The view reads the JSON into its message (:mod:`hrvd.publish.messages`) and logs one
    that is not what its topic carries.
    """
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else ""
    kind = topic.rsplit("/", 1)[-1]
    if kind in {"link", "availability", "status"}:
        view.retained(topic, text)
        return
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        log.warning("message not shown: not JSON", topic=topic, error=str(exc))
        return
    if not isinstance(payload, dict):
        log.warning("message not shown: not a JSON object", topic=topic, payload=text[:80])
        return
    if kind == "state":
        view.state(topic, payload)
    elif kind in {"alert", "ride", "session"}:
        view.durable(topic, payload, past=past)


def register(sub: Subparsers[Parser]) -> None:
    """`hrvd watch`."""
    from hrvd.cli.args import add_command  # noqa: PLC0415

    watch_cmd = add_command(
        sub, "watch", "The live view of a running daemon, from its MQTT messages."
    )
    watch_cmd.add_argument("--strap", metavar="NAME", help="default: the first strap")
    watch_cmd.add_argument("--config", metavar="FILE")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from rich.console import Console  # noqa: PLC0415

    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config))
    asyncio.run(watch(config, args.strap, Console(file=out)))
    return 0
