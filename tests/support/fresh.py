"""Run Python code in a fresh interpreter and read the JSON its last line prints.

For what only a new process can show: which modules a path imports (numpy kept out of the
daemon, rich out of `hrvd run`), where this test process has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def fresh_json(code: str) -> Any:
    """Run ``code`` with this Python; the JSON value of its last line of output."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])
