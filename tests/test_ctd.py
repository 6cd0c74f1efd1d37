"""The CTD Module 3 map: every rule names real M4Q(R1) sections, and findings carry them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cmcflex import ctd
from cmcflex.cli import app
from cmcflex.dossier.loader import Location
from cmcflex.engine import InternalError, sections_of
from cmcflex.rules import REGISTRY, common
from cmcflex.rules.base import Area, Gap, Registry, rule
from tests.helpers import findings_for

_ID = re.compile(r"^3\.2\.[SPAR](\.\d+){0,2}$")


def _numbers(section: str) -> tuple[Any, ...]:
    """A section id as comparable parts: S before P before A before R, then the numbers."""
    part, *numbers = section.split(".")[2:]
    return ("SPAR".index(part), *(int(n) for n in numbers))


def test_the_section_table_is_in_ctd_order_with_well_formed_ids() -> None:
    ids = list(ctd.SECTIONS)
    assert all(_ID.match(s) for s in ids), [s for s in ids if not _ID.match(s)]
    assert ids == sorted(ids, key=_numbers)
    assert ctd.title("3.2.P.5.6") == "Justification of Specification(s)"
    assert ctd.title("3.2.S.2.6") == "Manufacturing Process Development"
    assert ctd.title("3.2.A.2") == "Adventitious Agents Safety Evaluation"


def test_every_rule_names_at_least_one_real_m4q_section_in_ctd_order() -> None:
    for r in REGISTRY:
        assert r.ctd, f"{r.id} names no CTD Module 3 section"
        assert all(ctd.is_section(s) for s in r.ctd), (r.id, r.ctd)
        assert list(r.ctd) == sorted(r.ctd, key=_numbers), r.id


def test_areas_file_their_rules_where_a_bla_author_writes_them() -> None:
    by_id = {r.id: set(r.ctd) for r in REGISTRY}
    assert all(by_id[i] >= {"3.2.S.2.5", "3.2.P.3.5"} for i in by_id if i.startswith("PPQ-"))
    assert all(by_id[i] >= {"3.2.S.2.6", "3.2.P.2.3"} for i in by_id if i.startswith("CMP-"))
    assert all(s.startswith(("3.2.S.7", "3.2.P.8")) for i in by_id if i.startswith("STAB-") for s in by_id[i])
    assert by_id["SPEC-004"] == {"3.2.S.4.5", "3.2.P.5.6"}
    assert "3.2.P.5.3" in by_id["SPEC-011"] and "3.2.A.1" in by_id["GMP-007"]


def test_the_registry_refuses_a_section_m4q_does_not_have() -> None:
    registry = Registry()
    with pytest.raises(ValueError, match="3.2.P.9"):
        rule(id="SPEC-900", slug="x", title="x", area=Area.SPEC, severity={}, cites=(), remedy="", why="",
             registry=registry, ctd=("3.2.P.9",))(lambda d, c: iter(()))


def test_narrow_keeps_the_part_of_the_material() -> None:
    both = ("3.2.S.4.5", "3.2.P.5.6", "3.2.A.1")
    assert ctd.narrow(both, "drug_product") == ("3.2.P.5.6", "3.2.A.1")
    assert ctd.narrow(both, "drug_substance") == ("3.2.S.4.5", "3.2.A.1")
    assert ctd.narrow(both, "vector") == ("3.2.S.4.5", "3.2.A.1")
    assert ctd.narrow(both, "cryopreserved_intermediate") == both
    assert ctd.narrow(both, None) == both
    assert ctd.narrow(("3.2.P.5.1",), "drug_substance") == ("3.2.P.5.1",)  # never left with none


def test_material_of_reads_only_specification_test_records() -> None:
    assert common.material_of(common.test_record("vector", "titer")) == "vector"
    assert common.material_of("lot L-1") is None and common.material_of(None) is None


def test_a_gap_may_file_its_record_under_its_own_sections() -> None:
    spec = REGISTRY.get("SPEC-004")
    assert spec is not None
    at = Location("specifications.yaml", 3)
    assert sections_of(spec, Gap("m", at, record=common.test_record("drug_product", "x"))) == ("3.2.P.5.6",)
    assert sections_of(spec, Gap("m", at, ctd=("3.2.R", "3.2.P.5.1"))) == ("3.2.P.5.1", "3.2.R")
    with pytest.raises(InternalError, match="3.2.Q"):
        sections_of(spec, Gap("m", at, ctd=("3.2.Q",)))


def _unjustified(attribute: str) -> dict[str, Any]:
    return {"attribute": attribute, "method": "M-1", "criterion": ">= 10 %"}


def test_findings_on_drug_substance_and_drug_product_tests_file_under_s_and_p(
        dossier_dir: Callable[..., Path]) -> None:
    path = dossier_dir({
        "specifications.yaml": {"specifications": [
            {"material": "drug_substance", "tests": [_unjustified("purity")]},
            {"material": "drug_product", "tests": [_unjustified("viability")]},
            {"material": "vector", "tests": [_unjustified("titer")]},
        ]},
        "methods.yaml": {"methods": [{"id": "M-1", "status": "qualified"}]},
    }, phase="bla")
    found = {f.record: f.ctd for f in findings_for(path, "SPEC-004", phase="bla")}
    assert found == {"test drug_substance/purity": ["3.2.S.4.5"], "test drug_product/viability": ["3.2.P.5.6"],
                     "test vector/titer": ["3.2.S.4.5"]}


def test_rules_and_explain_show_the_sections() -> None:
    runner = CliRunner()
    explained = runner.invoke(app, ["explain", "SPEC-011"])
    assert explained.exit_code == 0
    assert "3.2.P.5.3 Validation of Analytical Procedures" in explained.output
    listed = runner.invoke(app, ["rules", "--format", "json"])
    assert '"ctd": [\n      "3.2.S.2.5",\n      "3.2.P.3.5"\n    ]' in listed.output
    markdown = runner.invoke(app, ["rules", "--format", "markdown"])
    assert "CTD Module 3: 3.2.S.4.5 Justification of Specification; 3.2.P.5.6 Justification of Specification(s)" \
        in markdown.output


def test_a_method_finding_keeps_the_sections_of_the_materials_it_tests(dossier_dir: Callable[..., Path]) -> None:
    test = {"attribute": "purity", "method": "M-1", "criterion": ">= 10 %",
            "justification": {"basis": "clinical_lots", "text": "Lots."}}
    path = dossier_dir({
        "specifications.yaml": {"specifications": [
            {"material": "drug_substance", "tests": [test]},
            {"material": "drug_product", "tests": [{**test, "method": "M-2"}, {**test, "attribute": "x"}]},
        ]},
        "methods.yaml": {"methods": [{"id": "M-1", "status": "qualified"}, {"id": "M-2", "status": "qualified"}]},
    }, phase="bla")
    found = {f.record: f.ctd for f in findings_for(path, "SPEC-011", phase="bla")}
    assert found == {"method M-1": ["3.2.S.4.3", "3.2.P.5.3"], "method M-2": ["3.2.P.5.3"]}


def test_a_human_derived_excipient_files_under_excipients_of_human_or_animal_origin(
        dossier_dir: Callable[..., Path]) -> None:
    from tests.rules.test_gmp import build, material

    ancillary = build(dossier_dir, material(1, risk_assessment=None, role="ancillary"))
    excipient = build(dossier_dir, material(1, risk_assessment=None, role="excipient"))
    assert [f.ctd for f in findings_for(ancillary, "GMP-011", phase="bla")] == [["3.2.S.2.3", "3.2.A.2"]]
    assert [f.ctd for f in findings_for(excipient, "GMP-011", phase="bla")] == [["3.2.P.4.5", "3.2.A.2"]]
