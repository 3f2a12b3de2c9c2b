"""`hrvd ride start|stop`: a recovery ride on the running daemon, followed over MQTT."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_actions, add_athlete, add_command
from hrvd.cli.broker import command_client
from hrvd.cli.output import ride_summary, write_json
from hrvd.errors import EXIT_OK, HrvdError

if TYPE_CHECKING:
    import argparse

    import aiomqtt

    from hrvd.cli.args import Parser, Subparsers
    from hrvd.config import Config

FOLLOW_TIMEOUT_S = 10.0
"""How long `hrvd ride stop` waits for the daemon's summary."""


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    ride = add_command(sub, "ride", "Start or stop a recovery ride on the running daemon.")
    actions = add_actions(ride)
    for action, text in (
        ("start", "start a ride and follow it (Ctrl-C stops following)"),
        ("stop", "stop the ride and print its summary"),
    ):
        parser = actions.add_parser(action, help=text, description=text[0].upper() + text[1:])
        parser.add_argument(
            "--strap", metavar="NAME", help="the strap (default: the first ride strap)"
        )
        parser.add_argument("--config", metavar="FILE")
        add_athlete(parser)  # or --strap: whoever wears it
        parser.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help="json: the summary as JSON, the rest on stderr",
        )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config)).for_command(args.athlete, args.strap)
    as_json = args.format == "json"
    asyncio.run(ride_command(config, args.action, args.strap, out, as_json=as_json))
    return EXIT_OK


async def ride_command(
    config: Config, action: str, strap: str | None, out: TextIO, *, as_json: bool = False
) -> None:
    """Send a ride command to the running daemon and follow the ride's messages.

    ``config`` is the athlete's (:meth:`~hrvd.config.Config.for_command`): the command goes
    to their topic.

    Raises:
        HrvdError: no daemon is running (hrvd/status is not online).
    """
    from hrvd.cli.replay import daemon_online  # noqa: PLC0415
    from hrvd.publish import topics  # noqa: PLC0415
    from hrvd.publish.mqtt_auth import resolve_password  # noqa: PLC0415

    cfg = config.mqtt
    password = await asyncio.to_thread(resolve_password, cfg, config.source)
    if not await daemon_online(cfg, password):
        raise HrvdError(
            f"no daemon is running ({cfg.base_topic}/status is not online): start it "
            "(systemctl start hrvd), or play a file with 'hrvd replay'"
        )
    payload = action if strap is None else json.dumps({"strap": strap, "action": action})
    async with await command_client(cfg, password, "ride") as client:
        base = config.topic_base()
        await client.subscribe(f"{base}/+/ride", qos=1)
        await client.subscribe(f"{base}/+/alert", qos=1)
        await client.subscribe(f"{base}/+/session", qos=1)
        await client.publish(topics.cmd_ride(base), payload.encode(), qos=1)
        # With --format json the summary alone goes to stdout, the rest to stderr.
        talk = sys.stderr if as_json else out
        talk.write(f"ride {action} sent; following the ride (Ctrl-C to stop following)\n")
        await _follow(client, action, out, talk)


async def _follow(client: aiomqtt.Client, action: str, out: TextIO, talk: TextIO) -> None:
    timeout = FOLLOW_TIMEOUT_S if action == "stop" else None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            async for message in client.messages:
                if message.retain:
                    continue  # the last ride's retained messages: not news
                try:
                    data = json.loads(message.payload)
                except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
                    continue  # not ours to judge: hrvd writes JSON here
                if not isinstance(data, dict):
                    continue
                kind = str(message.topic).rsplit("/", 1)[-1]
                if kind == "alert":
                    word = "ALERT too hard for recovery" if data.get("too_hard") else "alert off"
                    talk.write(f"{word} ({data.get('reason')}), HR {data.get('hr_bpm')} bpm\n")
                elif kind == "ride":
                    talk.write(f"{data.get('phase')}: {data.get('event')}\n")
                elif kind == "session":
                    if talk is out:
                        out.write("ride over\n")
                        out.writelines(f"{line}\n" for line in ride_summary(data))
                    else:
                        write_json(out, data)
                    return
                talk.flush()
