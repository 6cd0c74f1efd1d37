"""Dates and numbers are read as meant, or refused with a located error that shows the expected form.

The property tests run under the hypothesis profile of tests/conftest.py (``ci``: 40 examples);
``HYPOTHESIS_PROFILE=fuzz pytest tests/dossier/test_values.py`` runs a long session.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cmcflex.cli import app
from cmcflex.dossier.criteria import DOT_GROUPED, parse_criterion, parse_number, parse_result
from cmcflex.dossier.dates import date_text, parse_iso_date
from cmcflex.dossier.errors import DossierError
from cmcflex.dossier.loader import load_dossier
from tests.helpers import LOT_COLUMNS, base_dossier_yaml, lot_rows

runner = CliRunner()
LOTS_HEADER = ",".join(LOT_COLUMNS)
DATE_COLUMN = LOT_COLUMNS.index("manufacture_date") + 1
VALUE_COLUMN = LOT_COLUMNS.index("value") + 1


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DossierError) as caught:
        load_dossier(path)
    return [str(p) for p in caught.value.problems]


def lots_text(rows: list[list[str]], delimiter: str = ",") -> str:
    """lots.csv text from rows given in LOT_COLUMNS order (fields written as given: quote them yourself)."""
    return "\n".join([LOTS_HEADER.replace(",", delimiter)] + [delimiter.join(r) for r in rows]) + "\n"


def lot_line(lot_id: str, date: str = "2025-06-01", attribute: str = "viability", value: str = "82.4",
             unit: str = "%") -> list[str]:
    return [lot_id, "drug_product", "phase_2", "v1", "SITE-A", date, "patient", attribute, value, unit,
            "M-1", "released"]


# ------------------------------------------------------------------------------------------- dates

@pytest.mark.parametrize(("written", "says"), [
    ("3/16/2026", "write 2026-03-16"),
    ("31/12/2025", "write 2025-12-31"),
    ("03/04/2026", "write 2026-03-04 (month first) or 2026-04-03 (day first)"),
    ("2026-02-30", "not a calendar date (day is out of range for month)"),
    ("0000-01-01", "not a calendar date (year 0 is out of range)"),
    ("last tuesday", "is not a date written YYYY-MM-DD"),
    ("20260316", "is not a date written YYYY-MM-DD"),
    ("2026-W11-1", "is not a date written YYYY-MM-DD"),
    ("2026-03-16T10:30", "write 2026-03-16 (the date alone, without a time)"),
    ("2026-03-16 10:30:00", "write 2026-03-16 (the date alone, without a time)"),
    ("2026-03-16 00:00:00Z", "write 2026-03-16 (the date alone, without a time)"),
    ("2026-02-30 00:00:00", "'2026-02-30 00:00:00' is not a calendar date"),
    ("2026-3-16", "is not a date written YYYY-MM-DD"),
])
def test_lots_csv_dates_that_are_not_iso_are_located_errors(dossier_dir: Callable[..., Path], written: str,
                                                            says: str) -> None:
    rows = [lot_line("L1", attribute=a) for a in ("viability", "potency", "sterility")]
    rows += [lot_line("L2", written, attribute=a) for a in ("viability", "potency", "sterility")]
    problems = problems_of(dossier_dir({"lots.csv": lots_text(rows)}))
    assert len(problems) == 1, problems  # once per value, not once per row of the lot
    assert problems[0].startswith(f"lots.csv:5:{DATE_COLUMN}: manufacture_date: manufacture_date '{written}'")
    assert says in problems[0] and "YYYY-MM-DD" in problems[0]


@pytest.mark.parametrize("rows", [3, 600])  # the row path, and columns of clean batches
@pytest.mark.parametrize("exported", ["2026-03-16 00:00:00", "2026-03-16T00:00", "2026-03-16 00:00:00.000"])
def test_a_date_exported_with_its_midnight_is_that_date(dossier_dir: Callable[..., Path], rows: int,
                                                        exported: str) -> None:
    """A date cell formatted as date and time exports as '2026-03-16 00:00:00'; it is read as the
    date, also beside rows of the same lot that write the date alone."""
    lines = [lot_line(f"L{k // 2}", exported if k % 2 else "2026-03-16") for k in range(rows)]
    dossier = load_dossier(dossier_dir({"lots.csv": lots_text(lines)}))
    assert dossier.lots is not None
    assert {lot.manufacture_date for lot in dossier.lots.lots()} == {"2026-03-16"}


@pytest.mark.parametrize("rows", [3, 600])  # the row path, and columns of clean batches
def test_rows_of_empty_cells_are_blank_lines(dossier_dir: Callable[..., Path], rows: int) -> None:
    """Spreadsheets export rows whose cells were formatted but left empty as ',,,,': not lots."""
    empty = [""] * len(LOT_COLUMNS)
    lines = [lot_line(f"L{k}") for k in range(rows)]
    lines[1:1] = [empty, [" "] + empty[1:]]
    lines += [empty, empty]
    dossier = load_dossier(dossier_dir({"lots.csv": lots_text(lines)}))
    assert dossier.lots is not None and len(list(dossier.lots.lots())) == rows


@pytest.mark.parametrize("rows", [3, 600])  # the row path, and columns of clean batches
def test_a_value_written_with_its_percent_sign_is_read_in_percent(dossier_dir: Callable[..., Path],
                                                                  rows: int) -> None:
    """Excel saves a percent-formatted cell as '91.0%': the number, in %."""
    lines = [lot_line(f"L{k}", value="91.0%" if k % 3 == 0 else "88.5", unit="%") for k in range(rows)]
    lines[1] = lot_line("L1", value="<0.5 %", unit="")
    dossier = load_dossier(dossier_dir({"lots.csv": lots_text(lines)}))
    assert dossier.lots is not None
    results = {r.lot_id: (r.result.value, r.result.censor) for r in dossier.lots.results("drug_product", "viability")}
    assert results["L0"] == (91.0, "") and results["L1"] == (0.5, "<") and results["L2"] == (88.5, "")


def test_a_percent_sign_against_another_unit_is_a_located_error(dossier_dir: Callable[..., Path]) -> None:
    lines = [lot_line("L1"), lot_line("L2", value="44%", unit="cells"), lot_line("L3")]
    problems = problems_of(dossier_dir({"lots.csv": lots_text(lines)}))
    assert problems == [f"lots.csv:3:{VALUE_COLUMN}: value: '44%' is written with '%' but its unit is 'cells': "
                        "write the number alone in 'cells', or correct the unit"]


def test_valid_dates_are_read_including_a_leap_day(dossier_dir: Callable[..., Path]) -> None:
    rows = lot_rows("L1", "phase_2", {"viability": "80"}, manufacture_date="2024-02-29")
    rows += lot_rows("L2", "phase_2", {"viability": "81"})
    dossier = load_dossier(dossier_dir({"lots.csv": rows}))
    assert dossier.lots is not None and dossier.lots.lot("L1").manufacture_date == "2024-02-29"


def test_us_dates_that_would_sort_wrongly_as_text_are_refused(dossier_dir: Callable[..., Path]) -> None:
    """As text, 10/1/2025 sorts before 9/1/2025: the latest lot (which decides the commercial
    process) would be the wrong one. Such dates are refused, one error per value."""
    rows = [lot_line("L1", "9/1/2025"), lot_line("L2", "10/1/2025")]
    problems = problems_of(dossier_dir({"lots.csv": lots_text(rows)}))
    assert [p.split(":")[1] for p in problems] == ["2", "3"]
    assert "write 2025-09-01 (month first) or 2025-01-09 (day first)" in problems[0]


def test_many_rows_with_bad_dates_take_the_columnar_path_back_to_located_errors(
        dossier_dir: Callable[..., Path]) -> None:
    rows = [lot_line(f"L{k}", "2025-06-01" if k != 300 else "2025-06-31", attribute=a)
            for k in range(600) for a in ("viability", "potency")]
    problems = problems_of(dossier_dir({"lots.csv": lots_text(rows)}))
    assert problems == [f"lots.csv:602:{DATE_COLUMN}: manufacture_date: manufacture_date '2025-06-31' is not a "
                        "calendar date (day is out of range for month); expected a date written YYYY-MM-DD "
                        "(ISO 8601), e.g. 2026-03-16"]


def _site_with_inspection(date: Any) -> dict[str, Any]:
    site = dict(base_dossier_yaml()["sites"][0])
    site["inspections"] = [{"date": date, "type": "pre_license", "outcome": "NAI"}]
    return site


@pytest.mark.parametrize(("date", "says"), [
    ("2026-02-30", "'2026-02-30' is not a calendar date"),
    ("12 Jan 2026", "'12 Jan 2026' is not a date written YYYY-MM-DD (ISO 8601), e.g. 2026-03-10"),
    (20260316, "expected a date written YYYY-MM-DD (ISO 8601), e.g. 2026-03-10 (got 20260316)"),
    ("2026-03-16 10:00:00", "is not a date written YYYY-MM-DD"),
])
def test_yaml_dates_are_iso_dates_only(dossier_dir: Callable[..., Path], date: Any, says: str) -> None:
    problems = problems_of(dossier_dir(sites=[_site_with_inspection(date)]))
    assert len(problems) == 1 and problems[0].startswith("dossier.yaml:") and says in problems[0], problems


def test_yaml_iso_dates_are_read_as_dates(dossier_dir: Callable[..., Path]) -> None:
    dossier = load_dossier(dossier_dir(sites=[_site_with_inspection("2026-03-16")]))
    assert dossier.info.sites[0].inspections[0].date == dt.date(2026, 3, 16)


def test_waiver_expiry_is_an_iso_date(dossier_dir: Callable[..., Path]) -> None:
    waivers = "waivers:\n  - {rule: PPQ-006, justification: agreed, expires: 31/01/2027}\n"
    problems = problems_of(dossier_dir({"waivers.yaml": waivers}))
    assert problems == ["waivers.yaml:2:53: waivers[0].expires: '31/01/2027' is not a date written YYYY-MM-DD "
                        "(ISO 8601), e.g. 2027-01-31; write 2027-01-31"]


DATE_TEXT = st.one_of(
    st.dates().map(dt.date.isoformat),
    st.dates().map(lambda d: f"{d.month}/{d.day}/{d.year}"),
    st.dates().map(lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}"),
    st.dates().map(lambda d: d.strftime("%Y%m%d")),
    st.dates().map(lambda d: d.isoformat() + " 00:00"),
    st.dates().map(lambda d: d.isoformat() + " 00:00:00"),
    st.dates().map(lambda d: d.isoformat() + "T10:30"),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
)


@given(DATE_TEXT)
def test_a_date_is_read_as_written_or_refused_saying_the_form(text: str) -> None:
    try:
        day = parse_iso_date(text)
    except ValueError as exc:
        assert "YYYY-MM-DD" in str(exc)
    else:
        # ISO dates, and dates exported with their midnight; date_text makes comparing text compare dates
        assert day.isoformat() == date_text(text)
        assert text == day.isoformat() or re.fullmatch(r"[T ]00:00(:00(\.0+)?)?", text[10:])


# ----------------------------------------------------------------------------------------- numbers

@pytest.mark.parametrize(("value", "says"), [
    ('"6,500"', "'6,500': a comma in a number of a comma-delimited file may be a decimal mark or a thousands "
                "separator; write 6.500 (decimal comma) or 6500 (thousands), whichever is meant"),
    ('"82,4"', "write 82.4 (or use ';' as the delimiter for decimal commas)"),
    ('"<0,5"', "'0,5': a comma in a number of a comma-delimited file"),
    ("1_5", "'1_5' is not a number: '_' is not a digit separator; write it without ('15' if that is meant)"),
    ("NaN", "'NaN' is not a finite number"),
    ("-inf", "'-inf' is not a finite number"),
    ("Infinity", "'Infinity' is not a finite number"),
    ("1e999", "'1e999' is beyond the range of numbers cmcflex can compare"),
    ("<1e999", "'1e999' is beyond the range of numbers"),
])
def test_lots_csv_numbers_not_read_as_meant_are_located_errors(dossier_dir: Callable[..., Path], value: str,
                                                               says: str) -> None:
    rows = [lot_line("L1"), lot_line("L2", value=value), lot_line("L3")]
    problems = problems_of(dossier_dir({"lots.csv": lots_text(rows)}))
    assert len(problems) == 1 and problems[0].startswith(f"lots.csv:3:{VALUE_COLUMN}: value: "), problems
    assert says in problems[0]


def test_many_rows_with_an_underscore_take_the_columnar_path_back_to_a_located_error(
        dossier_dir: Callable[..., Path]) -> None:
    rows = [lot_line(f"L{k}", value="1_000" if k == 250 else f"{80 + k % 7}") for k in range(500)]
    problems = problems_of(dossier_dir({"lots.csv": lots_text(rows)}))
    assert len(problems) == 1 and problems[0].startswith(f"lots.csv:252:{VALUE_COLUMN}: value: '1_000'")


def test_decimal_commas_stay_accepted_in_semicolon_files(dossier_dir: Callable[..., Path]) -> None:
    rows = [lot_line("L1", value="82,4"), lot_line("L2", value="<0,5"), lot_line("L3", value="6,500")]
    dossier = load_dossier(dossier_dir({"lots.csv": lots_text(rows, ";")}))
    assert dossier.lots is not None
    assert [r.result for r in dossier.lots.results("drug_product", "viability")] == [
        parse_result("82.4"), parse_result("<0.5"), parse_result("6.5")]


def test_thousands_separators_are_refused_in_semicolon_files(dossier_dir: Callable[..., Path]) -> None:
    rows = [lot_line("L1", value="1.234,5"), lot_line("L2")]
    problems = problems_of(dossier_dir({"lots.csv": lots_text(rows, ";")}))
    assert problems == [f"lots.csv:2:{VALUE_COLUMN}: value: '1.234,5': thousands separators are not read; "
                        "write 1234.5"]


def test_stability_values_and_times_are_read_as_meant_or_refused(dossier_dir: Callable[..., Path]) -> None:
    header = "lot_id,material,condition,time,time_unit,attribute,value,unit\n"
    text = header + ("L1,drug_product,long_term,0,months,viability,80,%\n"
                     'L1,drug_product,long_term,"1,5",months,viability,80,%\n'
                     "L1,drug_product,long_term,3,months,viability,8_0,%\n"
                     "L1,drug_product,long_term,6,months,viability,nan,%\n")
    problems = problems_of(dossier_dir({"stability.csv": text}))
    assert [p.split(": ", 2)[0] for p in problems] == ["stability.csv:3:4", "stability.csv:4:7",
                                                       "stability.csv:5:7"]
    assert "time '1,5': a comma in a number of a comma-delimited file" in problems[0]
    assert "'8_0' is not a number" in problems[1] and "'nan' is not a finite number" in problems[2]


def test_stability_decimal_commas_in_a_semicolon_file(dossier_dir: Callable[..., Path]) -> None:
    text = ("lot_id;material;condition;time;time_unit;attribute;value;unit\n"
            "L1;drug_product;long_term;1,5;months;viability;80,5;%\n")
    dossier = load_dossier(dossier_dir({"stability.csv": text}))
    assert dossier.stability is not None
    point = dossier.stability[0]
    assert point.time == 1.5 and point.result == parse_result("80.5")


def _aps(units: str) -> str:
    return f"aseptic_process_simulation:\n  - {{date: 2026-01-12, units: {units}}}\n"


@pytest.mark.parametrize(("units", "says"), [
    ("3_6", "gmp.yaml:2:31: aseptic_process_simulation[0].units: YAML reads '3_6' as 36 ('_' is skipped); "
            "write 36 if that is meant, or quote it ('3_6') if it is text"),
    ("1:30", "gmp.yaml:2:31: aseptic_process_simulation[0].units: YAML reads '1:30' as 90 (base 60)"),
    (".nan", "gmp.yaml:2:31: aseptic_process_simulation[0].units: '.nan' is not a finite number"),
    ("1.0e+999", "gmp.yaml:2:31: aseptic_process_simulation[0].units: '1.0e+999' is not a finite number"),
    ("'3_6'", "gmp.yaml:2:31: aseptic_process_simulation[0].units: '3_6' is not a number: '_' is not a digit "
              "separator"),
])
def test_yaml_numbers_not_read_as_written_are_located_errors(dossier_dir: Callable[..., Path], units: str,
                                                             says: str) -> None:
    problems = problems_of(dossier_dir({"gmp.yaml": _aps(units)}))
    assert len(problems) == 1 and problems[0].startswith(says), problems


def test_yaml_numbers_written_plainly_are_read(dossier_dir: Callable[..., Path]) -> None:
    dossier = load_dossier(dossier_dir({"gmp.yaml": _aps("36")}))
    assert dossier.gmp is not None and dossier.gmp.aseptic_process_simulation[0].units == 36



def _records() -> list[type]:
    """Every record model of the dossier format (waivers.yaml's included)."""
    from cmcflex.dossier import models

    seen: list[type] = []
    todo: list[type] = [models.Record]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


def test_every_number_field_refuses_digit_underscores() -> None:
    """A quoted '1_5' is refused in every int and float field, not only in the fields tested above."""
    from cmcflex.dossier.models import NO_DIGIT_UNDERSCORES

    numeric = (int, float, int | None, float | None)
    fields = [(cls.__name__, name, info) for cls in _records() for name, info in cls.model_fields.items()
              if info.annotation in numeric]
    assert len(fields) >= 11
    assert [(c, n) for c, n, info in fields if NO_DIGIT_UNDERSCORES not in info.metadata] == []


@pytest.mark.parametrize(("criterion", "says"), [
    (">= 1,000 cells/mL", "'1,000' may be a decimal comma or a thousands separator; write 1.000 (decimal comma) "
                          "or 1000 (thousands), whichever is meant"),
    (">= 1_000", "'1_000' is not a number"),
    ({"min": "6,500"}, "criterion min: '6,500' may be a decimal comma or a thousands separator"),
])
def test_criteria_with_numbers_not_read_as_meant_are_refused(criterion: Any, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_criterion(criterion)
    assert says in str(caught.value)


def test_criteria_keep_a_plain_decimal_comma() -> None:
    assert parse_criterion(">= 82,4 %").min == 82.4  # type: ignore[union-attr]
    assert parse_criterion("1,2 x 10^12 - 5 x 10^12 vg/mL").min == 1.2e12  # type: ignore[union-attr]


NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**6, 10**6).map(lambda n: f"{n:,}"),                    # thousands separators
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.3f}".replace(".", ",")),  # decimal commas
    st.integers(0, 10**6).map(lambda n: f"{n:_}"),                          # underscores
    st.from_regex(r"\A[+-]?[0-9]{1,4}([.,][0-9]{0,4})?([eE][+-]?[0-9]{1,4})?\Z"),
    st.sampled_from(["nan", "NaN", "inf", "-Infinity", "1e999", "-1e999", "1_5", "6,500", "1.234,5"]),
)


@given(NUMBER_TEXT, st.sampled_from([False, True, None]))
def test_a_number_is_read_as_meant_or_refused(text: str, decimal_comma: bool | None) -> None:
    try:
        value = parse_number(text, decimal_comma)
    except ValueError:
        # in a semicolon file a point before three digits may be a thousands separator ('1.000'): refused
        dot_grouped = decimal_comma is True and DOT_GROUPED.fullmatch(text.strip()) is not None
        plain = "," not in text and "_" not in text and _floatish(text) and not dot_grouped
        assert not (plain and math.isfinite(float(text))), "a plain finite number must be read"
        return
    assert math.isfinite(value) and "_" not in text
    if "," not in text:
        assert value == float(text)
        return
    assert decimal_comma is not False, "no comma is read in a comma-delimited file"
    assert text.count(",") == 1 and "." not in text and value == float(text.replace(",", "."))
    if decimal_comma is None:  # in YAML, 6,500 could be either: never read
        assert not re.fullmatch(r"[-+]?[1-9][0-9]{0,2},[0-9]{3}", text)


def _floatish(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@given(st.lists(st.tuples(DATE_TEXT, NUMBER_TEXT), min_size=1, max_size=5))
def test_generated_dates_and_values_load_or_are_located(rows: list[tuple[str, str]]) -> None:
    """Whatever the dates and values, the loader reads them as meant or names the line and column."""
    import tempfile

    from tests.helpers import write_dossier

    lines = [lot_line(f"L{k}", date.replace(",", " ").replace("\n", " ").replace("\r", " ").replace('"', ""),
                      value='"' + value + '"' if "," in value else value)
             for k, (date, value) in enumerate(rows)]
    with tempfile.TemporaryDirectory() as folder:
        path = write_dossier(Path(folder) / "d", {"lots.csv": lots_text(lines)})
        try:
            dossier = load_dossier(path)
        except DossierError as exc:
            for p in exc.problems:
                assert p.file == "lots.csv" and 2 <= p.line <= len(rows) + 2
                assert p.col in (DATE_COLUMN, VALUE_COLUMN, 1), p
            return
    assert dossier.lots is not None
    for lot in dossier.lots.lots():
        assert lot.manufacture_date is None or parse_iso_date(lot.manufacture_date).isoformat() == lot.manufacture_date


# ---------------------------------------------------------------------------------- the command line

def test_cli_exit_2_with_located_date_and_number_errors(dossier_dir: Callable[..., Path]) -> None:
    rows = [lot_line("L1", "3/16/2026"), lot_line("L2", value='"6,500"')]
    path = dossier_dir({"lots.csv": lots_text(rows)})
    result = runner.invoke(app, ["check", str(path), "--as-of", "2026-11-25"])
    assert result.exit_code == 2, result.output
    assert (f"lots.csv:2:{DATE_COLUMN}: manufacture_date: manufacture_date '3/16/2026' is not a date written "
            "YYYY-MM-DD (ISO 8601), e.g. 2026-03-16; write 2026-03-16") in result.output
    assert f"lots.csv:3:{VALUE_COLUMN}: value: '6,500': a comma in a number" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("value", "says"), [
    ("inf", "expected a finite number"),
    ("1e999", "expected a finite number"),
    ("1_2", "'1_2' is not a number: '_' is not a digit separator"),
])
def test_a_quoted_number_in_a_float_field_is_read_as_meant_or_refused(dossier_dir: Callable[..., Path],
                                                                      value: str, says: str) -> None:
    problems = problems_of(dossier_dir(shelf_life={"value": value, "unit": "months"}))
    assert len(problems) == 1 and problems[0].startswith("dossier.yaml:") and "shelf_life.value" in problems[0]
    assert says in problems[0], problems


def test_a_quoted_plain_number_in_a_float_field_is_read(dossier_dir: Callable[..., Path]) -> None:
    dossier = load_dossier(dossier_dir(shelf_life={"value": "12", "unit": "months"}))
    assert dossier.info.shelf_life is not None and dossier.info.shelf_life.value == 12.0


def test_a_yaml_number_with_a_leading_zero_is_not_read_as_octal(dossier_dir: Callable[..., Path]) -> None:
    problems = problems_of(dossier_dir({"gmp.yaml": _aps("010")}))
    assert problems == ["gmp.yaml:2:31: aseptic_process_simulation[0].units: YAML reads '010' as 8 (octal, for "
                        "the leading 0); quote it ('010') if it is an id or text, or write 10 if that number is "
                        "meant"]
    assert load_dossier(dossier_dir({"gmp.yaml": _aps("0")})).gmp is not None  # a lone 0 is 0


@pytest.mark.parametrize("rows", [3, 600])  # the row path, and columns of clean batches
def test_a_point_before_three_digits_is_ambiguous_in_a_semicolon_file(dossier_dir: Callable[..., Path],
                                                                      rows: int) -> None:
    lines = [lot_line(f"L{k}", value="6.500" if k == rows // 2 else "0.500") for k in range(rows)]
    problems = problems_of(dossier_dir({"lots.csv": lots_text(lines, ";")}))
    assert problems == [f"lots.csv:{rows // 2 + 2}:{VALUE_COLUMN}: value: '6.500': in a semicolon-delimited file, "
                        "where a comma is the decimal mark, a point before three digits may be a thousands "
                        "separator; write 6500 (thousands) or 6,500 (decimal), whichever is meant"]


def test_points_that_cannot_be_thousands_are_read_in_a_semicolon_file(dossier_dir: Callable[..., Path]) -> None:
    lines = [lot_line("L1", value="0.500"), lot_line("L2", value="6.5"), lot_line("L3", value="1.2345")]
    dossier = load_dossier(dossier_dir({"lots.csv": lots_text(lines, ";")}))
    assert dossier.lots is not None
    assert [v for _, v in dossier.lots.numeric_values("drug_product", "viability")] == [0.5, 6.5, 1.2345]
