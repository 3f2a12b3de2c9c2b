"""``hrvd install-service``: the systemd unit, the sysusers.d file and the D-Bus policy.

The three files are rendered here (pure functions, golden-tested) and written by a thin
writer that never replaces a different file without ``force``. The copies under
``systemd/`` in the repository are the renders for the default install (a venv in
``/opt/hrvd/venv``); a test keeps them equal.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from hrvd.errors import EXIT_OK, UsageError
from hrvd.files import write_atomically

if TYPE_CHECKING:
    from typing import TextIO

SERVICE_USER = "hrvd"
DEFAULT_HRVD = PurePosixPath("/opt/hrvd/venv/bin/hrvd")
DEFAULT_CONFIG = PurePosixPath("/etc/hrvd/hrvd.toml")
CREDENTIAL_FILE = PurePosixPath("/etc/hrvd/mqtt-password")
UNIT_FILE = PurePosixPath("/etc/systemd/system/hrvd.service")
SYSUSERS_FILE = PurePosixPath("/etc/sysusers.d/hrvd.conf")
DBUS_POLICY_FILE = PurePosixPath("/etc/dbus-1/system.d/hrvd.conf")
SERVICE_FILES = (UNIT_FILE, SYSUSERS_FILE, DBUS_POLICY_FILE)
"""Where ``install-service`` writes, in this order (admin files: /etc, not /usr/lib)."""
HIDDEN_BY_PROTECT_HOME = (
    PurePosixPath("/home"),
    PurePosixPath("/root"),
    PurePosixPath("/run/user"),
)

_UNIT = """\
# hrvd.service: the hrvd daemon (written by `hrvd install-service`; see docs/install.md).
# Keep the exposure by `systemd-analyze security --offline=true` at 2.0 or lower.

[Unit]
Description=hrvd heart-rate variability daemon
# BlueZ is reached over D-Bus. No wait for the network: the broker may be absent for hours
# and hrvd reconnects by itself. time-sync.target only orders us when something pulls it in
# (systemd-time-wait-sync.service): a Pi has no clock battery.
Wants=bluetooth.service
After=bluetooth.service network.target time-sync.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={exec_start}
# READY=1 comes once the config is loaded and the store is open (numpy takes seconds to
# import on a Pi Zero); WATCHDOG=1 comes from the event loop every 15 s.
TimeoutStartSec=90s
TimeoutStopSec=20s
WatchdogSec=30s
Restart=on-failure
RestartSec=10s
# Exit code 2: a config or usage error, a damaged store or another daemon on the store.
# Restarting will not fix those; the journal says what to do.
RestartPreventExitStatus=2

User={user}
Group={user}
# /var/lib/hrvd, group-readable so that members of group {user} can run `hrvd history`.
StateDirectory=hrvd
StateDirectoryMode=0750
UMask=0027
# The config then says: password_file = "$CREDENTIALS_DIRECTORY/mqtt-password".
# The file must exist (empty when the broker takes no password), or the start fails.
LoadCredential=mqtt-password:{credential}
# Stacks in the journal when the watchdog aborts a hung daemon; /usr is read-only; one
# BLAS thread is plenty for a few hundred beats and saves memory on a Pi Zero.
Environment=PYTHONFAULTHANDLER=1 PYTHONDONTWRITEBYTECODE=1 OPENBLAS_NUM_THREADS=1

# Sandbox. hrvd needs: D-Bus to BlueZ (AF_UNIX; bleak's BlueZ backend opens no
# AF_BLUETOOTH socket, notifications come as passed AF_UNIX file descriptors), TCP to the
# broker (AF_INET, AF_INET6), and its state directory. No devices, no capabilities.
NoNewPrivileges=yes
CapabilityBoundingSet=
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RemoveIPC=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
"""

_SYSUSERS = """\
# hrvd: the system user and group of hrvd.service (written by `hrvd install-service`).
# A fixed user, not DynamicUser=, because the D-Bus policy names it. Add people to group
# {user} (usermod -aG {user} NAME) to let them read /var/lib/hrvd with `hrvd history`.
#Type Name ID GECOS         Home directory
u     {user} -  "hrvd daemon" /var/lib/hrvd
"""

# Interfaces bleak's BlueZ backend calls (bleak/backends/bluezdbus): the object tree and
# properties, discovery, connect/disconnect, GATT reads, writes and notifications, and the
# advertisement monitor of passive scans. Replies and signals pass by the default policy.
_BLUEZ_INTERFACES = (
    "org.freedesktop.DBus.ObjectManager",
    "org.freedesktop.DBus.Properties",
    "org.bluez.Adapter1",
    "org.bluez.Device1",
    "org.bluez.GattCharacteristic1",
    "org.bluez.GattDescriptor1",
    "org.bluez.AdvertisementMonitorManager1",
)

_DBUS_POLICY = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- hrvd: lets the user of hrvd.service talk to BlueZ the way bleak does (written by
     `hrvd install-service`). Needed where the bus denies org.bluez to other users (older or
     hardened BlueZ policies); bookworm's BlueZ 5.66 allows every user, and this then changes
     nothing. -->
<busconfig>
  <policy user="{user}">
{rules}
  </policy>
</busconfig>
"""

_PLAIN_ARG = re.compile(r"[A-Za-z0-9_./+:@,=-]+")


def _exec_arg(path: PurePosixPath) -> str:
    """One ExecStart= word: as is when plain, else quoted; ``%`` and ``$`` escaped."""
    text = str(path)
    if any(ord(c) < 0x20 or c == "\x7f" for c in text):
        raise UsageError(f"{text!r}: a path with control characters cannot go in a unit")
    if _PLAIN_ARG.fullmatch(text):
        return text
    quoted = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{quoted}"'


def render_unit(
    hrvd_path: PurePosixPath | Path = DEFAULT_HRVD,
    config_path: PurePosixPath | Path = DEFAULT_CONFIG,
) -> str:
    """The text of ``hrvd.service`` running ``hrvd_path run --config config_path``.

    Args:
        hrvd_path: the absolute path of the installed ``hrvd`` command.
        config_path: the absolute path of the config file.
    """
    hrvd, config = PurePosixPath(hrvd_path), PurePosixPath(config_path)
    for what, path in (("the hrvd command", hrvd), ("the config file", config)):
        if not path.is_absolute():
            raise UsageError(f"{path}: {what} needs an absolute path in a unit")
        if any(path.is_relative_to(hidden) for hidden in HIDDEN_BY_PROTECT_HOME):
            raise UsageError(
                f"{path}: the service cannot reach {what} there (ProtectHome=yes hides "
                "/home, /root and /run/user); install hrvd under /opt (see docs/install.md)"
            )
    exec_start = f"{_exec_arg(hrvd)} run --config {_exec_arg(config)}"
    return _UNIT.format(exec_start=exec_start, user=SERVICE_USER, credential=CREDENTIAL_FILE)


def render_sysusers() -> str:
    """The text of the sysusers.d file that creates user and group ``hrvd``."""
    return _SYSUSERS.format(user=SERVICE_USER)


def render_dbus_policy(user: str = SERVICE_USER) -> str:
    """The D-Bus system bus policy letting ``user`` call BlueZ (``org.bluez``)."""
    rules = "\n".join(
        f'    <allow send_destination="org.bluez" send_interface="{interface}"/>'
        for interface in _BLUEZ_INTERFACES
    )
    return _DBUS_POLICY.format(user=user, rules=rules)


def service_files(
    hrvd_path: PurePosixPath | Path = DEFAULT_HRVD,
    config_path: PurePosixPath | Path = DEFAULT_CONFIG,
) -> list[tuple[PurePosixPath, str]]:
    """Each file ``install-service`` writes: its absolute path on the system and its text."""
    texts = (render_unit(hrvd_path, config_path), render_sysusers(), render_dbus_policy())
    return list(zip(SERVICE_FILES, texts, strict=True))


def installed_hrvd() -> Path:
    """The ``hrvd`` command of this install: the script beside this Python (venv, pipx, uv).

    Raises:
        UsageError: there is none (hrvd is not installed as a command).
    """
    # sys.executable is not resolved: in a venv it must stay the venv's bin/, not /usr/bin.
    candidate = Path(sys.executable).absolute().with_name("hrvd")
    if not candidate.is_file():
        raise UsageError(
            f"no hrvd command beside {sys.executable}: install hrvd into a venv first "
            "(see docs/install.md)"
        )
    return candidate


def _under(root: Path, path: PurePosixPath) -> Path:
    return root / path.relative_to("/")


def install_service(
    *,
    dry_run: bool,
    root: Path = Path("/"),
    hrvd_path: PurePosixPath | Path | None = None,
    config_path: PurePosixPath | Path = DEFAULT_CONFIG,
    force: bool = False,
) -> list[tuple[Path, str]]:
    """Write the unit, the sysusers.d file and the D-Bus policy under ``root``.

    Nothing is written when ``dry_run``, nor when any one of them would replace a
    different file and ``force`` is not set.

    Args:
        dry_run: only render.
        root: the file system root to write under (a temporary directory in tests).
        hrvd_path: the ``hrvd`` command the unit starts; default :func:`installed_hrvd`.
        config_path: the config file the unit passes to ``hrvd run``.
        force: replace files that differ.

    Returns:
        (path under ``root``, text) of every file, written or not.

    Raises:
        UsageError: a file differs and ``force`` is not set, a path cannot be used in the
            unit, or a file cannot be written (not root).
    """
    files = service_files(installed_hrvd() if hrvd_path is None else hrvd_path, config_path)
    targets = [(_under(root, path), text) for path, text in files]
    if dry_run:
        return targets
    clashes = [path for path, text in targets if _differs(path, text)]
    if clashes and not force:
        names = ", ".join(str(p) for p in clashes)
        raise UsageError(
            f"{names} already exist{'s' if len(clashes) == 1 else ''} with other content; "
            "compare with 'hrvd install-service --dry-run', then use --force to replace"
        )
    for path, text in targets:
        _write(path, text)
    return targets


def _differs(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") != text
    except (FileNotFoundError, NotADirectoryError):
        return False  # nothing there to replace; writing will say what is wrong
    except (OSError, UnicodeDecodeError):
        return True


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, mode 0644 (all three are public config)."""
    write_atomically(path, text, mode=0o644, dir_mode=0o755)


def next_steps(
    root: Path = Path("/"), config_path: PurePosixPath | Path = DEFAULT_CONFIG
) -> list[str]:
    """The commands that finish an install, in order, for the files under ``root``."""
    steps: list[str] = []
    if not _under(root, PurePosixPath(config_path)).exists():
        steps.append(f"write {config_path} (see docs/install.md)")
    if not _under(root, CREDENTIAL_FILE).exists():
        steps.append(
            f"sudo install -m 600 /dev/null {CREDENTIAL_FILE}   "
            "# put the MQTT password in it, or leave it empty"
        )
    steps += [
        f"sudo systemd-sysusers {SYSUSERS_FILE}",
        "sudo systemctl daemon-reload",
        "sudo systemctl enable --now hrvd",
        "systemctl status hrvd; journalctl -u hrvd -f",
    ]
    return steps


def run_install_service(  # noqa: PLR0913 - the CLI's flags, and the root tests write under
    out: TextIO,
    *,
    dry_run: bool = False,
    force: bool = False,
    root: Path = Path("/"),
    hrvd_path: PurePosixPath | Path | None = None,
    config_path: PurePosixPath | Path = DEFAULT_CONFIG,
) -> int:
    """``hrvd install-service [--dry-run] [--force]``: write (or print) the files.

    Prints to ``out``; returns the exit code. Errors are raised as
    :class:`~hrvd.errors.UsageError` for the CLI to report.
    """
    targets = install_service(
        dry_run=dry_run, root=root, hrvd_path=hrvd_path, config_path=config_path, force=force
    )
    if dry_run:
        texts = [text for _, text in targets]
        out.writelines(f"# ==> {p} <==\n{t}\n" for p, t in zip(SERVICE_FILES, texts, strict=True))
        return EXIT_OK
    out.writelines(f"wrote {path}\n" for path in SERVICE_FILES)
    out.write("next steps:\n")
    out.writelines(f"  {step}\n" for step in next_steps(root, config_path))
    return EXIT_OK
