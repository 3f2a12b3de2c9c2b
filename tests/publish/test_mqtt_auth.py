"""MQTT credentials and TLS: a password from a file or systemd, never logged; a verified broker."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from harness.mosquitto import make_tls
from hrvd.config import MqttConfig
from hrvd.errors import ConfigError
from hrvd.publish.mqtt import MqttPublisher
from hrvd.publish.mqtt_auth import password_file_warning, resolve_password, tls_context
from support.broker_clients import WAIT_S, cfg, subscriber

if TYPE_CHECKING:
    from harness.mosquitto import Broker


async def test_username_and_password_from_a_file(auth_broker: Broker, outbox, tmp_path):
    secret = tmp_path / "mqtt-password"
    secret.write_text("s3cret-Pa55\n")
    config = cfg(auth_broker, username="hrvd", password_file=secret)
    password = await asyncio.to_thread(resolve_password, config)
    async with MqttPublisher(config, outbox, password=password) as pub:
        await asyncio.wait_for(pub.connected.wait(), WAIT_S)


async def test_a_wrong_password_is_refused_and_never_logged(auth_broker: Broker, outbox):
    config = cfg(auth_broker, username="hrvd")
    with capture_logs() as logs:
        async with MqttPublisher(config, outbox, password="wrong-Pa55word") as pub:  # noqa: S106
            await asyncio.sleep(1.5)
            assert not pub.connected.is_set()
    assert any(e["event"] == "broker unreachable" for e in logs)
    assert "wrong-Pa55word" not in repr(logs)


async def test_tls_with_a_ca_made_for_the_test(tls_broker: Broker, outbox):
    assert tls_broker.tls is not None
    config = cfg(tls_broker, tls_ca_file=tls_broker.tls.ca)
    async with MqttPublisher(config, outbox) as pub:
        await asyncio.wait_for(pub.connected.wait(), WAIT_S)
        async with subscriber(tls_broker, "hrvd/readiness", tls_context=tls_context(config)) as sub:
            await pub.send_durable("hrvd/readiness", {"id": "tls"})
            await sub.until(lambda: sub.on("hrvd/readiness") != [])


# paho leaves the socket of a failed TLS handshake to the garbage collector, which closes
# it (with this warning) a moment later: unclean, but no descriptor is lost.
@pytest.mark.filterwarnings("ignore:unclosed <ssl.SSLSocket:ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_tls_refuses_a_broker_it_cannot_verify(tls_broker: Broker, outbox, tmp_path):
    config = cfg(tls_broker, tls_ca_file=make_tls(tmp_path / "other").ca)
    with capture_logs() as logs:
        async with MqttPublisher(config, outbox) as pub:
            await asyncio.sleep(1.5)
            assert not pub.connected.is_set()
    assert any("CERTIFICATE_VERIFY_FAILED" in str(e.get("reason")) for e in logs)


def test_password_comes_from_systemd_credentials_or_the_environment(tmp_path, monkeypatch):
    (tmp_path / "mqtt").write_text("from-credentials\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    config = MqttConfig(password_file=Path("$CREDENTIALS_DIRECTORY/mqtt"))
    assert resolve_password(config) == "from-credentials"
    monkeypatch.setenv("HRVD_MQTT_PASSWORD", "from-env")
    assert resolve_password(MqttConfig()) == "from-env"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(ConfigError, match="CREDENTIALS_DIRECTORY, which is not set"):
        resolve_password(config)


def test_an_unreadable_password_file_names_the_file_not_the_secret(tmp_path):
    config = MqttConfig(password_file=tmp_path / "absent")
    with pytest.raises(ConfigError, match="absent: No such file"):
        resolve_password(config)


def test_an_empty_password_file_means_no_password(tmp_path):
    # The service's credential placeholder when the broker takes no password.
    (tmp_path / "pw").write_text("")
    assert resolve_password(MqttConfig(password_file=tmp_path / "pw")) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfeHunter2", "is not UTF-8 text"),
        (b"Hunter2\nsecond line\n", "holds more than one line or a NUL"),
        (b"Hunter2\0", "holds more than one line or a NUL"),
        (b"Hunter2" * 10_000, "holds more than 65535 bytes"),
    ],
)
def test_an_odd_password_file_is_one_error_without_the_password(tmp_path, content, message):
    secret = tmp_path / "pw"
    secret.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as err:
        resolve_password(MqttConfig(password_file=secret))
    assert "Hunter2" not in str(err.value)
    assert str(secret) in str(err.value)


def test_a_device_or_pipe_as_password_file_is_refused_without_reading_it(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (Path("/dev/zero"), fifo):
        with pytest.raises(ConfigError, match=f"{path}: is not a regular file"):
            resolve_password(MqttConfig(password_file=path))


def test_a_password_typed_in_as_password_file_is_never_echoed():
    with pytest.raises(ConfigError) as err:
        resolve_password(MqttConfig(password_file=Path("Hunter2-s3cret")), Path("hrvd.toml"))
    assert "Hunter2" not in str(err.value)
    assert "mqtt.password_file: (value not shown): is not an absolute path" in str(err.value)


def test_a_world_readable_password_file_is_warned_about(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("Hunter2\n")
    secret.chmod(0o600)
    assert password_file_warning(MqttConfig(password_file=secret)) is None
    secret.chmod(0o644)
    warning = password_file_warning(MqttConfig(password_file=secret))
    assert (
        warning == f"the password file {secret} can be read by every user (mode 0644): "
        f"chmod o-r {secret}"
    )
