"""Files written whole or not at all: config, unit files, exports."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hrvd.errors import UsageError


def write_atomically(path: Path, text: str | bytes, *, mode: int, dir_mode: int) -> None:
    """Replace ``path`` with ``text``: a temporary file (mode 0600 from the start) renamed.

    The temporary name comes from mkstemp in the target folder, so no one can have planted
    a symlink at it. ``bytes`` are written as they are, ``str`` as UTF-8.

    Raises:
        UsageError: the directory or the file cannot be written.
    """
    try:
        path.parent.mkdir(mode=dir_mode, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(text.encode() if isinstance(text, str) else text)
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).chmod(mode)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except PermissionError:
        raise UsageError(f"cannot write {path}: permission denied (run it with sudo)") from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
