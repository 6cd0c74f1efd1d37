"""Citations: every rule cites real, current sources, spelled once; each finding cites and remedies
the record it names (a potency finding never cites a mycoplasma source)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmcflex.rules import citations
from cmcflex.rules.base import REGISTRY
from tests.helpers import findings_for
from tests.rules.test_gmp import good_files
from tests.rules.test_specifications import base_methods, base_tests

RULES_DIR = Path(citations.__file__).parent

# Revoked or reserved sections, and labels that are not sources.
NOT_SOURCES = [
    re.compile(r"610\.30"),  # mycoplasma test, revoked 2020 (85 FR 51635)
    re.compile(r"610\.11"),  # general safety test, reserved since 2015 (80 FR 37971)
    re.compile(r"610\.10\s*[–-]\s*610\.1"),  # a range spanning the reserved 610.11
    re.compile(r"precedent", re.IGNORECASE),
    re.compile(r"CRL history", re.IGNORECASE),
    re.compile(r"^data consistency$", re.IGNORECASE),
    re.compile(r"flexibility announcement", re.IGNORECASE),
    re.compile(r"Q6B[^,]*, section 2\.3"),
]


def _all_cites() -> list[tuple[str, str]]:
    return [(r.id, c) for r in REGISTRY for c in r.cites]


@pytest.mark.parametrize("rule_id, cite", _all_cites())
def test_no_rule_cites_a_revoked_section_or_a_label(rule_id: str, cite: str) -> None:
    assert not any(p.search(cite) for p in NOT_SOURCES), f"{rule_id} cites {cite!r}"


def test_the_may_2026_guidance_and_the_january_page_by_their_titles() -> None:
    for rule_id in ("GMP-001", "SPEC-003", "SPEC-007", "SPEC-008", "PPQ-005"):
        rule = REGISTRY.get(rule_id)
        assert rule is not None and citations.FLEX_2026 in rule.cites, rule_id
    assert "Flexible Requirements for Cell and Gene Therapies to Advance Innovation" in citations.CBER_2026
    assert "(web page, January 11, 2026)" in citations.CBER_2026
    assert "(December 2023)" in citations.POTENCY_ASSURANCE and "(July 2023)" in citations.CGT_COMPARABILITY


def test_statistics_cite_q6b_section_2_6_and_justification_sections_3_and_4() -> None:
    spec7 = REGISTRY.get("SPEC-007")
    assert spec7 is not None and any("2.6" in c and "Q6B" in c for c in spec7.cites)
    for rule_id in ("SPEC-005", "SPEC-006"):
        rule = REGISTRY.get(rule_id)
        assert rule is not None and any(c.startswith("ICH Q6B") and "3 and 4" in c for c in rule.cites)


def test_rule_modules_spell_no_source_of_their_own() -> None:
    """Sources are spelled once, in citations.py: a rule module holds no literal 'CFR', 'ICH',
    'USP' or 'FDA, …' string inside a ``cites=`` argument."""
    for path in sorted(RULES_DIR.glob("*.py")):
        if path.name in ("citations.py", "remedies.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "cites":
                literals = [n.value for n in ast.walk(node.value)
                            if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                spelled = [s for s in literals if re.match(r"(21 CFR|ICH|USP|FDA)", s)]
                assert spelled == [], f"{path.name}: {spelled}"


def test_one_spelling_per_source() -> None:
    """Two citation strings never name the same document two ways (same title, other date/form)."""
    strings = [v for k, v in vars(citations).items()
               if k.isupper() and isinstance(v, str) and not v.startswith(("21 CFR", "PHS Act"))]
    titles: dict[str, str] = {}
    for s in strings:
        core = re.sub(r"\s*\([^)]*\)\s*$", "", s.split(", section ")[0])
        core = re.sub(r"^(FDA|FDA draft guidance|FDA, Guidance for Industry):?,?\s*", "", core)
        assert core not in titles or titles[core] == s, f"{s!r} vs {titles[core]!r}"
        titles[core] = s


# ---------------------------------------------------------------------------- per finding


@pytest.fixture
def spec_dossier(dossier_dir: Callable[..., Path]) -> Callable[..., Path]:
    def build(tests: list[dict[str, Any]], methods: list[dict[str, Any]] | None = None,
              phase: str = "phase_3") -> Path:
        return dossier_dir({
            "specifications.yaml": {"specifications": [{"material": "drug_product", "tests": tests}]},
            "methods.yaml": {"methods": methods if methods is not None else base_methods()},
        }, phase=phase)
    return build


def _without(attribute: str) -> list[dict[str, Any]]:
    return [t for t in base_tests() if t["attribute"] != attribute]


def test_spec001_missing_potency_cites_potency_sources_only(spec_dossier: Callable[..., Path]) -> None:
    found = [f for f in findings_for(spec_dossier(_without("potency")), "SPEC-001")
             if f.record == "required test potency"]
    assert len(found) == 1
    cites = " | ".join(found[0].cites)
    assert "610.10" in cites and "600.3(s)" in cites and "Potency Assurance" in cites
    assert "<63>" not in cites and "ycoplasma" not in cites and "<71>" not in cites
    assert "potency assay" in found[0].remedy and "first patient" not in found[0].remedy


def test_spec001_missing_mycoplasma_cites_usp_63_and_the_ind_guidances(spec_dossier: Callable[..., Path]) -> None:
    found = [f for f in findings_for(spec_dossier(_without("mycoplasma")), "SPEC-001")
             if f.record == "required test mycoplasma"]
    assert len(found) == 1
    assert citations.USP_63 in found[0].cites and citations.GT_IND_2020 in found[0].cites
    assert citations.SOMATIC_IND_2008 in found[0].cites
    assert not any("610.10" in c or "Potency" in c for c in found[0].cites)
    assert "first patient" in found[0].remedy


def test_spec002_cites_the_safety_test_at_hand(spec_dossier: Callable[..., Path]) -> None:
    tests = [dict(t, criterion="Report result") if t["attribute"] == "endotoxin" else t for t in base_tests()]
    found = findings_for(spec_dossier(tests), "SPEC-002")
    assert len(found) == 1
    assert citations.USP_85 in found[0].cites and citations.CFR_312_23_A7 in found[0].cites
    assert citations.USP_71 not in found[0].cites and citations.CBER_2026 not in found[0].cites
    assert "endotoxin" in found[0].remedy and "EU/kg" in found[0].remedy


def _method(methods: list[dict[str, Any]], method_id: str, **change: Any) -> list[dict[str, Any]]:
    return [dict(m, **change) if m["id"] == method_id else m for m in methods]


def test_spec011_potency_method_gets_a_potency_remedy(spec_dossier: Callable[..., Path]) -> None:
    path = spec_dossier(base_tests(), _method(base_methods(), "M-POTENCY", status="qualified"), phase="bla")
    found = findings_for(path, "SPEC-011", phase="bla")
    assert [f.record for f in found] == ["method M-POTENCY"]
    assert "potency assay" in found[0].remedy and "safety method" not in found[0].remedy
    assert citations.POTENCY_ASSURANCE in found[0].cites and citations.CFR_211_165_E in found[0].cites


def test_spec011_phase_1_safety_method_cites_the_phase_1_guidance(spec_dossier: Callable[..., Path]) -> None:
    path = spec_dossier(base_tests(), _method(base_methods(), "M-STERILITY", status="in_development"),
                        phase="phase_1")
    found = findings_for(path, "SPEC-011", phase="phase_1")
    assert [f.record for f in found] == ["method M-STERILITY"]
    assert "safety method" in found[0].remedy
    assert any("Phase 1" in c and "V.F.1" in c for c in found[0].cites)
    assert not any("211.165" in c for c in found[0].cites)  # part 211 does not bind phase 1 material
    assert citations.POTENCY_ASSURANCE not in found[0].cites


def test_gmp003_batch_record_finding_cites_the_batch_record_sections(dossier_dir: Callable[..., Path]) -> None:
    files = good_files()
    files["gmp.yaml"]["controls"]["batch_records"] = {"status": "planned"}
    found = findings_for(dossier_dir(files), "GMP-003")
    assert len(found) == 1
    assert citations.CFR_211_186 in found[0].cites and citations.CFR_211_100 not in found[0].cites
    assert "batch record" in found[0].remedy and "written production" not in found[0].remedy


def test_gmp011_cites_610_15_only_for_a_licensed_product(dossier_dir: Callable[..., Path]) -> None:
    files = good_files()
    del files["gmp.yaml"]["materials"][1]["risk_assessment"]
    path = dossier_dir(files)
    early = findings_for(path, "GMP-011", phase="phase_2")
    late = findings_for(path, "GMP-011", phase="bla")
    assert early and late
    assert citations.CFR_610_15_A not in early[0].cites and citations.CFR_610_15_A in late[0].cites


@pytest.mark.parametrize("modality, rcr", [("car_t_autologous", True), ("aav", False)])
def test_rcv_finding_cites_the_rcr_guidance_only_for_a_retroviral_vector(
        dossier_dir: Callable[..., Path], modality: str, rcr: bool) -> None:
    path = dossier_dir({"specifications.yaml": {"specifications": [
        {"material": "drug_product", "tests": _without("replication_competent_virus")}]},
        "methods.yaml": {"methods": base_methods()}},
        phase="phase_3", product={"name": "T", "modality": modality})
    found = [f for f in findings_for(path, "SPEC-001") if f.record == "required test replication_competent_virus"]
    assert len(found) == 1 and citations.GT_IND_2020 in found[0].cites
    assert (citations.RCR_2020 in found[0].cites) is rcr


def test_sarif_rule_cites_the_union_and_each_result_its_own(spec_dossier: Callable[..., Path]) -> None:
    import json

    from cmcflex.report.formats import render
    from tests.helpers import report_for

    sarif = json.loads(render(report_for(spec_dossier(_without("potency"))), "sarif"))
    run = sarif["runs"][0]
    (descriptor,) = [r for r in run["tool"]["driver"]["rules"] if r["id"] == "SPEC-001"]
    spec001 = REGISTRY.get("SPEC-001")
    assert spec001 is not None and descriptor["properties"]["cites"] == list(spec001.cites)
    (result,) = [r for r in run["results"] if r["ruleId"] == "SPEC-001"]
    assert citations.POTENCY_ASSURANCE in result["properties"]["cites"]
    assert citations.USP_63 not in result["properties"]["cites"]


def test_gmp014_untraced_lot_cites_tracking(dossier_dir: Callable[..., Path]) -> None:
    from tests.helpers import lot_rows
    from tests.rules.test_gmp import allogeneic

    files = good_files()
    allogeneic(files)
    files["lots.csv"] = (lot_rows("L-101", "phase_2", {"viability": 80}, starting_material="healthy_donor")
                         + lot_rows("L-102", "phase_2", {"viability": 80}, starting_material="healthy_donor"))
    (f,) = findings_for(dossier_dir(files), "GMP-014", phase="phase_2")
    assert f.record == "lot L-102" and f.cites[0] == citations.CFR_1271_290
    eligible = dict(files)
    eligible["gmp.yaml"] = {**files["gmp.yaml"], "donors": [dict(files["gmp.yaml"]["donors"][0], tests_complete=False)]}
    eligible["lots.csv"] = lot_rows("L-101", "phase_2", {"viability": 80}, starting_material="healthy_donor")
    (g,) = findings_for(dossier_dir(eligible), "GMP-014", phase="phase_2")
    assert g.record == "donor D-0001" and citations.CFR_1271_290 not in g.cites
