import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrvd.errors import InputFileError
from hrvd.rrfile import RR_RANGE_MS, parse_rr, read_rr


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
        ("812\n0\n", 2, "0 ms is not an RR interval (100-4000 ms)"),
        ("812\n-790\n", 2, "-790 ms is not an RR interval"),
        ("# header\n812\nnan\n", 3, "nan ms is not an RR interval"),
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


# --- other tools' exports -------------------------------------------------------------------


def test_a_polar_sensor_logger_export_is_read_by_its_rr_column():
    text = (
        "Phone timestamp;RR-interval [ms]\n"
        "2026-11-27T07:02:11.102;1021\n"
        "2026-11-27T07:02:12.144;1040\n"
        "2026-11-27T07:02:13.150;1006\n"
    )
    s = parse_rr(text, "Polar_H10_ABCD1234_20261127_070210_RR.txt")
    assert s.rr_ms.tolist() == [1021.0, 1040.0, 1006.0]
    assert not s.converted_from_seconds


def test_an_hrv_logger_rr_export_is_read_by_its_rr_column():
    text = "date,rr,since start\n2026-11-27 07:02:11.102,823,0\n2026-11-27 07:02:11.925,812,823\n"
    assert parse_rr(text, "2026-11-27_RR.csv").rr_ms.tolist() == [823.0, 812.0]


def test_an_elite_hrv_export_is_one_value_a_line():
    assert parse_rr("1021\n1040\n1006\n", "2026-11-27 07-02-10.txt").rr_ms.tolist() == [
        1021.0,
        1040.0,
        1006.0,
    ]


def test_a_kubios_rr_text_file_has_hash_headers_and_seconds():
    text = "# RR series, Kubios text format\n# Device: H10\n1.021\n1.040\n1.006\n"
    s = parse_rr(text, "kubios.txt")
    assert s.rr_ms == pytest.approx([1021.0, 1040.0, 1006.0])
    assert s.converted_from_seconds


def test_a_unit_in_the_header_is_obeyed_over_the_guess():
    # RR in seconds above 10 would be no heart; the header says seconds, so it is seconds.
    assert parse_rr("Time (s),RR (s)\n0.8,0.8\n1.6,0.81\n", "f").rr_ms == pytest.approx(
        [800.0, 810.0]
    )
    with pytest.raises(InputFileError, match=r"^f:2: 8 ms is not an RR interval"):
        parse_rr("RR-interval [ms]\n8\n9\n", "f")


def test_a_decimal_comma_is_read_when_the_separator_is_a_semicolon():
    assert parse_rr("time;RR (s)\n0,8;0,812\n", "f").rr_ms == pytest.approx([812.0])


# --- hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("812\n1e308\n790\n", 2, "1e+308 ms is not an RR interval"),
        ("812\nInfinity\n", 2, "inf ms is not an RR interval"),
        ("1733300000\n1733300001\n", 1, "a timestamp?"),  # epoch seconds as RR
        ("t,rr\n0,1733300000812\n", 2, "a timestamp?"),  # epoch ms in the RR column
        ("812\n5000\n", 2, "5000 ms is not an RR interval (100-4000 ms)"),
        ("812\n99\n", 2, "99 ms is not an RR interval"),
        ("0.8\n0.81\n12\n", 1, "0.8 ms is not an RR interval"),  # seconds with a 12 s value
    ],
)
def test_values_beyond_any_heart_stop_the_file_naming_the_line(text, line, words):
    with pytest.raises(InputFileError, match=f"^f:{line}: ") as err:
        parse_rr(text, "f")
    assert words in str(err.value)


def test_an_unterminated_quote_is_an_error_on_its_line_not_the_rest_of_the_file():
    with pytest.raises(InputFileError, match=r"^f:3: not valid CSV"):
        parse_rr('time,rr\n1,812\n"2,790\n3,805\n', "f")


def test_a_131_kb_field_is_refused_as_a_line_too_long():
    with pytest.raises(InputFileError, match=r"^f:2: line of 131073 characters"):
        parse_rr("time,rr\n" + "x" * 131_073 + "\n", "f")


def test_stdin_from_dev_zero_is_refused_at_once(monkeypatch):
    with open("/dev/zero", "rb") as zero:  # noqa: PTH123 - a device, not a path to handle
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(zero))
        with pytest.raises(InputFileError, match=r"^-: not a text file"):
            read_rr("-")


class _Endless(io.RawIOBase):
    """A stream of RR values without end, as a pipe from a runaway program."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        line = b"812\n" * (len(buffer) // 4)
        buffer[: len(line)] = line
        return len(line)


def test_a_stream_without_end_stops_at_the_size_limit(monkeypatch):
    monkeypatch.setattr("hrvd.rrfile.MAX_INPUT_BYTES", 1 << 20)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(_Endless())))
    with pytest.raises(InputFileError, match=r"^-: larger than 1 MiB"):
        read_rr("-")


def test_more_beats_than_the_limit_are_refused(monkeypatch):
    monkeypatch.setattr("hrvd.rrfile.MAX_BEATS", 1000)
    with pytest.raises(InputFileError, match="more than 1000"):
        parse_rr("812\n" * 1001, "f")
    with pytest.raises(InputFileError, match="more than 1000"):
        parse_rr("812\n" * 5000, "f")
    assert len(parse_rr("812\n" * 1000, "f").rr_ms) == 1000


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('0123456789.,;\t\n\r "#-eE+nairfRr_xs\ufeff\x00')))
def test_any_text_parses_or_is_one_input_file_error(text):
    try:
        series = parse_rr(text, "f")
    except InputFileError:
        return
    low, high = RR_RANGE_MS
    assert len(series.rr_ms) > 0
    assert np.all((series.rr_ms >= low) & (series.rr_ms <= high))
