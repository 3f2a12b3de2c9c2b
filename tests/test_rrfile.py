import io

import numpy as np
import pytest

from hrvd.errors import InputFileError
from hrvd.rrfile import parse_rr, read_rr


def test_plain_text_with_comments_blank_lines_and_bom():
    s = parse_rr("\ufeff# Polar H10, 2026-11-27\n\n812\n  790.5 \n# mid comment\n805\n", "f")
    assert s.rr_ms.tolist() == [812.0, 790.5, 805.0]
    assert not s.converted_from_seconds


def test_seconds_are_converted_when_every_value_is_below_ten():
    s = parse_rr("0.812\n0.790\n1.1\n", "f")
    assert s.converted_from_seconds
    assert s.rr_ms == pytest.approx([812.0, 790.0, 1100.0])


@pytest.mark.parametrize("header", ["rr", "RR", "rr_ms", "RRI", "ibi", "NNI"])
def test_csv_header_names_the_rr_column(header):
    s = parse_rr(f"time,{header},hr\n0.8,812,74\n1.6,790,76\n", "f")
    assert s.rr_ms.tolist() == [812.0, 790.0]


def test_semicolon_and_tab_separated_tables():
    assert parse_rr("hr;RR\n74;812\n", "f").rr_ms.tolist() == [812.0]
    assert parse_rr("hr\trr\n74\t812\n", "f").rr_ms.tolist() == [812.0]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("812\nabc\n790\n", 2, "'abc' is not a number"),
        ("812\n0\n", 2, "'0' is not a positive RR interval"),
        ("812\n-790\n", 2, "not a positive"),
        ("# header\n812\nnan\n", 3, "not a positive"),
        ("rr,hr\n812,70\n,71\n", 3, "'' is not a number"),
        ("hr,rr\n70,812\n71\n", 3, "no value in column 'rr'"),
    ],
)
def test_a_bad_value_names_the_line(text, line, what):
    with pytest.raises(InputFileError, match=f"^f:{line}: ") as err:
        parse_rr(text, "f")
    assert what in str(err.value)


def test_a_table_without_an_rr_column_is_refused_with_the_expected_names():
    with pytest.raises(InputFileError, match=r"no RR column.*expected one of rr, rr_ms"):
        parse_rr("time,hr\n1,70\n", "f")


def test_empty_input_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(InputFileError, match="holds no RR values"):
        parse_rr("# nothing\n\n", "f")
    with pytest.raises(InputFileError, match="no such file"):
        read_rr(str(tmp_path / "missing.txt"))
    with pytest.raises(InputFileError, match="is a directory"):
        read_rr(str(tmp_path))
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(InputFileError, match="not a text file"):
        read_rr(str(binary))


def test_stdin_is_read_for_a_dash(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"800\n810\n")))
    assert np.array_equal(read_rr("-").rr_ms, [800.0, 810.0])


def test_a_gap_column_marks_the_beats_after_a_drop():
    series = parse_rr("time,rr_ms,gap\nt,1000,1\nt,990,0\nt,1010,1\nt,1000,0\n", "ride.csv")
    assert series.rr_ms.tolist() == [1000, 990, 1010, 1000]
    assert series.gaps is not None
    assert series.gaps.tolist() == [True, False, True, False]
    assert parse_rr("rr_ms\n1000\n990\n", "plain.csv").gaps is None


def test_a_gap_that_is_not_0_or_1_names_its_line():
    with pytest.raises(InputFileError, match=r"ride.csv:3: gap 'yes' is not 0 or 1"):
        parse_rr("rr_ms,gap\n1000,0\n990,yes\n", "ride.csv")
