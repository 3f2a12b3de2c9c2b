"""``hrvd init``'s files: where the config goes, checking and writing it, and what next.

The rendered config (:mod:`hrvd.setup.template`) must load back as exactly the answers
before it is written, atomically; a typed-in password goes to ``mqtt-password`` (mode
0600) beside it. For the service's ``/etc/hrvd/hrvd.toml`` that file is the one systemd
hands over with ``LoadCredential=`` (see :mod:`hrvd.setup.install_service`), so the
config names it as ``$CREDENTIALS_DIRECTORY/mqtt-password``, and it is created empty when
the broker takes no password (the unit does not start without it).
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hrvd.config import CONFIG_NAME, StoreConfig, load_config, parse_config
from hrvd.errors import ConfigError, UsageError
from hrvd.files import write_atomically
from hrvd.setup.install_service import DEFAULT_CONFIG
from hrvd.setup.template import Answers, render_config

PASSWORD_NAME = "mqtt-password"  # noqa: S105 - a file name, not a password
"""The password file beside the config; beside /etc/hrvd/hrvd.toml it is the credential."""
SERVICE_PASSWORD_FILE = "$CREDENTIALS_DIRECTORY/" + PASSWORD_NAME
"""How the service's config names it: ``LoadCredential=mqtt-password:...`` puts it there."""


# -- where things go -----------------------------------------------------------------------


def default_output(euid: int | None = None) -> Path:
    """The service's config as root, else the user's (the first two places find_config tries)."""
    if (os.geteuid() if euid is None else euid) == 0:
        return Path(DEFAULT_CONFIG)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "hrvd" / CONFIG_NAME


def user_store() -> Path:
    """The store of a daemon run by its user: ``$XDG_DATA_HOME/hrvd/hrvd.sqlite3``."""
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "hrvd" / StoreConfig().path.name


# -- writing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choices:
    """The answers, and the password to keep beside the config (None: nothing to write)."""

    answers: Answers
    password: str | None


def refuse_to_replace(output: Path, *, force: bool) -> None:
    """Fail early when ``output`` is a directory, exists (without ``force``) or cannot be written.

    Raises:
        UsageError: it is, it does, or it cannot; the message says what to do.
    """
    if output.is_dir():
        raise UsageError(f"{output} is a directory: give the file as --output FILE")
    if (output.exists() or output.is_symlink()) and not force:
        raise UsageError(
            f"{output} already exists: use --force to replace it, "
            "or --output FILE to write elsewhere"
        )
    existing = output.absolute().parent
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot write {output}: permission denied (run it with sudo, or give --output FILE)"
        )


def checked_text(answers: Answers, output: Path) -> str:
    """The rendered config, after checking that it loads back as exactly ``answers``.

    Raises:
        RuntimeError: it does not: a bug in the renderer, never the user's fault.
    """
    text = render_config(answers)
    try:
        loaded = parse_config(tomllib.loads(text), output)
    except (tomllib.TOMLDecodeError, ConfigError) as exc:
        raise RuntimeError(f"bug: hrvd init rendered a config that does not load: {exc}") from exc
    if loaded != answers.config(output):
        raise RuntimeError(f"bug: hrvd init rendered {loaded} for {answers}")
    return text


def write_files(
    choices: Choices, output: Path, *, service: bool, force: bool
) -> list[tuple[Path, str]]:
    """Write the password file (if any) and the config; return each path and what it is."""
    text = checked_text(choices.answers, output)
    if (output.exists() or output.is_symlink()) and not force:
        refuse_to_replace(output, force=force)  # appeared while we asked
    # /etc/hrvd must stay readable by the service's user; ~/.config/hrvd is private.
    dir_mode = 0o755 if service else 0o700
    written: list[tuple[Path, str]] = []
    beside = output.parent / PASSWORD_NAME
    if choices.password is not None and not force and _holds_other(beside, choices.password):
        raise UsageError(f"{beside} already holds a password: use --force to replace it")
    if choices.password is not None:
        write_atomically(beside, choices.password + "\n", mode=0o600, dir_mode=dir_mode)
        written.append((beside, "the broker password, mode 0600"))
    elif service and not beside.exists():
        write_atomically(beside, "", mode=0o600, dir_mode=dir_mode)
        written.append((beside, "empty: the service's credential, for a password later"))
    write_atomically(output, text, mode=0o644, dir_mode=dir_mode)
    written.append((output, "the config"))
    if load_config(output) != choices.answers.config(output):
        raise RuntimeError(f"bug: {output} does not read back as written")
    return written


def _holds_other(path: Path, password: str) -> bool:
    """Whether ``path`` holds something other than ``password`` (unreadable counts)."""
    try:
        return path.read_text(encoding="utf-8").rstrip("\n") not in {"", password}
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError):
        return True


def _hrvd_command() -> str:
    beside = Path(sys.executable).absolute().with_name("hrvd")
    return str(beside) if beside.is_file() else "hrvd"


def next_steps(output: Path, *, service: bool, password_to_add: bool = False) -> list[str]:
    """What to run after ``hrvd init``, in order."""
    hrvd, config = _hrvd_command(), output.absolute()
    steps = []
    if password_to_add:
        credential = config.parent / PASSWORD_NAME
        steps.append(f"sudoedit {credential}   # the broker password, if it needs one")
    steps.append(f"{hrvd} doctor --config {config}   # Bluetooth, the strap, the broker")
    if service:
        steps.append(f"sudo {hrvd} install-service   # then the commands it prints")
    else:
        steps.append(f"{hrvd} run --config {config}   # the daemon; Ctrl-C stops it")
    return steps
