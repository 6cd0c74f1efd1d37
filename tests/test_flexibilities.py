"""The May 2026 flexibilities: every point of the guidance is modelled by a rule, the table and
docs/flexibilities.md are generated from the rule metadata, and FLEX-001 knows every topic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmcflex.cli import app
from cmcflex.dossier.models import FlexibilityTopic
from cmcflex.flexibilities import POINTS
from cmcflex.rules import REGISTRY, Area
from cmcflex.rules.base import Registry, rule
from cmcflex.rules.citations import CBER_2026, FLEX_2026
from cmcflex.rules.flexibility import CHOICE_WORDS
from cmcflex.rules.flexibility_docs import flexibilities_markdown, modelled_by

ROOT = Path(__file__).resolve().parents[1]


def test_docs_page_is_generated_from_the_metadata() -> None:
    doc = (ROOT / "docs" / "flexibilities.md").read_text(encoding="utf-8")
    assert doc == flexibilities_markdown(REGISTRY), \
        "run: cmcflex flexibilities --format markdown > docs/flexibilities.md"


@pytest.mark.parametrize("point", [p for p in POINTS.values() if p.sourcing != "inf"], ids=lambda p: p.id)
def test_every_sourced_point_is_modelled_by_a_rule_that_cites_the_guidance(point) -> None:
    rules = modelled_by(point, REGISTRY)
    assert rules, f"no rule names {point.id} in flexibilities="
    for r in rules:
        assert FLEX_2026 in r.cites, f"{r.id} models {point.id} but does not cite the May 2026 guidance"


def test_the_guidance_is_cited_by_title_and_date() -> None:
    assert "Chemistry, Manufacturing, and Controls Flexibilities for Developing Human Cellular and Gene " \
           "Therapy Products for a Biologics License Application" in FLEX_2026 and "May 5, 2026" in FLEX_2026
    assert "Flexible Requirements for Cell and Gene Therapies to Advance Innovation" in CBER_2026
    assert "January 11, 2026" in CBER_2026
    for r in REGISTRY:
        for c in r.cites:
            assert "announcement" not in c.lower(), (r.id, c)


def test_rules_on_one_source_say_so_in_their_why() -> None:
    for p in POINTS.values():
        if p.sourcing != "1":
            continue
        for r in modelled_by(p, REGISTRY):
            if set(r.flexibilities) <= {q.id for q in POINTS.values() if q.sourcing == "1"}:
                assert "source" in r.why.lower(), f"{r.id} rests on {p.id} (one source) without saying so"


def test_flex_001_names_every_topic_and_every_topic_belongs_to_a_point() -> None:
    assert set(CHOICE_WORDS) == set(FlexibilityTopic)
    assert {p.topic for p in POINTS.values() if p.topic is not None} == set(FlexibilityTopic)


def test_a_rule_naming_an_unknown_point_is_refused() -> None:
    with pytest.raises(ValueError, match="not a point of the flexibilities guidance"):
        rule(id="GMP-901", slug="x", title="x", area=Area.GMP, severity={}, cites=(), remedy="", why="",
             flexibilities=("PV9",), registry=Registry())(lambda d, ctx: [])


def test_cli_lists_the_points_with_their_rules() -> None:
    result = CliRunner().invoke(app, ["flexibilities", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert set(rows) == set(POINTS)
    assert rows["G3"]["rules"] == ["FLEX-001"] and rows["PV2"]["fda_interaction_topic"] == "ppq_lot_count"
    explained = CliRunner().invoke(app, ["explain", "GMP-001"])
    assert "CD1" in explained.stdout and "Phase-appropriate CGMP" in explained.stdout


def _ppq_dossier(tmp_path: Path, overlay: dict) -> Path:
    import yaml

    from tests.helpers import write_dossier
    from tests.rules.rule_cases import dossier_files

    base = yaml.safe_load((ROOT / "tests" / "rules" / "cases" / "bases" / "ppq.yaml").read_text(encoding="utf-8"))
    return write_dossier(tmp_path / "d", dossier_files(base, overlay, "test"))


def test_dossier_mode_lists_each_flexible_choice_with_its_interaction_and_conditions(tmp_path: Path) -> None:
    folder = _ppq_dossier(tmp_path, {"dossier.yaml": {"fda_interactions": [
        {"id": "MTG-7", "type": "type_B", "date": "2025-07-15", "outcome": "agreed", "topics": ["ppq_lot_count"]}]}})
    result = CliRunner().invoke(app, ["flexibilities", str(folder), "--as-of", "2026-11-25", "--format", "json"])
    assert result.exit_code == 0, result.output
    uses = {u["topic"]: u for u in json.loads(result.stdout)}
    assert list(uses) == ["ppq_lot_count", "concurrent_release"]
    assert uses["ppq_lot_count"]["points"] == ["PV1", "PV2"]
    assert uses["ppq_lot_count"]["fda_interactions"] == ["type_B 2025-07-15 (agreed)"]
    assert uses["ppq_lot_count"]["conditions_met"] is True
    release = uses["concurrent_release"]
    assert release["conditions_met"] is False and release["fda_interactions"] == []
    assert [(f["rule"], f["severity"]) for f in release["findings"]] == [("FLEX-001", "major")]
    text = CliRunner().invoke(app, ["flexibilities", str(folder), "--as-of", "2026-11-25"])
    assert "PV3" in text.stdout and "none on record" in text.stdout


def test_dossier_mode_refuses_markdown_and_reports_a_bad_dossier_located(tmp_path: Path) -> None:
    folder = _ppq_dossier(tmp_path, {})
    assert CliRunner().invoke(app, ["flexibilities", str(folder), "-f", "markdown"]).exit_code == 2
    (folder / "dossier.yaml").write_text("cmcflex: 1\nphase: [\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["flexibilities", str(folder)])
    assert result.exit_code == 2 and "dossier.yaml" in result.output and "Traceback" not in result.output


SAMPLES = ROOT / "sample_dossiers"


def _uses(folder: Path, as_of: str) -> dict[str, dict]:
    result = CliRunner().invoke(app, ["flexibilities", str(folder), "--as-of", as_of, "-f", "json"])
    assert result.exit_code == 0, result.output
    return {u["topic"]: u for u in json.loads(result.stdout)}


def test_samples_use_flexibilities_with_and_without_their_conditions() -> None:
    clean = _uses(SAMPLES / "edited-hsc-bla", "2026-12-01")
    assert set(clean) == {"concurrent_release", "criteria_reevaluation", "single_lot_method_validation",
                          "platform_method", "reserve_samples"}
    assert all(u["conditions_met"] and u["fda_interactions"] for u in clean.values()), clean
    assert {p for u in clean.values() for p in u["points"]} >= {"PV3", "CS2", "CS3", "CS4", "CS5", "CS7"}
    with_meeting = _uses(SAMPLES / "cart-phase2", "2026-11-25")
    assert set(with_meeting) == {"ppq_lot_count", "concurrent_release"}
    assert all(u["conditions_met"] for u in with_meeting.values())
    without = _uses(SAMPLES / "cart-ppq-unjustified", "2026-11-25")
    assert set(without) == {"ppq_lot_count", "concurrent_release"}
    for topic, rule_id in (("ppq_lot_count", "PPQ-002"), ("concurrent_release", "PPQ-005")):
        named = {(f["rule"], f["severity"]) for f in without[topic]["findings"]}
        assert named == {(rule_id, "major"), ("FLEX-001", "major")}, (topic, named)
