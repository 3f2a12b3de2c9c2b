"""`hrvd init` and the MQTT password: a 0600 file beside the config, or the service's credential."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from hrvd.config import StoreConfig, load_config
from hrvd.errors import UsageError
from hrvd.publish.mqtt_auth import CREDENTIALS_PREFIX, resolve_password
from hrvd.setup.init_files import PASSWORD_NAME, SERVICE_PASSWORD_FILE
from hrvd.setup.install_service import CREDENTIAL_FILE, DEFAULT_CONFIG, render_unit
from support.init_answers import ADDRESS, FLAGS, Typist, init

pytestmark = pytest.mark.usefixtures("private_homes")


def test_a_typed_password_goes_to_a_0600_file_beside_the_config_and_not_into_it(tmp_path):
    f = tmp_path / "cfg" / "hrvd.toml"
    typist = Typist("h10", "both", "185", "", "", "", "localhost:1883", "hrvd")
    secrets = Typist("s3cret-Pa55")
    out = io.StringIO()
    assert init(["--strap", ADDRESS, "--output", str(f)], out, ask=typist, ask_secret=secrets) == 0
    assert "MQTT password for hrvd" in secrets.prompts[0]
    password_file = f.parent / PASSWORD_NAME
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password_file.read_text() == "s3cret-Pa55\n"
    assert "s3cret" not in f.read_text()
    assert "s3cret" not in out.getvalue()
    config = load_config(f)
    assert config.mqtt.password_file == password_file
    assert resolve_password(config.mqtt, f) == "s3cret-Pa55"


def test_a_password_file_flag_is_named_in_the_config_not_copied(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("pw\n")
    f = tmp_path / "hrvd.toml"
    argv = ["--yes", *FLAGS, "--output", str(f), "--username", "u", "--password-file", str(secret)]
    assert init(argv) == 0
    assert load_config(f).mqtt.password_file == secret
    assert not (tmp_path / PASSWORD_NAME).exists()
    with pytest.raises(UsageError, match=r"--password-file .*nope: No such file"):
        init([*argv[:-1], str(tmp_path / "nope"), "--force"])
    with pytest.raises(UsageError, match="--password-file needs --username"):
        init(["--yes", *FLAGS, "--output", str(f), "--force", "--password-file", str(secret)])


def test_for_the_service_the_password_is_the_systemd_credential(tmp_path, monkeypatch):
    etc = tmp_path / "etc" / "hrvd"
    secret = tmp_path / "secret"
    secret.write_text("pw\n")
    out = io.StringIO()
    argv = [
        "--yes",
        *FLAGS,
        "--output",
        str(etc / "hrvd.toml"),
        "--username",
        "hrvd",
        "--password-file",
        str(secret),
    ]
    assert init(argv, out, service=True) == 0
    config = load_config(etc / "hrvd.toml")
    assert str(config.mqtt.password_file) == SERVICE_PASSWORD_FILE
    assert config.store.path == StoreConfig().path  # /var/lib/hrvd: the service's StateDirectory
    credential = etc / PASSWORD_NAME
    assert stat.S_IMODE(credential.stat().st_mode) == 0o600
    assert stat.S_IMODE(etc.stat().st_mode) == 0o755  # the service's user reads the config
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(etc))
    assert resolve_password(config.mqtt) == "pw"
    assert "install-service" in out.getvalue()


def test_for_the_service_without_a_password_an_empty_credential_is_made_but_never_emptied(
    tmp_path,
):
    etc = tmp_path / "etc" / "hrvd"
    assert init(["--yes", *FLAGS, "--output", str(etc / "hrvd.toml")], service=True) == 0
    credential = etc / PASSWORD_NAME
    assert credential.read_text() == ""  # LoadCredential= needs the file to start the unit
    assert stat.S_IMODE(credential.stat().st_mode) == 0o600
    assert load_config(etc / "hrvd.toml").mqtt.password_file is None
    credential.write_text("kept\n")
    assert init(["--yes", *FLAGS, "--output", str(etc / "hrvd.toml"), "--force"], service=True) == 0
    assert credential.read_text() == "kept\n"


def test_for_the_service_a_user_without_a_password_yet_is_given_the_empty_credential(
    tmp_path, monkeypatch
):
    etc = tmp_path / "etc" / "hrvd"
    argv = ["--yes", *FLAGS, "--output", str(etc / "hrvd.toml"), "--username", "hrvd"]
    out = io.StringIO()
    assert init(argv, out, service=True) == 0
    assert f"sudoedit {etc / PASSWORD_NAME}" in out.getvalue()
    config = load_config(etc / "hrvd.toml")
    assert str(config.mqtt.password_file) == SERVICE_PASSWORD_FILE
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(etc))
    assert resolve_password(config.mqtt) is None  # until the password is put in the file
    (etc / PASSWORD_NAME).write_text("later\n")
    assert resolve_password(config.mqtt) == "later"


def test_the_service_credential_is_the_file_the_unit_loads():
    assert Path(DEFAULT_CONFIG).parent / PASSWORD_NAME == Path(CREDENTIAL_FILE)
    assert f"LoadCredential={PASSWORD_NAME}:{CREDENTIAL_FILE}" in render_unit()
    assert SERVICE_PASSWORD_FILE.startswith(CREDENTIALS_PREFIX)


def test_a_password_file_left_beside_is_not_replaced_without_force(tmp_path):
    f = tmp_path / "hrvd.toml"
    (tmp_path / PASSWORD_NAME).write_text("the-old-one\n")
    argv = ["--strap", ADDRESS, "--output", str(f)]

    def answers() -> Typist:
        return Typist("h10", "both", "185", "", "", "", "localhost:1883", "hrvd")

    with pytest.raises(UsageError, match=rf"{PASSWORD_NAME} already holds a password: use --force"):
        init(argv, io.StringIO(), ask=answers(), ask_secret=Typist("new-one"))
    assert (tmp_path / PASSWORD_NAME).read_text() == "the-old-one\n"
    assert not f.exists()
    assert init([*argv, "--force"], io.StringIO(), ask=answers(), ask_secret=Typist("new-one")) == 0
    assert (tmp_path / PASSWORD_NAME).read_text() == "new-one\n"
