"""How PPQ-002 reads a lot-count justification: factor by factor, from its fields or its text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cmcflex.dossier.models import LotCountJustification
from cmcflex.rules.lot_count_reading import FACTORS, document_ids, read_justification


def test_document_ids_are_hyphenated_capitals_with_a_digit_or_three_parts():
    text = "Per RA-PPQ-LUMA and PC-RPT-005 at SITE-A for a CAR-T product (MFG-1)."
    assert document_ids(text) == ["RA-PPQ-LUMA", "PC-RPT-005", "MFG-1"]


def test_a_text_as_companies_write_it_covers_each_factor():
    text = ("Three consecutive drug substance lots were chosen from the stage 1 risk assessment (PPQ-RA-003): "
            "the unit operations with residual high risk are each exercised once per lot. Intensified "
            "sampling per PPQ-PROT-001 s8 covers within-lot variability.")
    r = read_justification(LotCountJustification(text=text))
    assert r.in_text == FACTORS and r.complete and r.evidence == ("PPQ-RA-003", "PPQ-PROT-001")


def test_a_field_on_record_wins_over_the_text_and_the_evidence_list_over_cited_ids():
    j = LotCountJustification(text="Low variability of 31 clinical lots (PD-9).", control_strategy="CPV of all lots.",
                              evidence=["PD-RPT-007"])
    r = read_justification(j)
    assert r.on_record == ("control_strategy",)
    assert r.in_text == ("process_understanding", "process_complexity")
    assert r.evidence == ("PD-RPT-007",) and r.complete


def test_a_bare_convention_is_empty_and_named():
    r = read_justification(LotCountJustification(text="Three lots are the industry standard."))
    assert r.empty and r.convention == "industry standard"
    assert r.missing == (*FACTORS, "evidence")


def test_nothing_on_record_is_empty_without_a_convention():
    r = read_justification(None)
    assert r.empty and r.convention is None and not r.complete


@given(st.text(max_size=400))
def test_any_text_is_read_without_error_and_consistently(text):
    r = read_justification(LotCountJustification(text=text))
    assert set(r.in_text) | set(r.missing) >= set(FACTORS)
    assert not set(r.in_text) & set(r.missing)
    assert ("evidence" in r.missing) is (not r.evidence)
