"""Waivers: justification required, scope matching, expiry, unused waivers, --waivers files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from cmcflex.api import build_report
from cmcflex.dossier.errors import DossierError
from cmcflex.dossier.loader import load_dossier
from cmcflex.waivers import load_waivers_file
from tests.helpers import AS_OF
from tests.report.sample import RULES, sample_dossier


def _report(path: Path, as_of: dt.date = AS_OF, extra=None):  # type: ignore[no-untyped-def]
    return build_report(load_dossier(path), as_of=as_of, rules=RULES, extra_waivers=extra)


def test_waived_finding_kept_with_its_justification(tmp_path: Path) -> None:
    report = _report(sample_dossier(tmp_path / "d"))
    assert [f.rule for f in report.waived] == ["GMP-002"]
    assert "GMP-002" not in {f.rule for f in report.findings}
    w = report.waived[0]
    assert w.waiver_justification.startswith("Agreed at Type B") and w.waiver_approved_by == "Head of RA"
    assert report.counts["waived"] == 1


def test_expired_waiver_stops_applying_and_is_reported(tmp_path: Path) -> None:
    report = _report(sample_dossier(tmp_path / "d"))
    assert "GMP-003" in {f.rule for f in report.findings}
    expired = [n for n in report.waiver_notes if n.status == "expired"]
    assert [(n.rule, n.expires, n.line) for n in expired] == [("GMP-003", "2026-01-01", 7)]
    later = _report(tmp_path / "d", as_of=dt.date(2027, 2, 1))  # the GMP-002 waiver has expired too
    assert later.waived == [] and {n.rule for n in later.waiver_notes if n.status == "expired"} == {"GMP-002", "GMP-003"}


def test_unused_waiver_reported(tmp_path: Path) -> None:
    report = _report(sample_dossier(tmp_path / "d"))
    unused = [n for n in report.waiver_notes if n.status == "unused"]
    assert [(n.rule, n.scope) for n in unused] == [("STAB-001", "change CHG-999")]


def test_scope_limits_a_waiver_to_a_record(tmp_path: Path) -> None:
    path = sample_dossier(tmp_path / "d")
    data = {"waivers": [{"rule": "SPEC-005", "scope": "lot L-102", "justification": "Lot investigated, INV-9"}]}
    (path / "waivers.yaml").write_text(yaml.safe_dump(data))
    report = _report(path)
    assert [(f.rule, f.record) for f in report.waived] == [("SPEC-005", "lot L-102")]
    assert ("SPEC-005", "test drug_product/endotoxin") in {(f.rule, f.record) for f in report.findings}


def test_waivers_file_applies_and_is_located(tmp_path: Path) -> None:
    path = sample_dossier(tmp_path / "d")
    extra = tmp_path / "team-waivers.yaml"
    extra.write_text("waivers:\n  - rule: gmp-003\n    scope: dossier.yaml\n    justification: Accepted by QA\n")
    located, entry = load_waivers_file(extra)
    assert located[0].line == 2 and located[0].file == str(extra)
    assert entry.role == "waivers" and len(entry.sha256) == 64 and entry.bytes == extra.stat().st_size
    report = _report(path, extra=located)
    assert {f.rule for f in report.waived} == {"GMP-002", "GMP-003"}


@pytest.mark.parametrize("text, expected", [
    ("waivers:\n  - rule: GMP-002\n", "required field 'justification' is missing"),
    ("waivers:\n  - rule: GMP-002\n    justification: '   '\n", "a waiver needs a justification"),
    ("waivers:\n  - rule: GMP-002\n    justifcation: x\n", "did you mean 'justification'"),
    ("waivers:\n  - rule: GMP-002\n    justification: x\n    expires: soon\n", "waivers[0].expires"),
    ("- just a list\n", "expected a mapping"),
    ("waivers: [\n", "invalid YAML"),
])
def test_bad_waivers_file_is_a_located_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(DossierError) as err:
        load_waivers_file(path)
    assert expected in str(err.value) and str(path) in str(err.value)


def test_missing_waivers_file(tmp_path: Path) -> None:
    with pytest.raises(DossierError, match="no such waivers file"):
        load_waivers_file(tmp_path / "absent.yaml")


def test_waiver_does_not_carry_over_to_a_graver_gap_at_the_target(dossier_dir):
    """A waiver accepted a minor gap in phase 1; at --target bla the gap is a blocker and stays open."""
    from tests.helpers import report_for

    gmp = {"controls": {"change_control": {"status": "planned"}}}
    waivers = {"waivers": [{"rule": "GMP-006", "justification": "Paper change control until the eQMS is live.",
                            "approved_by": "QA head", "expires": "2027-06-30"}]}
    path = dossier_dir({"gmp.yaml": gmp, "waivers.yaml": waivers}, phase="phase_1")
    now = report_for(path)
    assert [f.rule for f in now.waived] == ["GMP-006"] and now.waiver_notes == []
    later = report_for(path, target="bla")
    assert [f.rule for f in later.waived] == []
    (open_gap,) = [f for f in later.findings if f.rule == "GMP-006"]
    assert open_gap.severity.value == "blocker"
    (note,) = later.waiver_notes
    assert note.status == "outgrown" and "minor gap of phase 1" in note.detail


def test_waiver_naming_no_rule_says_so_and_suggests_the_id(dossier_dir):
    from tests.helpers import report_for

    waivers = {"waivers": [{"rule": "GMP-09", "justification": "Typo in the rule id.", "approved_by": "QA"}]}
    report = report_for(dossier_dir({"waivers.yaml": waivers}))
    (note,) = report.waiver_notes
    assert note.status == "unknown_rule"
    assert "there is no rule GMP-09" in note.detail
    from cmcflex.report.common import note_text

    assert "waives nothing" in note_text(note)


@pytest.mark.parametrize("extra, shown", [
    ({}, "(no approver recorded, no expiry)"),
    ({"approved_by": "QA head", "expires": "2027-06-30"}, "(approved by QA head, expires 2027-06-30)"),
])
def test_a_waived_gap_shows_who_accepted_it_and_until_when(dossier_dir, extra, shown):
    from cmcflex.report import console, markdown
    from tests.helpers import report_for

    gmp = {"controls": {"change_control": {"status": "planned"}}}
    waivers = {"waivers": [{"rule": "GMP-006", "justification": "Paper change control until the eQMS is live.",
                            **extra}]}
    report = report_for(dossier_dir({"gmp.yaml": gmp, "waivers.yaml": waivers}, phase="phase_1"))
    assert [f.rule for f in report.waived] == ["GMP-006"]
    for text in (console.render(report), markdown.render(report)):
        assert f"Paper change control until the eQMS is live. {shown}" in " ".join(text.split())
