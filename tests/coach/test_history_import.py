import math
from datetime import date, timedelta

import pytest

from hrvd.coach.baseline import Morning, Posture, Quality
from hrvd.coach.history_import import merge_history, parse_history
from hrvd.coach.readiness import assess_all
from hrvd.errors import InputFileError, UsageError
from hrvd.tables import normalise_header

SRC = "export.csv"


def parse(text, posture=Posture.LYING):
    return parse_history(text, SRC, posture)


def error(text):
    with pytest.raises(InputFileError) as info:
        parse(text)
    return info.value


@pytest.mark.parametrize(
    ("header", "value", "ln_expected"),
    [
        ("date,rmssd", "55", math.log(55)),
        ("Date,RMSSD", "55", math.log(55)),
        ("date,rmssd_ms", "55", math.log(55)),
        ("Date,RMSSD (ms)", "55", math.log(55)),
        ("date,rMSSD", "55", math.log(55)),
        ("day,ln_rmssd", "4.0", 4.0),
        ("DAY,lnRMSSD", "4.0", 4.0),
        ("datum,ln(rMSSD)", "4.0", 4.0),
        ("Date Time Start,LN RMSSD", "4.0", 4.0),
    ],
)
def test_header_names_are_matched_case_insensitively_with_usual_spellings(
    header, value, ln_expected
):
    [m] = parse(f"{header}\n2025-03-01,{value}\n").mornings
    assert m.day == date(2025, 3, 1)
    assert m.ln_rmssd == pytest.approx(ln_expected)
    assert m.resting_hr_bpm is None
    assert m.quality is None


@pytest.mark.parametrize("name", ["resting_hr", "RHR", "hr", "HR (bpm)", "Resting HR"])
def test_resting_heart_rate_columns(name):
    [m] = parse(f"date,rmssd,{name}\n2025-03-01,55,48\n").mornings
    assert m.resting_hr_bpm == 48.0


def test_resting_hr_is_preferred_over_a_plain_hr_column():
    [m] = parse("date,hr,rmssd,resting_hr\n2025-03-01,62,55,48\n").mornings
    assert m.resting_hr_bpm == 48.0


def test_rmssd_wins_over_lnrmssd_and_lnrmssd_fills_in_where_rmssd_is_empty():
    text = "date,rmssd,ln_rmssd\n2025-03-01,55,9.9\n2025-03-02,,4.1\n"
    first, second = parse(text).mornings
    assert first.ln_rmssd == pytest.approx(math.log(55))
    assert second.ln_rmssd == 4.1


@pytest.mark.parametrize(
    "text",
    [
        "date;rmssd;rhr\n2025-03-01;55,5;48\n",
        "date\trmssd\trhr\n2025-03-01\t55.5\t48\n",
        '"date","rmssd","rhr"\n"2025-03-01","55.5","48"\n',
        "sep=;\ndate;rmssd;rhr\n2025-03-01;55.5;48\n",
        "\ufeff# exported by an app\n\ndate,rmssd,rhr\n2025-03-01,55.5,48\n",
    ],
    ids=["semicolon-decimal-comma", "tab", "quoted", "excel-sep-line", "bom-comment-blank"],
)
def test_separators_quotes_and_decimal_commas(text):
    [m] = parse(text).mornings
    assert m.rmssd_ms == pytest.approx(55.5)
    assert m.resting_hr_bpm == 48.0


@pytest.mark.parametrize(
    "written",
    [
        "2025-03-30",
        "2025-03-30T06:31:00+02:00",
        "2025-03-30 06:31",
        "2025/03/30",
        "30-03-2025",
        "30.03.2025",
        "30/03/2025",
        "2025-3-30",
    ],
)
def test_date_formats(written):
    [m] = parse(f"date,rmssd\n{written},55\n").mornings
    assert m.day == date(2025, 3, 30)


def test_slash_dates_take_their_order_from_a_day_above_12():
    european = parse("date,rmssd\n03/04/2025,50\n13/04/2025,51\n").mornings
    assert [m.day for m in european] == [date(2025, 4, 3), date(2025, 4, 13)]
    american = parse("date,rmssd\n03/04/2025,50\n04/13/2025,51\n").mornings
    assert [m.day for m in american] == [date(2025, 3, 4), date(2025, 4, 13)]


def test_slash_dates_that_cannot_be_told_apart_are_an_error_on_their_line():
    e = error("date,rmssd\n2025-04-20,49\n03/04/2025,50\n")
    assert e.line == 3
    assert "ISO" in str(e)


def test_slash_dates_both_ways_round_are_an_error():
    e = error("date,rmssd\n13/04/2025,50\n04/14/2025,51\n")
    assert e.line == 3
    assert "line 2" in str(e)


def test_mornings_come_out_oldest_first():
    text = "date,rmssd\n2025-03-03,50\n2025-03-01,60\n2025-03-02,55\n"
    assert [m.day.day for m in parse(text).mornings] == [1, 2, 3]


def test_empty_rmssd_is_a_day_without_measurement_and_a_second_row_of_a_day_is_skipped():
    text = "date,rmssd,rhr\n2025-03-01,50,48\n2025-03-02,,\n2025-03-01,70,47\n2025-03-03,52,\n"
    history = parse(text)
    assert [m.day.day for m in history.mornings] == [1, 3]
    assert history.mornings[0].rmssd_ms == pytest.approx(50)
    assert history.skipped_lines == (3, 4)


def test_posture_comes_from_a_column_or_from_the_caller():
    text = "date,rmssd,position\n2025-03-01,50,Lying down\n2025-03-02,40,Standing\n2025-03-03,45,\n"
    postures = [m.posture for m in parse(text, Posture.SITTING).mornings]
    assert postures == [Posture.LYING, Posture.STANDING, Posture.SITTING]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("date,rmssd\n2025-03-01,50\n2025-03-32,51\n", 3, "is not a date"),
        ("date,rmssd\n2025-03-01,50\nyesterday,51\n", 3, "'yesterday' is not a date"),
        ("date,rmssd\n2025-03-01,fifty\n", 2, "RMSSD (ms) 'fifty' is not a number"),
        ("date,rmssd\n2025-03-01,0\n", 2, "outside 1-1000"),
        ("date,rmssd\n2025-03-01,-5\n", 2, "outside"),
        ("date,rmssd\n2025-03-01,nan\n", 2, "outside"),
        ("date,ln_rmssd\n2025-03-01,4.1\n2025-03-02,82\n", 3, "lnRMSSD '82' is outside 0-6.9"),
        ("date,rmssd,rhr\n2025-03-01,50,48\n\n2025-03-02,50,480\n", 4, "resting HR"),
        ("date,rmssd\n2025-03-01,50\n,51\n", 3, "no date"),
        ("date,rmssd,posture\n2025-03-01,50,upside down\n", 2, "posture 'upside down'"),
        ("when,rmssd\n2025-03-01,50\n", 1, "no date column"),
        ("# app export\ndate,sdnn\n2025-03-01,50\n", 2, "no RMSSD column"),
        ("date;rmssd\n2025-03-01;5.0.1\n", 2, "not a number"),
    ],
)
def test_errors_name_the_line(text, line, words):
    e = error(text)
    assert e.line == line
    assert e.source == SRC
    assert words in str(e)
    assert str(e).startswith(f"{SRC}:{line}: ")
    assert isinstance(e, UsageError)


@pytest.mark.parametrize("text", ["", "\n# nothing\n", "date,rmssd\n", "date,rmssd\n2025-03-01,\n"])
def test_a_file_without_mornings_is_an_error_without_a_line(text):
    e = error(text)
    assert e.line is None
    assert "no mornings" in str(e)


def test_header_normalisation():
    assert normalise_header(" RMSSD (ms) ") == "rmssd_ms"
    assert normalise_header("ln(rMSSD)") == "ln_rmssd"
    assert normalise_header("Resting-HR") == "resting_hr"


def test_imported_days_are_scored_exactly_like_measured_ones():
    start = date(2025, 1, 1)
    rows = [(start + timedelta(days=i), 50 + (i * 7) % 13, 48 + i % 4) for i in range(40)]
    text = "date,rmssd,rhr\n" + "".join(f"{d.isoformat()},{r},{h}\n" for d, r, h in rows)
    imported = parse(text).mornings
    measured = [
        Morning(d, Posture.LYING, math.log(r), float(h), Quality(0.0, 120, 1.0)) for d, r, h in rows
    ]
    from_import, from_measurement = assess_all(imported), assess_all(measured)
    assert [(r.day, r.status, r.score) for r in from_import] == [
        (r.day, r.status, r.score) for r in from_measurement
    ]
    assert {r.status for r in from_import} - {"baseline"}  # history shows their status too


def test_measured_mornings_win_over_imported_ones_of_the_same_day():
    d = date(2025, 3, 1)
    imported = parse("date,rmssd\n2025-03-01,50\n2025-03-02,60\n").mornings
    measured = [Morning(d, Posture.LYING, 4.2, 50.0)]
    merged = merge_history(measured, imported)
    assert [m.day.day for m in merged] == [1, 2]
    assert merged[0].ln_rmssd == 4.2
    # Another posture on the same day is another morning.
    standing = [Morning(d, Posture.STANDING, 3.5, 60.0)]
    assert len(merge_history(standing, imported)) == 3


def test_an_unclosed_quote_or_a_131_kb_field_is_an_error_on_its_line():
    assert error('date,rmssd\n2025-03-01,"55\n2025-03-02,60\n').line == 2
    assert "not valid CSV" in str(error('date,rmssd\n2025-03-01,"55\n'))
    huge = error("date,rmssd\n2025-03-01," + "5" * 131_073 + "\n")
    assert huge.line == 2
    assert "line of 131084 characters" in str(huge)


def test_the_history_import_and_the_rr_reader_share_one_header_normaliser():
    assert normalise_header("RR-interval [ms]") == "rr_interval_ms"
    assert normalise_header("Phone timestamp") == "phone_timestamp"
    assert normalise_header("Date Time Start") == "date_time_start"
