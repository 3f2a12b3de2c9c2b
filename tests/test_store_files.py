"""The store's files: private modes, one daemon at a time, a damaged file, other readers."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hrvd.cli import main
from hrvd.store import StoreError, open_store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_and_its_own_folder_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "data" / "hrvd" / "s.sqlite3"
        store = open_store(path)
        store.write_beats([])
        assert _mode(path.parent) == 0o700
        assert _mode(path) == 0o600
        assert _mode(Path(f"{path}-wal")) == 0o600  # SQLite gives it the store's mode
        store.close()
        shared = tmp_path / "state"  # the service's StateDirectoryMode=0750
        shared.mkdir(mode=0o750)
        shared.chmod(0o750)
        open_store(shared / "s.sqlite3").close()
        assert _mode(shared / "s.sqlite3") == 0o640  # group hrvd reads the history
    finally:
        os.umask(old)


def test_a_second_daemon_on_the_same_store_is_refused_with_its_pid(tmp_path):
    path = tmp_path / "s.sqlite3"
    first = open_store(path, exclusive=True)
    with pytest.raises(StoreError) as err:
        open_store(path, exclusive=True)
    assert str(err.value) == (
        f"another hrvd daemon (pid {os.getpid()}) already uses the store {path}: stop it "
        "first (systemctl stop hrvd), or give this one another [store] path"
    )
    assert err.value.exit_code == 2
    open_store(path, readonly=True).close()  # readers are never locked out
    first.close()
    open_store(path, exclusive=True).close()  # given back at close


@pytest.mark.usefixtures("restore_logging")
def test_run_refuses_a_second_daemon_and_a_damaged_store_with_exit_2(tmp_path, capsys):
    path = tmp_path / "s.sqlite3"
    config = tmp_path / "hrvd.toml"
    config.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = 1\n[athlete]\nhr_max = 190\n[store]\npath = "{path}"\n'
    )
    first = open_store(path, exclusive=True)
    assert main(["run", "--config", str(config)]) == 2
    assert "another hrvd daemon" in capsys.readouterr().err
    first.close()
    path.write_bytes(b"not sqlite" * 500)
    Path(f"{path}-wal").unlink(missing_ok=True)
    Path(f"{path}-shm").unlink(missing_ok=True)
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"the store {path} is damaged or not an hrvd store" in err
    assert err.count("\n") == 1


def test_history_reads_a_stopped_daemons_store_from_a_folder_it_cannot_write():
    """docs/install.md: group hrvd reads /var/lib/hrvd (0750) while the daemon is stopped."""
    folder = Path(tempfile.mkdtemp())  # not under pytest's 0700 tmp: another user reads it
    try:
        path = folder / "s.sqlite3"
        config = folder / "hrvd.toml"
        config.write_text(f'[store]\npath = "{path}"\n')
        store = open_store(path)  # the daemon's last close removes the -wal and -shm files
        store.close()
        assert not Path(f"{path}-wal").exists()
        folder.chmod(0o755)
        path.chmod(0o644)
        config.chmod(0o644)
        as_other = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        if os.geteuid() != 0:  # not root: the folder itself must refuse us
            folder.chmod(0o555)
            as_other = []
        done = subprocess.run(
            [
                *as_other,
                *(sys.executable, "-m", "hrvd.cli", "history", "--config", str(config)),
                *("--format", "table"),  # into a pipe: CSV, a header alone
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, "")
        assert "no morning measurement yet" in done.stdout
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
