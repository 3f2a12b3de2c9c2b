"""The store's files: their modes, the daemon's lock, and connections as writer or reader.

Health data: a folder hrvd creates is 0700 and a new store 0600 (0640 in the service's
0750 state directory, which group hrvd reads: docs/install.md). One daemon at a time holds
an ``flock`` on ``<store>.lock``. A reader opens the store read-only, and reads it as
immutable when the daemon is stopped and the reader may not create SQLite's -shm file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path

from hrvd.errors import EXIT_USAGE, HrvdError


class StoreError(HrvdError):
    """The store cannot be opened or written (a full disk, no permission, corruption)."""


class StoreNeedsHandsError(StoreError):
    """The store is damaged, or another daemon uses it: restarting hrvd cannot fix that.

    Exit code 2, as a config error, which the unit's ``RestartPreventExitStatus=2`` keeps
    systemd from restarting every ``RestartSec=``.
    """

    exit_code = EXIT_USAGE


def connect(path: Path) -> sqlite3.Connection:
    """The store for writing (WAL), created private when missing."""
    # Health data: a folder of our own is 0700, and a new store (and so its -wal and -shm,
    # which SQLite gives the store's mode) 0600, whatever the umask.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        mode = private_mode(path.parent)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode))
        path.chmod(mode)  # as asked, not as the umask left it
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def private_mode(folder: Path) -> int:
    """A new file's mode in ``folder``: 0600, or 0640 when the folder lets its group in.

    The service's state directory is 0750 so that group hrvd can read the history
    (docs/install.md); a user's own folder is 0700.
    """
    shared = folder.stat().st_mode & 0o050 == 0o050
    return 0o640 if shared else 0o600


def take_lock(path: Path) -> int:
    """Take the daemon's lock beside the store, or say who holds it."""
    lock = path.with_name(f"{path.name}.lock")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, private_mode(path.parent))
    except OSError as exc:
        raise StoreError(f"cannot open the store {path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        msg = (
            f"another hrvd daemon (pid {holder}) already uses the store {path}: stop it "
            "first (systemctl stop hrvd), or give this one another [store] path"
        )
        raise StoreNeedsHandsError(msg) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def connect_readonly(path: Path) -> sqlite3.Connection:
    """The store for reading only; never writes to it or to its folder."""
    if not path.is_file():
        msg = f"no store at {path} yet (has the daemon run?)"
        raise StoreError(msg)
    uri = path.absolute().as_uri()
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
    try:
        db.execute("PRAGMA user_version").fetchone()
    except sqlite3.OperationalError:
        db.close()
        if Path(f"{path}-wal").exists():
            raise
        # The daemon is stopped (SQLite removed the -wal and -shm files at its last close)
        # and this user may not create the -shm file a WAL reader needs: read it as
        # immutable, safe while nothing writes (a daemon that starts makes a -wal first).
        db = sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)
    return db
