"""``hrvd install-service``: golden renders and the writer (the real tools: test_install_tools).

Golden files live in tests/golden/. After an intended change, regenerate them (and the
copies under systemd/) with ``HRVD_UPDATE_GOLDEN=1 .venv/bin/pytest tests/setup/test_install.py``
and review the diff.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path, PurePosixPath

import pytest

from hrvd.errors import UsageError
from hrvd.setup.install_service import (
    DBUS_POLICY_FILE,
    SYSUSERS_FILE,
    UNIT_FILE,
    install_service,
    installed_hrvd,
    next_steps,
    render_dbus_policy,
    render_sysusers,
    render_unit,
    run_install_service,
)

REPO = Path(__file__).parents[2]
GOLDEN = Path(__file__).parents[1] / "golden"
UPDATE = os.environ.get("HRVD_UPDATE_GOLDEN") == "1"


CUSTOM_HRVD = PurePosixPath("/srv/hrvd 2%/venv/bin/hrvd")
"""A path the unit must quote: a space, and a % that systemd would take for a specifier."""
CUSTOM_CONFIG = PurePosixPath("/etc/hrvd/pi$1.toml")


def check_golden(name: str, text: str, *copies: Path) -> None:
    golden = GOLDEN / name
    if UPDATE:
        for path in (golden, *copies):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == text, (
        f"{name} changed: review, then HRVD_UPDATE_GOLDEN=1 to accept"
    )
    for copy in copies:
        assert copy.read_text(encoding="utf-8") == text, f"{copy} is not the render of {name}"


# -- renders ---------------------------------------------------------------------------------


def test_the_unit_matches_its_golden_file_and_the_repository_copy():
    check_golden("hrvd.service", render_unit(), REPO / "systemd" / "hrvd.service")


def test_the_sysusers_file_matches_its_golden_file_and_the_repository_copy():
    check_golden("hrvd.sysusers.conf", render_sysusers(), REPO / "systemd" / "hrvd.sysusers.conf")


def test_the_dbus_policy_matches_its_golden_file_and_the_repository_copy():
    check_golden("hrvd-dbus.conf", render_dbus_policy(), REPO / "systemd" / "hrvd-dbus.conf")


def test_dry_run_prints_every_file_with_the_paths_of_this_install(tmp_path: Path):
    out = io.StringIO()
    code = run_install_service(
        out, dry_run=True, root=tmp_path, hrvd_path=CUSTOM_HRVD, config_path=CUSTOM_CONFIG
    )
    assert code == 0
    check_golden("install-service-dry-run.txt", out.getvalue())
    assert list(tmp_path.iterdir()) == []


def test_the_unit_runs_the_installed_hrvd_with_its_config():
    unit = render_unit(PurePosixPath("/opt/x/bin/hrvd"), PurePosixPath("/etc/x.toml"))
    assert "\nExecStart=/opt/x/bin/hrvd run --config /etc/x.toml\n" in unit


def test_unit_quotes_a_path_with_spaces_and_escapes_specifiers_and_variables():
    unit = render_unit(CUSTOM_HRVD, CUSTOM_CONFIG)
    assert '\nExecStart="/srv/hrvd 2%%/venv/bin/hrvd" run --config "/etc/hrvd/pi$$1.toml"\n' in unit


@pytest.mark.parametrize(
    "hrvd_path",
    ["/home/pi/hrvd/.venv/bin/hrvd", "/root/.local/bin/hrvd", "/run/user/1000/hrvd"],
)
def test_a_command_the_sandbox_hides_is_refused(hrvd_path: str):
    with pytest.raises(UsageError, match="ProtectHome=yes"):
        render_unit(PurePosixPath(hrvd_path))


def test_relative_paths_and_control_characters_are_refused():
    with pytest.raises(UsageError, match="absolute"):
        render_unit(PurePosixPath("venv/bin/hrvd"))
    with pytest.raises(UsageError, match="control characters"):
        render_unit(PurePosixPath("/opt/hrvd\n/bin/hrvd"))


def test_the_installed_hrvd_is_the_command_beside_this_python(monkeypatch, tmp_path: Path):
    assert installed_hrvd() == Path(sys.executable).absolute().with_name("hrvd")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(UsageError, match="no hrvd command"):
        installed_hrvd()


# -- the writer ------------------------------------------------------------------------------


def installed(root: Path) -> dict[PurePosixPath, str]:
    return {
        path: (root / path.relative_to("/")).read_text(encoding="utf-8")
        for path in (UNIT_FILE, SYSUSERS_FILE, DBUS_POLICY_FILE)
        if (root / path.relative_to("/")).exists()
    }


def test_install_writes_the_three_files_under_root(tmp_path: Path):
    written = install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    assert installed(tmp_path) == {
        UNIT_FILE: render_unit(CUSTOM_HRVD),
        SYSUSERS_FILE: render_sysusers(),
        DBUS_POLICY_FILE: render_dbus_policy(),
    }
    assert [path for path, _ in written] == [
        tmp_path / "etc/systemd/system/hrvd.service",
        tmp_path / "etc/sysusers.d/hrvd.conf",
        tmp_path / "etc/dbus-1/system.d/hrvd.conf",
    ]
    for path, _ in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in (tmp_path / "etc/systemd/system").iterdir()) == ["hrvd.service"]


def test_installing_the_same_files_again_is_fine(tmp_path: Path):
    install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    assert installed(tmp_path)[UNIT_FILE] == render_unit(CUSTOM_HRVD)


def test_a_different_file_is_not_replaced_and_nothing_is_written(tmp_path: Path):
    policy = tmp_path / DBUS_POLICY_FILE.relative_to("/")
    policy.parent.mkdir(parents=True)
    policy.write_text("<busconfig/>\n")
    with pytest.raises(UsageError, match=r"hrvd\.conf already exists.*--force") as caught:
        install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    assert str(policy) in str(caught.value)
    assert installed(tmp_path) == {DBUS_POLICY_FILE: "<busconfig/>\n"}


def test_force_replaces_a_different_file(tmp_path: Path):
    install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    install_service(
        dry_run=False, root=tmp_path, hrvd_path=PurePosixPath("/opt/hrvd/venv/bin/hrvd"), force=True
    )
    assert installed(tmp_path)[UNIT_FILE] == render_unit()


def test_dry_run_writes_nothing_even_over_a_different_file(tmp_path: Path):
    unit = tmp_path / UNIT_FILE.relative_to("/")
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\n")
    files = install_service(dry_run=True, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    assert files[0][1] == render_unit(CUSTOM_HRVD)
    assert installed(tmp_path) == {UNIT_FILE: "[Service]\n"}


def test_a_file_that_cannot_be_written_is_a_usage_error(tmp_path: Path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/systemd").write_text("not a directory")
    with pytest.raises(UsageError, match="cannot write"):
        install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)


def test_install_prints_what_it_wrote_and_the_next_steps(tmp_path: Path):
    out = io.StringIO()
    assert run_install_service(out, root=tmp_path, hrvd_path=CUSTOM_HRVD) == 0
    lines = out.getvalue().splitlines()
    assert lines[:4] == [
        "wrote /etc/systemd/system/hrvd.service",
        "wrote /etc/sysusers.d/hrvd.conf",
        "wrote /etc/dbus-1/system.d/hrvd.conf",
        "next steps:",
    ]
    steps = "\n".join(lines[4:])
    assert "/etc/hrvd/hrvd.toml" in steps
    assert "install -m 600 /dev/null /etc/hrvd/mqtt-password" in steps
    order = ["systemd-sysusers", "daemon-reload", "enable --now hrvd", "journalctl -u hrvd"]
    assert [steps.index(word) for word in order] == sorted(steps.index(word) for word in order)


def test_next_steps_skip_the_config_and_credential_once_they_exist(tmp_path: Path):
    (tmp_path / "etc/hrvd").mkdir(parents=True)
    (tmp_path / "etc/hrvd/hrvd.toml").write_text("")
    (tmp_path / "etc/hrvd/mqtt-password").write_text("")
    assert next_steps(tmp_path)[0] == "sudo systemd-sysusers /etc/sysusers.d/hrvd.conf"
