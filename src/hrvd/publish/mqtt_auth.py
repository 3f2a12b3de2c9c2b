"""The MQTT link's credentials: the broker password, TLS and the client id.

What a connection to the broker needs beyond host and port, read from the config
(:class:`~hrvd.config.MqttConfig`) and the environment. Passwords come from a file or
``$HRVD_MQTT_PASSWORD`` and appear in no log and no error. Imports no MQTT library.
"""

from __future__ import annotations

import os
import socket
import ssl
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from hrvd.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from hrvd.config import MqttConfig

PASSWORD_ENV = "HRVD_MQTT_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
CREDENTIALS_PREFIX = "$CREDENTIALS_DIRECTORY/"
"""A password_file may start with this; systemd's LoadCredential= sets the directory."""
MAX_PASSWORD_BYTES = 65_535
"""The longest MQTT password (MQTT 3.1.1 section 3.1.3.5: a two-byte length prefix), bytes."""


def resolve_password(cfg: MqttConfig, source: Path | None = None) -> str | None:
    """The broker password: from ``password_file`` when set, else ``$HRVD_MQTT_PASSWORD``.

    The file is read as its first line, at most :data:`MAX_PASSWORD_BYTES`; it must be a
    regular file (``/dev/zero`` or a pipe would never end).

    Raises:
        ConfigError: the file cannot be read or is not one line of text. Neither its content
            nor a value that may be the password itself (a relative "path") is in the message.
    """
    if cfg.password_file is None:
        return os.environ.get(PASSWORD_ENV) or None
    raw = str(cfg.password_file)

    def fail(reason: str) -> ConfigError:
        # A value that is not an absolute path may be the password typed in by mistake.
        shown = raw if raw.startswith(("/", CREDENTIALS_PREFIX)) else "(value not shown)"
        return ConfigError(source or "config", "mqtt.password_file", f"{shown}: {reason}")

    if raw.startswith(CREDENTIALS_PREFIX):
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            msg = "names $CREDENTIALS_DIRECTORY, which is not set (not under systemd?)"
            raise ConfigError(source or "config", "mqtt.password_file", msg)
        raw = str(Path(directory) / raw.removeprefix(CREDENTIALS_PREFIX))
    elif not raw.startswith("/"):
        raise fail("is not an absolute path (expected the path of a file holding the password)")
    password = _first_line(raw, fail)
    # An empty file (the service's credential placeholder) means: no password.
    return password or None


def _first_line(raw: str, fail: Callable[[str], ConfigError]) -> str:
    """The one line of the password file ``raw``, read without reading past the limit."""
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer.
        with os.fdopen(os.open(raw, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise fail("is not a regular file (expected a file holding the password)")
            data = f.read(MAX_PASSWORD_BYTES + 2)
    except OSError as exc:
        raise fail(exc.strerror or type(exc).__name__) from None
    try:
        password = data.decode("utf-8").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError:
        raise fail("is not UTF-8 text (expected the password on one line)") from None
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise fail(f"holds more than {MAX_PASSWORD_BYTES} bytes, MQTT's longest password")
    if any(c in password for c in "\r\n\0"):
        raise fail("holds more than one line or a NUL (expected the password on one line)")
    return password


def password_file_warning(cfg: MqttConfig) -> str | None:
    """A warning when ``password_file`` can be read by every user of the machine, else None."""
    raw = str(cfg.password_file or "")
    if not raw.startswith("/"):
        return None  # unset, or systemd's credential (a private copy for the service)
    try:
        mode = Path(raw).stat().st_mode
    except OSError:
        return None  # reading it will say what is wrong
    if not mode & stat.S_IROTH:
        return None
    return (
        f"the password file {raw} can be read by every user (mode "
        f"{stat.S_IMODE(mode):04o}): chmod o-r {raw}"
    )


def tls_context(cfg: MqttConfig) -> ssl.SSLContext | None:
    """A TLS context verifying the broker with ``tls_ca_file`` (and our client certificate)."""
    if cfg.tls_ca_file is None:
        return None
    context = ssl.create_default_context(cafile=str(cfg.tls_ca_file))
    if cfg.tls_cert_file is not None and cfg.tls_key_file is not None:
        context.load_cert_chain(str(cfg.tls_cert_file), str(cfg.tls_key_file))
    return context


def default_client_id() -> str:
    """Unique per process, so two daemons never kick each other off the broker."""
    return f"hrvd-{socket.gethostname()}-{os.getpid()}"
