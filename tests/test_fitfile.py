"""FIT files with HRV messages, as Garmin and Wahoo units record them, made here with the SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from garmin_fit_sdk import Encoder, Profile

from hrvd.cli import main
from hrvd.errors import InputFileError
from hrvd.rrfile import read_rr

if TYPE_CHECKING:
    from pathlib import Path

MESG = Profile["mesg_num"]
FIT_INVALID_S = 65.535
"""0xFFFF / 1000: how a device pads an HRV message's unused places."""
T0 = 1_101_000_000  # s since the FIT epoch (1989-12-31): late 2024


def _fit(*messages: dict[str, object]) -> bytes:
    encoder = Encoder()
    encoder.write_mesg(
        {
            "mesg_num": MESG["FILE_ID"],
            "type": "activity",
            "manufacturer": "development",
            "product": 1,
            "serial_number": 1,
            "time_created": T0,
        }
    )
    for message in messages:
        encoder.write_mesg(message)
    return bytes(encoder.close())


def _hrv(times_s: list[float]) -> list[dict[str, object]]:
    """HRV messages of five times each, the last padded as devices pad it."""
    chunks = [times_s[i : i + 5] for i in range(0, len(times_s), 5)]
    return [
        {"mesg_num": MESG["HRV"], "time": chunk + [FIT_INVALID_S] * (5 - len(chunk))}
        for chunk in chunks
    ]


def test_hrv_messages_of_an_activity_become_rr_intervals_in_ms(tmp_path: Path):
    rr_s = [0.812, 0.79, 0.805, 0.821, 0.799, 0.801, 0.83]
    records = [
        {"mesg_num": MESG["RECORD"], "timestamp": T0 + i, "heart_rate": 74} for i in range(3)
    ]
    path = tmp_path / "ride.fit"
    path.write_bytes(_fit(*records, *_hrv(rr_s)))
    series = read_rr(str(path))
    assert series.rr_ms.tolist() == [812.0, 790.0, 805.0, 821.0, 799.0, 801.0, 830.0]
    assert not series.converted_from_seconds


def test_beat_interval_messages_are_read_when_there_are_no_hrv_messages(tmp_path: Path):
    path = tmp_path / "watch.fit"
    path.write_bytes(
        _fit(
            {
                "mesg_num": MESG["BEAT_INTERVALS"],
                "timestamp": T0,
                "timestamp_ms": 0,
                "time": [1021, 1040, 1006],
            }
        )
    )
    assert read_rr(str(path)).rr_ms.tolist() == [1021.0, 1040.0, 1006.0]


def test_a_fit_file_without_hrv_says_how_to_record_it(tmp_path: Path):
    path = tmp_path / "no-hrv.fit"
    path.write_bytes(_fit({"mesg_num": MESG["RECORD"], "timestamp": T0, "heart_rate": 74}))
    with pytest.raises(InputFileError, match=r"no-hrv.fit: holds no beat-to-beat .* Log HRV"):
        read_rr(str(path))


def test_a_truncated_fit_file_is_one_clear_error(tmp_path: Path):
    path = tmp_path / "cut.fit"
    path.write_bytes(_fit(*_hrv([0.8] * 50))[:60])
    with pytest.raises(InputFileError, match=r"cut.fit: not a valid FIT file"):
        read_rr(str(path))


def test_a_fit_value_beyond_any_heart_names_the_beat(tmp_path: Path):
    path = tmp_path / "odd.fit"
    path.write_bytes(_fit(*_hrv([0.8, 0.81, 9.5])))
    with pytest.raises(InputFileError, match=r"odd.fit: beat 3: 9500 ms is not an RR interval"):
        read_rr(str(path))


def test_analyze_reads_a_fit_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    rng = np.random.default_rng(3)
    rr_s = np.round(0.8 + 0.05 * rng.standard_normal(300), 3).tolist()
    path = tmp_path / "morning.fit"
    path.write_bytes(_fit(*_hrv(rr_s)))
    assert main(["analyze", str(path), "--format", "json"]) == 0
    assert '"n_beats":300' in capsys.readouterr().out
