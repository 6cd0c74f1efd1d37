"""Acceptance criteria and lot results: every example of dossier-format.md parses."""

from __future__ import annotations

import pytest

from cmcflex.dossier.criteria import (
    NumericCriterion,
    QualitativeCriterion,
    ReportOnlyCriterion,
    parse_criterion,
    parse_result,
)


@pytest.mark.parametrize(
    "text, low, high, unit",
    [
        (">= 70", 70, None, None),
        ("≥ 70 %", 70, None, "%"),
        ("<= 5.0 EU/mL", None, 5.0, "EU/mL"),
        ("< 0.5", None, 0.5, None),
        ("NMT 5", None, 5, None),
        ("NLT 1.0E8", 1.0e8, None, None),
        ("1.0E12 - 5.0E12 vg/mL", 1.0e12, 5.0e12, "vg/mL"),
        ("70 - 130 % of reference", 70, 130, "% of reference"),
        ("6.8 - 7.6", 6.8, 7.6, None),
        ("Not more than 10 %", None, 10, "%"),
    ],
)
def test_numeric_criteria_from_the_format(text, low, high, unit):
    c = parse_criterion(text)
    assert isinstance(c, NumericCriterion)
    assert (c.min, c.max, c.unit) == (low, high, unit)


@pytest.mark.parametrize(
    "text, low, high, unit",
    [
        # a power of ten written once after a range is both limits', as dose ranges are written
        ("0.2 - 5.0 x 10^6 CAR-positive viable T cells/kg", 2e5, 5e6, "CAR-positive viable T cells/kg"),
        ("0.2 to 5.0 × 10^8 cells", 2e7, 5e8, "cells"),
        ("50 - 110 x10^6 CAR+ T cells", 5e7, 1.1e8, "CAR+ T cells"),
        ("1 - 5 x10^12 vg/mL", 1e12, 5e12, "vg/mL"),
        ("0,2 - 5,0 x10^6 cells", 2e5, 5e6, "cells"),
        # a limit with its own power of ten, or a unit between the limits, keeps what it says
        ("2.0 x10^6 - 5.0 x10^6 cells/kg", 2e6, 5e6, "cells/kg"),
        ("1E6 - 5 x10^6 cells", 1e6, 5e6, "cells"),
        ("5 cells - 10 x10^6 cells", 5, 1e7, "cells"),
        # E notation is its number's own: read as written where sharing it could not be meant
        ("0 - 5E12 vg/mL", 0, 5e12, "vg/mL"),
        ("10 - 1E4 copies/ug", 10, 1e4, "copies/ug"),
        ("1 vg/mL - 5E12 vg/mL", 1, 5e12, "vg/mL"),
    ],
)
def test_a_shared_power_of_ten_in_a_range_is_read_as_meant(text, low, high, unit):
    c = parse_criterion(text)
    assert isinstance(c, NumericCriterion)
    assert (c.min, c.max, c.unit) == (pytest.approx(low), pytest.approx(high), unit)


@pytest.mark.parametrize(
    "text, says",
    [
        ("1 - 5E12 vg/mL", "('1E12 - 5E12 vg/mL'), or, if 1 is meant, the limits as min and max "
                           "({min: 1, max: 5E12, unit: vg/mL})"),
        ("0,5 - 2,0E6 cells", "lower limit would read as 0.5"),
        ("2.0 - 3.5E+08", "('2.0E+08 - 3.5E+08')"),
        ("1 - 5E-3 mg", "gives only its upper limit an exponent (E-3): write the exponent on both limits "
                        "('1E-3 - 5E-3 mg')"),
    ],
)
def test_an_exponent_on_the_upper_limit_only_is_not_guessed(text, says):
    """'1 - 5E12 vg/mL' may mean 1 vg/mL or 1E12 vg/mL; a lot below 1E12 must not pass unseen."""
    with pytest.raises(ValueError, match="gives only its upper limit an exponent") as caught:
        parse_criterion(text)
    assert says in str(caught.value)


def test_a_suggested_mapping_reads_as_the_lower_limit_written():
    import yaml

    c = parse_criterion(yaml.safe_load("{min: 1, max: 5E12, unit: vg/mL}"))
    assert (c.min, c.max, c.unit) == (1, 5e12, "vg/mL")


def test_mapping_criterion():
    c = parse_criterion({"min": 70, "max": None, "unit": "%"})
    assert isinstance(c, NumericCriterion) and c.min == 70 and c.max is None and c.unit == "%"


@pytest.mark.parametrize("text", ["Conforms", "No growth", "Negative", "Not detected"])
def test_qualitative_criteria(text):
    assert isinstance(parse_criterion(text), QualitativeCriterion)


def test_report_only():
    assert isinstance(parse_criterion("Report result"), ReportOnlyCriterion)


@pytest.mark.parametrize("bad", ["about seventy", "", "5 - 1", 42, {"mn": 3}, {"min": "x"}])
def test_unreadable_criteria_are_rejected_with_a_reason(bad):
    with pytest.raises(ValueError) as info:
        parse_criterion(bad)
    assert str(info.value)


def test_censored_results_compare_as_what_they_say():
    nmt5 = parse_criterion("<= 5.0 EU/mL")
    nlt1 = parse_criterion(">= 1.0")
    assert nmt5.accepts(parse_result("<0.50")) is True
    assert nlt1.accepts(parse_result("<0.50")) is False  # below 0.5, so certainly below 1.0
    assert parse_criterion("<= 5").accepts(parse_result("<6")) is None  # cannot be told
    assert parse_criterion(">= 70").accepts(parse_result("69.9")) is False
    assert parse_criterion("< 0.5").accepts(parse_result("0.5")) is False


def test_qualitative_results_against_qualitative_criteria():
    assert parse_criterion("No growth").accepts(parse_result("Growth")) is False
    assert parse_criterion("Negative").accepts(parse_result("Not detected")) is True
    assert parse_criterion("Negative").accepts(parse_result("82")) is None
    assert parse_criterion(">= 70").accepts(parse_result("Conforms")) is None


@pytest.mark.parametrize("bad", ["abc", "", "<", "1.2.3"])
def test_unreadable_results(bad):
    with pytest.raises(ValueError):
        parse_result(bad)


@pytest.mark.parametrize(("written", "word"), [
    ("Complies", "conforms"), ("Does not comply", "does not conform"), ("Sterile", "no growth"),
    ("No organisms seen", "no organisms seen"), ("ORGANISMS SEEN", "organisms seen"),
])
def test_results_written_as_labs_write_them(written, word):
    assert parse_result(written).word == word


def test_a_gram_stain_criterion_judges_its_results():
    c = parse_criterion("No organisms seen")
    assert isinstance(c, QualitativeCriterion)
    assert [c.accepts(parse_result(r)) for r in ("No organisms seen", "Organisms seen", "Negative")] == [
        True, False, True]
    assert parse_criterion("Conforms").accepts(parse_result("Complies")) is True


@pytest.mark.parametrize(("criterion", "result", "verdict"), [
    ("No growth", "Complies", True), ("No growth", "Does not comply", False), ("No growth", "Fail", False),
    ("Negative", "Pass", True), ("Not detected", "Does not conform", False),
    ("Positive", "Detected", True), ("Positive", "Negative", False), ("Detected", "Not detected", False),
    # a limit of absence judges the words of a presence test
    ("< 1 RCA per 3 x 10^10 vp", "Detected", False), ("< 1 RCA per 3 x 10^10 vp", "Not detected", True),
    ("0 - 0 CFU", "Growth", False),
    # any other numeric limit cannot judge a word
    ("<= 10 ng/dose", "Detected", None), ("< 0.5 EU/mL", "Not detected", None), ("<= 1 CFU", "Negative", None),
])
def test_result_words_are_judged_where_they_say_something_of_the_criterion(criterion, result, verdict):
    assert parse_criterion(criterion).accepts(parse_result(result)) is verdict
