"""The registry refuses duplicates; the engine runs rules by phase and stamps findings."""

from __future__ import annotations

import datetime as dt

import pytest

from cmcflex.api import build_report
from cmcflex.dossier.loader import Location, load_dossier
from cmcflex.phases import Phase
from cmcflex.rules.base import (
    MA,
    MI,
    Area,
    Gap,
    NotEvaluated,
    Registry,
    Severity,
    by_phase,
    rule,
)

AS_OF = dt.date(2026, 11, 25)


def _registry():
    reg = Registry()

    @rule(id="GMP-901", slug="always-fires", title="Fires", area=Area.GMP,
          severity=by_phase(None, MI, MA, MA, MA), cites=("21 CFR 211.22",),
          remedy="Do the thing.", why="Because.", registry=reg)
    def always(d, ctx):
        yield Gap("something is missing.", Location("gmp.yaml", 3), record="site SITE-A")

    @rule(id="GMP-902", slug="needs-data", title="Needs data", area=Area.GMP,
          severity=by_phase(MI, MI, MI, MI, MI), cites=("x",), remedy="r", why="w", registry=reg)
    def needs(d, ctx):
        yield NotEvaluated("gmp.yaml is missing")

    return reg


def test_registry_refuses_duplicates_and_bad_ids():
    reg = _registry()
    with pytest.raises(ValueError, match="duplicate rule id"):
        rule(id="GMP-901", slug="other", title="t", area=Area.GMP, severity={}, cites=(),
             remedy="", why="", registry=reg)(lambda d, c: [])
    with pytest.raises(ValueError, match="not of the form"):
        rule(id="gmp1", slug="x", title="t", area=Area.GMP, severity={}, cites=(),
             remedy="", why="", registry=reg)(lambda d, c: [])
    with pytest.raises(ValueError, match="filed under area"):
        rule(id="PPQ-999", slug="y", title="t", area=Area.GMP, severity={}, cites=(),
             remedy="", why="", registry=reg)(lambda d, c: [])


def test_engine_stamps_identity_and_phase_severity(dossier_dir):
    d = load_dossier(dossier_dir(phase="phase_2"))
    report = build_report(d, as_of=AS_OF, rules=list(_registry()))
    (finding,) = report.findings
    assert (finding.rule, finding.area, finding.severity, finding.file, finding.line) == (
        "GMP-901", "GMP", Severity.MINOR, "gmp.yaml", 3)
    assert finding.cites == ["21 CFR 211.22"] and finding.remedy == "Do the thing."
    assert report.not_evaluated[0].reason == "gmp.yaml is missing"
    assert report.rules_evaluated == ["GMP-901", "GMP-902"]
    assert report.verdict == "pass"  # minor < default fail-on major


def test_rule_not_applied_at_phase_is_not_run(dossier_dir):
    d = load_dossier(dossier_dir(phase="phase_1"))
    report = build_report(d, as_of=AS_OF, rules=list(_registry()))
    assert report.findings == [] and report.rules_evaluated == ["GMP-902"]


def test_target_uses_milestone_severity_and_says_needed_by(dossier_dir):
    d = load_dossier(dossier_dir(phase="phase_2"))
    report = build_report(d, as_of=AS_OF, target=Phase.BLA, rules=list(_registry()))
    (finding,) = report.findings
    assert finding.severity is Severity.MAJOR
    assert finding.message == "something is missing (needed by BLA)."
    assert report.verdict == "fail" and report.evaluated_phase is Phase.BLA


def test_needed_by_only_where_the_target_asks_more_than_today(dossier_dir):
    """A gap already as grave today, or an info note, does not say "needed by"."""
    reg = Registry()

    @rule(id="GMP-903", slug="same-today", title="Same", area=Area.GMP,
          severity=by_phase(MA, MA, MA, MA, MA), cites=("x",), remedy="r", why="w", registry=reg)
    def same(d, ctx):
        yield Gap("already a gap.", Location("gmp.yaml", 1))

    @rule(id="GMP-904", slug="info-note", title="Info", area=Area.GMP,
          severity=by_phase(MA, MA, MA, MA, MA), cites=("x",), remedy="r", why="w",
          grading="Where the flexibility applies, the gap is info.", registry=reg)
    def note(d, ctx):
        yield Gap("the flexibility applies.", Location("gmp.yaml", 2), severity=Severity.INFO)

    @rule(id="GMP-905", slug="grows", title="Grows", area=Area.GMP,
          severity=by_phase(None, MI, MA, Severity.BLOCKER, MA), cites=("x",), remedy="r", why="w",
          registry=reg)
    def grows(d, ctx):
        yield Gap("not yet in place.", Location("gmp.yaml", 3))

    d = load_dossier(dossier_dir(phase="phase_2"))
    msgs = {f.rule: f.message for f in build_report(d, as_of=AS_OF, target=Phase.BLA, rules=list(reg)).findings}
    assert msgs == {"GMP-903": "already a gap.", "GMP-904": "the flexibility applies.",
                    "GMP-905": "not yet in place (needed by BLA)."}
    post = build_report(d, as_of=AS_OF, target=Phase.POST_APPROVAL, rules=list(reg)).findings
    assert [f.message for f in post if f.rule == "GMP-905"] == ["not yet in place (needed after approval)."]


def test_severity_override_is_recorded(dossier_dir):
    d = load_dossier(dossier_dir(phase="phase_2"))
    report = build_report(d, as_of=AS_OF, rules=list(_registry()), overrides={"GMP-901": Severity.BLOCKER})
    (finding,) = report.findings
    assert finding.severity is Severity.BLOCKER and finding.default_severity is Severity.MINOR


def test_same_input_gives_the_same_report(dossier_dir):
    path = dossier_dir(phase="phase_2")
    a = build_report(load_dossier(path), as_of=AS_OF).model_dump_json()
    b = build_report(load_dossier(path), as_of=AS_OF).model_dump_json()
    assert a == b


def _graded_registry() -> Registry:
    """A rule whose main grade is a blocker, with a part graded minor before phase 3 (as SPEC-001)."""
    reg = Registry()

    @rule(id="GMP-906", slug="graded-parts", title="Graded", area=Area.GMP,
          severity=by_phase(Severity.BLOCKER, Severity.BLOCKER, Severity.BLOCKER, Severity.BLOCKER,
                            Severity.BLOCKER),
          partial=by_phase(MI, MI, None, None, None), grading="Another test missing is minor before phase 3.",
          cites=("x",), remedy="r", why="w", registry=reg)
    def graded(d, ctx):
        yield Gap("a safety test is missing.", Location("gmp.yaml", 1), record="safety")
        part = MI if ctx.phase < Phase.PHASE_3 else Severity.BLOCKER
        yield Gap("another test is missing.", Location("gmp.yaml", 2), record="other", severity=part)

    return reg


def test_needed_by_compares_the_same_gap_today_not_the_rule(dossier_dir):
    """A part graded minor today and a blocker at the BLA is needed by the BLA; a part that is a
    blocker today too is not."""
    d = load_dossier(dossier_dir(phase="phase_2"))
    report = build_report(d, as_of=AS_OF, target=Phase.BLA, rules=list(_graded_registry()))
    msgs = {f.record: (f.severity, f.message) for f in report.findings}
    assert msgs == {"safety": (Severity.BLOCKER, "a safety test is missing."),
                    "other": (Severity.BLOCKER, "another test is missing (needed by BLA).")}


def test_a_waiver_of_a_part_graded_minor_today_does_not_cover_it_as_a_blocker(dossier_dir):
    waivers = {"waivers": [{"rule": "GMP-906", "scope": "other", "justification": "Added in phase 3.",
                            "approved_by": "QA head"}]}
    d = load_dossier(dossier_dir({"waivers.yaml": waivers}, phase="phase_2"))
    rules = list(_graded_registry())
    now = build_report(d, as_of=AS_OF, rules=rules)
    assert [f.record for f in now.waived] == ["other"]
    later = build_report(d, as_of=AS_OF, target=Phase.BLA, rules=rules)
    assert later.waived == [] and [n.status for n in later.waiver_notes] == ["outgrown"]
    assert "minor gap of phase 2" in later.waiver_notes[0].detail


def _grades_registry(grade: Severity, *, grading: str = "", partial=None) -> Registry:
    """One rule, major at every phase, whose single finding is graded ``grade``."""
    reg = Registry()

    @rule(id="GMP-907", slug="grades", title="Grades", area=Area.GMP, severity=by_phase(MA, MA, MA, MA, MA),
          partial=partial, grading=grading, cites=("x",), remedy="r", why="w", registry=reg)
    def grades(d, ctx):
        yield Gap("a part is missing.", Location("gmp.yaml", 1), severity=grade)

    return reg


def _severities(dossier_dir, reg: Registry) -> list[Severity]:
    d = load_dossier(dossier_dir(phase="phase_2"))
    return [f.severity for f in build_report(d, as_of=AS_OF, rules=list(reg)).findings]


def test_a_finding_graded_apart_from_a_rule_without_grading_is_an_internal_error(dossier_dir):
    from cmcflex.engine import InternalError

    with pytest.raises(InternalError, match="GMP-907 graded a finding info at phase_2.*without declaring grading"):
        _severities(dossier_dir, _grades_registry(Severity.INFO))
    assert _severities(dossier_dir, _grades_registry(MA)) == [MA]  # its own grade needs no declaration


def test_a_rule_with_grading_may_grade_a_finding_info_or_its_partial_grade_only(dossier_dir):
    from cmcflex.engine import InternalError

    declared = "A part is info, or minor at phase 2."
    assert _severities(dossier_dir, _grades_registry(Severity.INFO, grading=declared)) == [Severity.INFO]
    partial = by_phase(None, MI, None, None, None)
    assert _severities(dossier_dir, _grades_registry(MI, grading=declared, partial=partial)) == [MI]
    with pytest.raises(InternalError, match="GMP-907 graded a finding minor at phase_2; it declares major or info"):
        _severities(dossier_dir, _grades_registry(MI, grading=declared))
    with pytest.raises(InternalError, match="graded a finding blocker at phase_2; it declares major, minor or info"):
        _severities(dossier_dir, _grades_registry(Severity.BLOCKER, grading=declared, partial=partial))


def test_the_registry_refuses_partial_grades_it_cannot_explain_or_apply() -> None:
    with pytest.raises(ValueError, match="partial grades without grading"):
        _grades_registry(MI, partial=by_phase(MI, None, None, None, None))
    reg = Registry()
    with pytest.raises(ValueError, match="partial grades at phases where it does not apply"):
        rule(id="GMP-908", slug="late", title="Late", area=Area.GMP, severity=by_phase(None, None, MA, MA, MA),
             partial=by_phase(MI, None, None, None, None), grading="g", cites=("x",), remedy="r", why="w",
             registry=reg)(lambda d, ctx: iter(()))


def test_two_findings_of_a_rule_on_one_record_have_their_own_fingerprints(dossier_dir):
    """Waivers, --target and diffs key findings by fingerprint: two parts of a rule on one record
    (a method validated on one lot and on a platform) must not share one."""
    from cmcflex.engine import fingerprint

    reg = Registry()

    @rule(id="GMP-907", slug="two-parts", title="Two parts", area=Area.GMP, severity=by_phase(MI, MI, MA, MA, MA),
          cites=("x",), remedy="r", why="w", registry=reg)
    def two(d, ctx):
        yield Gap("one part is missing.", Location("methods.yaml", 5), record="method M-1")
        yield Gap("another part is missing.", Location("methods.yaml", 5), record="method M-1")

    def keys() -> dict[str, str]:
        report = build_report(load_dossier(dossier_dir(phase="phase_3")), as_of=AS_OF, rules=list(reg))
        return {f.message: f.fingerprint for f in report.findings}

    found = keys()
    first, second = found["one part is missing."], found["another part is missing."]
    assert first == fingerprint("GMP-907", "methods.yaml", "method M-1", "")  # the first keeps the plain key
    assert second != first
    assert keys() == found  # stable from run to run


@pytest.mark.parametrize("name", ["aav-bla", "allo-phase1", "cart-phase2", "cart-ppq-unjustified", "edited-hsc-bla"])
def test_every_finding_of_a_sample_has_its_own_fingerprint(name):
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "sample_dossiers" / name
    for phase in (None, Phase.BLA, Phase.POST_APPROVAL):
        report = build_report(load_dossier(path), phase=phase, as_of=AS_OF)
        keys = [f.fingerprint for f in [*report.findings, *report.waived]]
        assert len(keys) == len(set(keys)), (name, phase)
