"""``python -m hrvd.cli``: the same as the ``hrvd`` command."""

import sys

from hrvd.cli import main

sys.exit(main())
