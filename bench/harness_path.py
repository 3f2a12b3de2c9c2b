"""Put ``tests/`` on ``sys.path``, so that a benchmark imports the harness as a test does.

Benchmarks are scripts (``python bench/NAME.py`` from anywhere), so Python puts ``bench/``
on ``sys.path`` and nothing else of the repository. Importing this module first, before
any ``harness`` import, adds ``tests/`` after it: ``from harness.mosquitto import Broker``
then means the same module in a benchmark as in a test (pytest adds ``tests/`` for its
rootdir conftest). This is the one place where ``bench/`` reaches into ``tests/``; it was
chosen over ``python -m bench.NAME`` so that every documented command line stays as it is.
"""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(1, str(TESTS))
