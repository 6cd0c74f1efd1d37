"""The rule set matches the team's catalogue, and the rules reference in docs/ is current."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from cmcflex.cli import app
from cmcflex.phases import PHASES
from cmcflex.rules import REGISTRY
from cmcflex.rules.catalogue import rules_markdown

ROOT = Path(__file__).resolve().parents[1]
_LEVEL = {"B": "blocker", "Ma": "major", "Mi": "minor", "I": "info"}


def _catalogue_rows(text: str) -> dict[str, tuple[str, list[str]]]:
    """id -> (slug, [P1, P2, P3, BLA, PA] cells) from the catalogue's rule tables."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 9 and re.fullmatch(r"[A-Z]+-\d{3}", cells[0]):
            rows[cells[0]] = (cells[1], cells[3:8])
    return rows


def _expected(cell: str) -> str | None:
    """The catalogue cell's severity; 'B/Mi' style cells grade parts, the rule's own level is the first."""
    if cell in ("—", "-", ""):
        return None
    return _LEVEL[cell.split("/")[0]]


def test_every_catalogue_rule_is_registered_with_its_slug_and_severities(shared_dir):
    rows = _catalogue_rows((shared_dir / "rules-catalogue.md").read_text(encoding="utf-8"))
    assert len(rows) >= 53
    for rule_id, (slug, cells) in rows.items():
        rule = REGISTRY.get(rule_id)
        assert rule is not None, f"{rule_id} is in the catalogue but not registered"
        assert rule.slug == slug, rule_id
        for phase, cell in zip(PHASES, cells):
            got = rule.severity.get(phase)
            assert (got.value if got else None) == _expected(cell), (rule_id, phase, cell)
            if "/" in cell:  # a part graded lower, e.g. SPEC-001 "B/Mi"
                part = rule.partial.get(phase)
                assert part is not None and part.value == _LEVEL[cell.split("/")[1]], (rule_id, phase, cell)


def test_split_grades_show_in_the_rules_table():
    from cmcflex.phases import Phase
    from cmcflex.rules.catalogue import grade

    spec001 = REGISTRY.get("SPEC-001")
    assert [grade(spec001, p) for p in PHASES] == ["B/Mi", "B/Ma", "B", "B", "B"]
    assert grade(REGISTRY.get("PPQ-005"), Phase.BLA) == "B/Ma"
    assert grade(REGISTRY.get("GMP-017"), Phase.PHASE_1) == "—"


def test_rules_reference_in_docs_is_generated_from_the_metadata():
    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert doc == rules_markdown(REGISTRY), "run: cmcflex rules --format markdown > docs/rules.md"
    for rule in REGISTRY:
        assert f"### {rule.id}" in doc


def test_rules_markdown_command_prints_the_reference():
    result = CliRunner().invoke(app, ["rules", "--format", "markdown"])
    assert result.exit_code == 0
    assert result.output == rules_markdown(REGISTRY)
