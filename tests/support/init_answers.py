"""The flags and typed answers that hrvd init's tests give it, and init run in process.

Shared by tests/setup/test_init_config.py and test_init_password.py.
"""

from __future__ import annotations

import io

from hrvd.cli import build_parser
from hrvd.setup.init import run_init

ADDRESS = "AA:BB:CC:DD:EE:01"
FLAGS = ["--strap", ADDRESS, "--hr-max", "185", "--timezone", "Europe/Brussels"]


class Typist:
    """Types the given answers, one per prompt, and remembers the prompts."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)


def init(argv: list[str], out: io.StringIO | None = None, **kwargs) -> int:
    args = build_parser().parse_args(["init", *argv])
    return run_init(args, out or io.StringIO(), **kwargs)
