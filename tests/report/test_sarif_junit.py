"""SARIF and JUnit outputs: valid against the official schemas, and saying the right things."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cmcflex.report import junit, sarif
from cmcflex.report.model import Report
from cmcflex.rules.base import Severity


@pytest.fixture
def sarif_schema(shared_dir: Path) -> dict:
    return json.loads((shared_dir / "schemas" / "sarif-2.1.0.json").read_text(encoding="utf-8"))


@pytest.fixture
def junit_schema(shared_dir: Path):  # type: ignore[no-untyped-def]
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(str(shared_dir / "schemas" / "junit.xsd"))


def test_sarif_is_valid_against_the_official_schema(report: Report, sarif_schema: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    doc = json.loads(sarif.render(report))
    jsonschema.Draft4Validator(sarif_schema).validate(doc)


def test_sarif_invalid_document_is_caught_by_the_schema(report: Report, sarif_schema: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    doc = json.loads(sarif.render(report))
    doc["runs"][0]["results"][0]["level"] = "blocker"  # not a SARIF level
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(sarif_schema).validate(doc)


def test_sarif_results_rules_and_suppressions(report: Report) -> None:
    run = json.loads(sarif.render(report))["runs"][0]
    results = run["results"]
    assert len(results) == len(report.findings) + len(report.waived) == 4
    by_rule = {(r["ruleId"], r["level"]) for r in results}
    assert ("GMP-003", "error") in by_rule and ("SPEC-005", "warning") in by_rule and ("SPEC-005", "note") in by_rule
    gmp3 = next(r for r in results if r["ruleId"] == "GMP-003")
    loc = gmp3["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "dossiers/cart/dossier.yaml" and loc["region"]["startLine"] == 2
    expected = next(f.fingerprint for f in report.findings if f.rule == "GMP-003")
    assert gmp3["partialFingerprints"] == {"cmcflex/v1": expected}
    waived = [r for r in results if "suppressions" in r]
    assert [r["ruleId"] for r in waived] == ["GMP-002"]
    sup = waived[0]["suppressions"][0]
    assert sup["kind"] == "external" and sup["status"] == "accepted"
    assert sup["justification"].startswith("Agreed at Type B meeting")
    assert sup["properties"] == {"approvedBy": "Head of RA", "expires": "2027-01-31"}
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["GMP-002", "GMP-003", "SPEC-005"]  # only rules that fired
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    assert "Write procedures." in rules[1]["help"]["text"] and "21 CFR 211.100" in rules[1]["help"]["text"]
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any("expired on 2026-01-01" in n for n in notes)
    assert any("matches no finding" in n for n in notes)
    assert any(n.startswith("STAB-001 not evaluated") for n in notes)
    assert {a["location"]["uri"] for a in run["artifacts"]} >= {"dossiers/cart/lots.csv", "dossiers/cart/waivers.yaml"}
    assert all(len(a["hashes"]["sha-256"]) == 64 for a in run["artifacts"])
    assert run["invocations"][0]["endTimeUtc"] == "2026-11-25T10:20:30Z"


def test_sarif_driver_points_at_the_documentation_not_a_guessed_url(report: Report, monkeypatch) -> None:
    monkeypatch.delenv("CMCFLEX_DOCS_URL", raising=False)
    driver = json.loads(sarif.render(report))["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver  # no public page: none invented, no relative URI code scanning refuses
    assert "docs/rules.md" in driver["fullDescription"]["text"] and "cmcflex explain" in driver["fullDescription"]["text"]
    assert "pypi.org" not in sarif.render(report)


def test_sarif_absolute_dossier_path_is_a_file_uri(report: Report) -> None:
    moved = report.model_copy(update={"dossier": report.dossier.model_copy(update={"path": "/data/my dossier"})})
    run = json.loads(sarif.render(moved))["runs"][0]
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "file:///data/my%20dossier/dossier.yaml"


def test_junit_is_valid_against_the_schema(report: Report, junit_schema) -> None:  # type: ignore[no-untyped-def]
    junit_schema.validate(junit.render(report))


def test_junit_broken_document_is_caught_by_the_schema(report: Report, junit_schema) -> None:  # type: ignore[no-untyped-def]
    text = junit.render(report).replace('hostname="localhost" ', "", 1)
    assert not junit_schema.is_valid(text)


def test_junit_testcase_per_rule_failures_and_skips(report: Report) -> None:
    root = ET.fromstring(junit.render(report))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert sorted(cases) == sorted(report.rules_evaluated) == ["GMP-002", "GMP-003", "SPEC-005", "STAB-001"]
    assert cases["GMP-003"].find("failure").get("type") == "major"
    assert cases["GMP-002"].find("skipped").get("message").startswith("waived: Agreed at Type B")
    assert cases["STAB-001"].find("skipped").get("message") == "not evaluated: stability.csv is absent"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    spec_out = suites["cmcflex.SPEC"].find("system-out").text
    assert "Gaps below --fail-on major" in spec_out and "[minor] SPEC-005 Lot L-102 viability" in spec_out
    assert "[info] SPEC-005 Note on endotoxin trend." in spec_out  # each listed gap names its rule
    assert suites["cmcflex.GMP"].get("failures") == "1" and suites["cmcflex.GMP"].get("skipped") == "1"
    assert suites["cmcflex.GMP"].get("timestamp") == "2026-11-25T10:20:30"
    props = {p.get("name"): p.get("value") for p in suites["cmcflex.GMP"].iter("property")}
    assert props["evaluated_phase"] == "phase_2" and len(props["sha256.lots.csv"]) == 64


def test_junit_gaps_below_fail_on_are_visible_on_their_test_case(report: Report) -> None:
    root = ET.fromstring(junit.render(report))
    case = next(c for c in root.iter("testcase") if c.get("name") == "SPEC-005")
    assert case.find("failure") is None  # minor + info are below --fail-on major: not a failure
    skipped = case.find("skipped")
    assert skipped.get("message") == ("below --fail-on major (1 minor, 1 info): "
                                      "Lot L-102 viability 64 % is below the limit >= 70 %.")
    assert "[minor] SPEC-005 Lot L-102" in skipped.text and "[info] SPEC-005 Note on endotoxin" in skipped.text
    spec = next(s for s in root.iter("testsuite") if s.get("name") == "cmcflex.SPEC")
    assert spec.get("failures") == "0" and spec.get("skipped") == "1"
    assert all(c.find("failure") is None for c in root.iter("testcase") if c.get("name") != "GMP-003")


def test_junit_failures_follow_fail_on(report: Report) -> None:
    strict = report.model_copy(update={"fail_on": Severity.MINOR})
    cases = {c.get("name"): c for c in ET.fromstring(junit.render(strict)).iter("testcase")}
    assert cases["SPEC-005"].find("failure").get("type") == "minor"


def test_junit_escapes_hostile_text(report: Report) -> None:
    text = junit.render(report)
    ET.fromstring(text)  # well-formed despite <, &, ]]> and an escape character in the dossier
    assert "\x1b" not in text and "<script>" not in text


def test_sarif_keeps_small_figures_and_drops_huge_ones(report: Report) -> None:
    small = report.findings[0].model_copy(update={"data": {"n": 3}})
    huge = report.findings[0].model_copy(update={"data": {"results": ["x" * 10] * 1000}, "rule": "GMP-003"})
    run = json.loads(sarif.render(report.model_copy(update={"findings": [small, huge]})))["runs"][0]
    assert run["results"][0]["properties"]["data"] == {"n": 3}
    assert "data" not in run["results"][1]["properties"]
