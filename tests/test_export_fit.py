"""`hrvd export ride ID --format fit`: a FIT activity that a FIT reader reads back whole."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from garmin_fit_sdk import Decoder, Stream

from hrvd.cli import main
from hrvd.store import StoredBeat, open_store
from recordings import load_rr

START = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
RIDE_ID = "H10@2026-11-27T17:00:00+00:00"


@pytest.fixture
def ride(tmp_path):
    """A stored ride: the first 900 beats of a real exercise recording, as a strap sends them."""
    raw = [round(rr * 1024 / 1000) for rr in load_rr("exercise_rri")[:900]]
    t, beats = int(START.timestamp() * 1000), []
    for i, r in enumerate(raw):
        t += round(r * 1000 / 1024)
        beats.append(StoredBeat("H10", t, r, gap=i == 0))
    end = datetime.fromtimestamp(t / 1000 + 1, tz=UTC).replace(microsecond=0)
    store = open_store(tmp_path / "s.sqlite3")
    try:
        store.write_beats(beats)
        asyncio.run(
            store.add_ride(
                {
                    "id": RIDE_ID,
                    "strap": "H10",
                    "started": START.isoformat(),
                    "ended": end.isoformat(),
                    "alerts": 0,
                }
            )
        )
    finally:
        store.close()
    config = tmp_path / "hrvd.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "s.sqlite3"}"\n')
    return config, beats


def test_a_ride_round_trips_through_a_fit_reader(tmp_path, ride, capsys):
    config, beats = ride
    out = tmp_path / "ride.fit"
    args = [
        "export",
        "ride",
        "H10@2026-11-27",
        "--format",
        "fit",
        "-o",
        str(out),
        "--config",
        str(config),
    ]
    assert main(args) == 0
    assert "wrote 900 beat(s) as FIT" in capsys.readouterr().out
    decoder = Decoder(Stream.from_byte_array(bytearray(out.read_bytes())))
    assert decoder.is_fit()
    assert decoder.check_integrity()  # header and CRC
    messages, errors = Decoder(Stream.from_byte_array(bytearray(out.read_bytes()))).read()
    assert errors == []
    assert messages["file_id_mesgs"][0]["type"] == "activity"
    session = messages["session_mesgs"][0]
    assert session["sport"] == "cycling"
    assert session["start_time"] == START
    rr_back = [t for m in messages["hrv_mesgs"] for t in m["time"]]
    assert rr_back == pytest.approx([b.rr_ms / 1000 for b in beats], abs=0.0005)  # 1 ms steps
    records = messages["record_mesgs"]
    assert len(records) == len({b.t_ms // 1000 for b in beats})
    first_second = [b.rr_ms for b in beats if b.t_ms // 1000 == beats[0].t_ms // 1000]
    assert records[0]["heart_rate"] == round(60000 * len(first_second) / sum(first_second))
    hrs = [r["heart_rate"] for r in records]
    assert session["max_heart_rate"] == max(hrs)
    assert 60 < session["avg_heart_rate"] < 120  # the recording's own range


def test_fit_needs_a_file_and_is_for_rides_only(ride, capsys):
    config, _ = ride
    assert main(["export", "ride", "H10", "--format", "fit", "--config", str(config)]) == 2
    assert "name it with --output" in capsys.readouterr().err
    args = ["export", "history", "--format", "fit", "--config", str(config)]
    with pytest.raises(SystemExit) as done:  # only a ride has --format
        main(args)
    assert done.value.code == 2
    assert "unrecognized arguments: --format fit" in capsys.readouterr().err


def test_hrvd_analyze_reads_the_exported_fit_as_the_stored_beats(tmp_path, ride, capsys):
    config, beats = ride
    out = tmp_path / "ride.fit"
    args = ["export", "ride", "H10", "--format", "fit", "-o", str(out), "--config", str(config)]
    assert main(args) == 0
    exported_csv = tmp_path / "ride.csv"
    args = ["export", "ride", "H10", "-o", str(exported_csv), "--config", str(config)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["analyze", str(out), "--format", "json"]) == 0
    from_fit = json.loads(capsys.readouterr().out)
    assert main(["analyze", str(exported_csv), "--format", "json"]) == 0
    from_csv = json.loads(capsys.readouterr().out)
    assert from_fit["n_beats"] == from_csv["n_beats"] == len(beats)
    # FIT's hrv time holds 1 ms steps, the store 1/1024 s: within a millisecond, no more.
    for key in ("rmssd_ms", "sdnn_ms"):
        assert from_fit[key] == pytest.approx(from_csv[key], abs=1.0), key
    assert from_fit["mean_hr_bpm"] == pytest.approx(from_csv["mean_hr_bpm"], abs=0.1)
    assert from_fit["dfa_alpha1"] == pytest.approx(from_csv["dfa_alpha1"], abs=0.02)


def test_a_fit_export_never_follows_a_planted_partial_symlink_and_is_private(tmp_path, ride):
    config, _beats = ride
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / ".ride.fit.partial").symlink_to(victim)  # the name an earlier version used
    out = tmp_path / "ride.fit"
    args = [
        "export",
        "ride",
        "H10@2026-11-27",
        "--format",
        "fit",
        "-o",
        str(out),
        "--config",
        str(config),
    ]
    assert main(args) == 0
    assert victim.read_text() == "precious\n"
    assert not out.is_symlink()
    assert out.stat().st_mode & 0o777 == 0o600  # health data
    assert [p.name for p in tmp_path.glob(".ride.fit*")] == [".ride.fit.partial"]  # no leftover
