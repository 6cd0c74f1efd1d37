"""cmcflex plan: the gaps each milestone adds, computed once per milestone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cmcflex.api
from cmcflex.authoring.plan import build_plan, milestones_for, plan_json
from cmcflex.cli import app
from cmcflex.dossier.loader import load_dossier
from cmcflex.phases import Phase
from tests.helpers import AS_OF

runner = CliRunner()
GMP_OK = {"quality_unit": {"independent": True, "responsibilities_written": True},
          "controls": {"written_procedures": {"status": "in_place"}, "batch_records": {"status": "in_place"}}}


def test_milestones_from_the_current_phase():
    assert milestones_for(Phase.PHASE_1, Phase.PHASE_3) == [
        ("pivotal", Phase.PHASE_3), ("bla", Phase.BLA), ("post_approval", Phase.POST_APPROVAL)]
    assert milestones_for(Phase.PHASE_1, Phase.PHASE_2) == [
        ("pivotal", Phase.PHASE_2), ("bla", Phase.BLA), ("post_approval", Phase.POST_APPROVAL)]
    assert milestones_for(Phase.PHASE_2, Phase.PHASE_2) == [("bla", Phase.BLA), ("post_approval", Phase.POST_APPROVAL)]
    assert milestones_for(Phase.BLA, Phase.PHASE_3) == [("post_approval", Phase.POST_APPROVAL)]
    assert milestones_for(Phase.POST_APPROVAL, Phase.PHASE_3) == []


def test_a_missing_ppq_protocol_is_added_for_the_pivotal_study_and_raised_for_the_bla(dossier_dir):
    path = dossier_dir({"gmp.yaml": GMP_OK}, phase="phase_1")
    plan = build_plan(load_dossier(path), as_of=AS_OF)
    pivotal, bla, after = plan.milestones
    assert (pivotal.key, pivotal.label, pivotal.evaluated_phase) == ("pivotal", "to start the pivotal study",
                                                                     Phase.PHASE_3)
    assert "PPQ-001" not in {f.rule for f in plan.now.open}
    assert [f.severity.value for f in pivotal.added if f.rule == "PPQ-001"] == ["minor"]
    assert "PPQ-001" not in {f.rule for f in bla.added}
    assert [(r.was.value, r.finding.severity.value) for r in bla.raised if r.finding.rule == "PPQ-001"] == [
        ("minor", "blocker")]
    assert "PPQ-009" not in {f.rule for f in bla.added}  # without ppq.yaml, PPQ-001 says it
    assert "PPQ-008" not in {f.rule for f in bla.added}
    assert after.label == "after approval"


def test_added_gaps_are_new_and_the_counts_add_up(dossier_dir):
    path = dossier_dir({"gmp.yaml": GMP_OK}, phase="phase_1")
    plan = build_plan(load_dossier(path), as_of=AS_OF)
    before = plan.now
    for m in plan.milestones:
        previous = {f.fingerprint for f in before.open}
        assert not previous & {f.fingerprint for f in m.added}
        assert len(m.open) == len(before.open) - len(m.closed) + len(m.added)
        assert all(f.severity.value != "info" for f in m.open)
        before = m
    n = [len(m.added) for m in plan.milestones]
    assert plan.summary() == (f"to start the pivotal study: {n[0]} gap{'s' if n[0] != 1 else ''}; to file the BLA: {n[1]} more; "
                              f"after approval: {n[2]} more")


def test_a_gap_that_outgrows_its_waiver_is_raised_not_new(dossier_dir):
    """Waived as a minor gap in phase 1; a blocker at the BLA, where the waiver no longer covers it."""
    gmp = {**GMP_OK, "controls": {**GMP_OK["controls"], "change_control": {"status": "planned"}}}
    waivers = {"waivers": [{"rule": "GMP-006", "justification": "Paper change control until the eQMS is live.",
                            "approved_by": "QA head", "expires": "2027-06-30"}]}
    plan = build_plan(load_dossier(dossier_dir({"gmp.yaml": gmp, "waivers.yaml": waivers}, phase="phase_1")),
                      as_of=AS_OF)
    assert "GMP-006" not in {f.rule for f in plan.now.open}
    assert "GMP-006" in {f.rule for f in plan.now.waived}
    raised = [(m.key, r.was.value, r.finding.severity.value) for m in plan.milestones for r in m.raised
              if r.finding.rule == "GMP-006"]
    added = [m.key for m in plan.milestones for f in m.added if f.rule == "GMP-006"]
    assert raised and raised[0][1] == "minor" and raised[0][2] in ("major", "blocker")
    assert added == []


def test_rules_run_once_per_milestone_on_one_loaded_dossier(dossier_dir, monkeypatch):
    path = dossier_dir(phase="phase_2")
    calls = []
    real = cmcflex.api.build_report

    def counting(dossier, **kw):
        calls.append((id(dossier), kw.get("target")))
        return real(dossier, **kw)

    monkeypatch.setattr(cmcflex.api, "build_report", counting)
    build_plan(load_dossier(path), as_of=AS_OF)
    assert [t for _, t in calls] == [None, Phase.PHASE_3, Phase.BLA, Phase.POST_APPROVAL]
    assert len({i for i, _ in calls}) == 1


def test_post_approval_has_no_milestone(dossier_dir):
    plan = build_plan(load_dossier(dossier_dir(phase="post_approval")), as_of=AS_OF)
    assert plan.milestones == []
    assert "post-approval" in plan.summary()


def test_cli_json_equals_the_library_and_console_shows_areas(dossier_dir):
    path = dossier_dir({"gmp.yaml": GMP_OK}, phase="phase_1")
    result = runner.invoke(app, ["plan", str(path), "--as-of", AS_OF.isoformat(), "-f", "json", "--no-config"])
    assert result.exit_code == 0, result.output
    expected = plan_json(build_plan(load_dossier(path), as_of=AS_OF, path_label=str(path)))
    assert result.output == expected
    data = json.loads(result.output)
    assert [m["milestone"] for m in data["milestones"]] == ["pivotal", "bla", "post_approval"]
    assert "PPQ" in data["milestones"][0]["added"]["by_area"]
    console = runner.invoke(app, ["plan", str(path), "--as-of", AS_OF.isoformat(), "--no-config"])
    assert console.exit_code == 0, console.output
    assert "To start the pivotal study" in console.output
    assert "PPQ — Process performance qualification" in console.output
    assert "Summary: to start the pivotal study:" in console.output


def test_cli_plan_of_a_broken_dossier_is_a_load_error(dossier_dir):
    path = dossier_dir({"methods.yaml": "methods:\n  - {id: M-1, status: validatd}\n"})
    result = runner.invoke(app, ["plan", str(path), "--no-config"])
    assert result.exit_code == 2
    assert "did you mean 'validated'" in result.output


@pytest.mark.parametrize("folder", ["aav-bla", "cart-phase2", "allo-phase1"])
def test_plan_of_each_sample_dossier(folder):
    path = Path(__file__).resolve().parents[2] / "sample_dossiers" / folder
    if not path.is_dir():
        pytest.skip(f"sample dossier {folder} not present")
    plan = build_plan(load_dossier(path), as_of=AS_OF)
    assert plan.milestones and plan.milestones[-1].key == "post_approval"
