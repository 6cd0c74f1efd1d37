"""Every output carries the CTD Module 3 sections of its findings, and `--group-by ctd` groups the
console, Markdown and HTML reports (and `plan`) by section in CTD order."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmcflex import ctd
from cmcflex.api import build_report
from cmcflex.cli import app
from cmcflex.dossier.loader import load_dossier
from cmcflex.report import console, github, html, junit, markdown, sarif
from cmcflex.report import json as json_report
from cmcflex.report.grouping import group_findings
from cmcflex.report.model import Report
from tests.helpers import AS_OF

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dossiers" / "cart-phase2"


@pytest.fixture(scope="module")
def real() -> Report:
    """The CAR T phase 2 sample checked for the BLA with every rule: findings in many sections."""
    from cmcflex.phases import Phase

    return build_report(load_dossier(SAMPLE), as_of=AS_OF, target=Phase.BLA, path_label="cart-phase2")


def _in_ctd_order(keys: list[tuple[str, ...]]) -> bool:
    return keys == sorted(keys, key=ctd.sort_key) and len(set(keys)) == len(keys)


def test_json_findings_carry_real_sections_narrowed_to_their_material(real: Report) -> None:
    doc = json.loads(json_report.render(real))
    assert doc["findings"] and all(f["ctd"] for f in doc["findings"])
    assert all(ctd.is_section(s) for f in doc["findings"] for s in f["ctd"])
    drug_product = [f for f in doc["findings"] if (f["record"] or "").startswith("test drug_product/")]
    assert drug_product and all(s.startswith("3.2.P.") for f in drug_product for s in f["ctd"])
    by_rule = {f["rule"]: f["ctd"] for f in doc["findings"]}
    assert by_rule["SPEC-009"] == ["3.2.P.5.4"]  # a drug product lot
    assert by_rule["SPEC-011"] == ["3.2.P.5.3"]  # a method serving drug product tests only


def test_sarif_files_results_and_rules_under_the_m4q_taxonomy(real: Report, shared_dir: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    doc = json.loads(sarif.render(real))
    schema = json.loads((shared_dir / "schemas" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(doc)
    run = doc["runs"][0]
    (taxonomy,) = run["taxonomies"]
    assert taxonomy["name"] == ctd.TAXONOMY
    assert run["tool"]["driver"]["supportedTaxonomies"] == [{"name": ctd.TAXONOMY, "index": 0}]
    ids = [t["id"] for t in taxonomy["taxa"]]
    assert ids == list(ctd.ordered(ids)) and all(ctd.is_section(s) for s in ids)
    assert taxonomy["taxa"][ids.index("3.2.P.5.3")]["name"] == "Validation of Analytical Procedures"
    findings = [*real.findings, *real.waived]
    for result, finding in zip(run["results"], findings, strict=True):
        assert [t["id"] for t in result["taxa"]] == finding.ctd
        assert all(ids[t["index"]] == t["id"] for t in result["taxa"])
    for descriptor in run["tool"]["driver"]["rules"]:
        targets = [r["target"]["id"] for r in descriptor["relationships"]]
        assert targets and all(ids[r["target"]["index"]] == r["target"]["id"] for r in descriptor["relationships"])


def test_junit_names_each_rules_sections_and_each_findings(real: Report, shared_dir: Path) -> None:
    text = junit.render(real)
    root = ET.fromstring(text)
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["ctd.SPEC-011"] == "3.2.S.4.3 3.2.P.5.3"
    assert props["ctd.PPQ-001"] == "3.2.S.2.5 3.2.P.3.5"
    failures = "\n".join(f.text or "" for f in root.iter("failure"))
    assert "ctd:    3.2.P.5.3 Validation of Analytical Procedures" in failures  # its methods test drug product
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(str(shared_dir / "schemas" / "junit.xsd")).validate(text)


def test_markdown_html_and_console_show_each_findings_sections(real: Report) -> None:
    line = "3.2.S.2.5 Process Validation and/or Evaluation; 3.2.P.3.5 Process Validation and/or Evaluation"
    assert f"  - CTD: {line}" in markdown.render(real)
    assert f'<span class="k">CTD</span> {line}' in html.render(real)
    assert re.search(r"CTD\s+3\.2\.S\.2\.5 Process Validation", console.render(real))


def test_github_annotation_titles_name_each_findings_sections(real: Report) -> None:
    commands = [line for line in github.render(real, per_step=100).splitlines() if line.startswith("::")][1:]
    findings = [*real.findings, *real.waived]
    assert len(commands) == len(findings)
    titles = [re.search(r",?title=(.*?)::", line).group(1) for line in commands]  # type: ignore[union-attr]
    shown = sorted(re.search(r" \[([^\]]*)\]$", t).group(1) for t in titles)  # type: ignore[union-attr]
    assert shown == sorted("%2C ".join(f.ctd) for f in findings)  # ", " escaped as a property value
    spec009 = next(t for t in titles if t.startswith("SPEC-009 "))
    assert spec009 == "SPEC-009 (major) Released lots meet the specification [3.2.P.5.4]"
    several = next(t for t in titles if t.startswith("PPQ-008 "))
    assert several.endswith(" [3.2.S.2.5%2C 3.2.P.3.5]")


def test_a_github_annotation_of_a_finding_without_a_section_has_no_brackets(real: Report) -> None:
    bare = real.model_copy(update={"findings": [real.findings[0].model_copy(update={"ctd": []})], "waived": []})
    (command,) = [line for line in github.render(bare).splitlines() if line.startswith("::")][1:]
    assert "[" not in command.split("::")[1]


def test_grouping_by_ctd_orders_groups_by_section_and_shows_each_finding_once(real: Report) -> None:
    grouping = group_findings(real, "ctd")
    keys = [tuple(g.findings[0].ctd) for g in grouping.groups]
    assert len(keys) > 3 and _in_ctd_order(keys)
    assert all(tuple(f.ctd) == key for g, key in zip(grouping.groups, keys) for f in g.findings)
    assert sorted(f.fingerprint for g in grouping.groups for f in g.findings) == sorted(
        f.fingerprint for f in real.findings)
    assert any(note.startswith("PPQ:") for note in grouping.notes)  # the PPQ digest is kept


def _heading_keys(headings: list[str]) -> list[tuple[str, ...]]:
    return [tuple(re.findall(r"3\.2\.[SPAR](?:\.\d+)*", h)) for h in headings]


def test_each_grouped_format_follows_ctd_order(real: Report) -> None:
    md_heads = re.findall(r"^#### (.*)$", markdown.render(real, group_by="ctd"), flags=re.M)
    html_heads = re.findall(r"<h3>(.*?)</h3>", html.render(real, group_by="ctd"))
    text_heads = [line for line in console.render(real, group_by="ctd").splitlines() if line.startswith("3.2.")]
    for heads in (md_heads, html_heads, text_heads):
        keys = _heading_keys(heads)
        assert len(keys) == len(group_findings(real, "ctd").groups) and _in_ctd_order(keys), heads
    by_area = re.findall(r"^#### (\w+) —", markdown.render(real), flags=re.M)  # the default
    assert by_area == [a for a in ("GMP", "SPEC", "PPQ", "CMP", "STAB", "FLEX") if a in by_area] and len(by_area) > 2


def test_check_and_plan_take_group_by_ctd(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "report.md"
    result = runner.invoke(app, ["check", str(SAMPLE), "--as-of", AS_OF.isoformat(), "--target", "bla",
                                 "--group-by", "ctd", "-o", f"markdown:{out}"])
    assert result.exit_code == 1, result.output
    heads = re.findall(r"^#### (.*)$", out.read_text(encoding="utf-8"), flags=re.M)
    assert heads[0].startswith("3.2.S.") and _in_ctd_order(_heading_keys(heads))
    first = result.output.index("3.2.S.2.1 Manufacturer(s)")
    assert first < result.output.index("3.2.P.5.3 Validation of Analytical Procedures")
    plan = runner.invoke(app, ["plan", str(SAMPLE), "--as-of", AS_OF.isoformat(), "--group-by", "ctd", "-f", "json"])
    assert plan.exit_code == 0, plan.output
    milestone = max(json.loads(plan.output)["milestones"], key=lambda m: m["added"]["total"])
    keys = [tuple(k.split()) for k in milestone["added"]["by_ctd"]]
    assert keys and _in_ctd_order(keys)
    assert all(f["ctd"] == list(k) for k, group in zip(keys, milestone["added"]["by_ctd"].values()) for f in group)
    text = runner.invoke(app, ["plan", str(SAMPLE), "--as-of", AS_OF.isoformat(), "--group-by", "ctd"]).output
    assert "3.2.P.5.3 Validation of Analytical Procedures" in text and "SPEC — Specifications" not in text


def test_a_portfolio_writes_each_report_grouped_by_ctd(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "portfolio"
    for name in ("a", "b"):
        shutil.copytree(SAMPLE, folder / name)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["check", str(folder / "a"), str(folder / "b"), "--as-of", AS_OF.isoformat(),
                                      "-f", "markdown", "--output-dir", str(out), "--group-by", "ctd"])
    assert result.exit_code == 1, result.output
    for name in ("a", "b"):
        heads = re.findall(r"^#### (.*)$", (out / f"{name}.md").read_text(encoding="utf-8"), flags=re.M)
        assert heads and heads[0].startswith("3.2.") and _in_ctd_order(_heading_keys(heads))


def test_the_summary_table_counts_by_section_when_grouped_by_ctd(real: Report) -> None:
    text = markdown.render(real, group_by="ctd")
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| 3.2.")]
    keys = _heading_keys([r[0] for r in rows])
    assert keys == [tuple(g.findings[0].ctd) for g in group_findings(real, "ctd").groups]
    assert sum(int(n) for r in rows for n in r[1:5]) == len(real.findings)
    assert "| Area |" in markdown.render(real) and "| Area |" not in text
    page = html.render(real, group_by="ctd")
    assert "<h2>Summary by CTD section</h2>" in page and "<h2>Summary by area</h2>" not in page
