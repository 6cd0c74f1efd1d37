"""One number format in every finding and report."""

import pytest

from cmcflex.dossier.criteria import parse_result
from cmcflex.formatting import number, number_range, within_sentence


@pytest.mark.parametrize("x, text", [
    (452, "452"), (72.1, "72.1"), (85.7234, "85.72"), (0.031, "0.031"), (0.0004, "4E-4"),
    (1.2e12, "1.2E12"), (45600000.0, "4.56E7"), (0, "0"), (-3.5, "-3.5"), (99999, "99999"),
    (None, "n/a"),
])
def test_number(x, text):
    assert number(x) == text


def test_number_with_unit_and_range():
    assert number(5.54, "%") == "5.54 %"
    assert number_range(59.594, 138.93, "%") == "59.59 to 138.9 %"


def test_results_describe_in_the_same_format():
    assert parse_result("<0.50").describe() == "<0.5"
    assert parse_result("9.56E7").describe() == "9.56E7"
    assert parse_result("No growth").describe() == "no growth"


@pytest.mark.parametrize("text, placed", [
    ("Autologous drug product lots", "autologous drug product lots"),
    ("TX-144 drug product lots (autologous)", "TX-144 drug product lots (autologous)"),
    ("CAR-T lots", "CAR-T lots"), ("A lot", "a lot"), ("all lots", "all lots"), ("DP lots", "DP lots"),
])
def test_a_recorded_phrase_keeps_its_names_mid_sentence(text, placed):
    assert within_sentence(text) == placed
