"""``cmcflex plan``: what each coming milestone adds to the dossier's gaps.

One dossier is loaded once; the rule engine runs once for the current phase and once for each
later milestone (``build_report`` with ``target``). A gap is a finding at minor or above; a
milestone *adds* the gaps whose fingerprint was not a gap at the milestone before it, and
*raises* those whose severity went up.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from cmcflex.dossier.loader import Dossier
from cmcflex.phases import Phase, rule_phase
from cmcflex.report.model import Finding, Report
from cmcflex.rules.base import Area, Severity

GAP_LEVEL = Severity.MINOR
LABELS = {
    "pivotal": "to start the pivotal study",
    Phase.BLA: "to file the BLA",
    Phase.POST_APPROVAL: "after approval",
}


@dataclass(frozen=True)
class Raised:
    finding: Finding
    was: Severity


@dataclass
class Milestone:
    """The gaps open at one milestone, and what it adds to the milestone before it."""

    key: str  # "now", "pivotal", "bla", "post_approval"
    label: str
    target: Phase | None
    evaluated_phase: Phase
    open: list[Finding]
    added: list[Finding] = field(default_factory=list)
    raised: list[Raised] = field(default_factory=list)
    closed: list[Finding] = field(default_factory=list)  # gaps of the previous step that no longer apply
    waived: list[Finding] = field(default_factory=list)  # gaps a waiver accepts at this step

    def counts(self, findings: list[Finding]) -> dict[str, int]:
        return {s.value: sum(1 for f in findings if f.severity is s) for s in reversed(Severity) if s >= GAP_LEVEL}


@dataclass
class Plan:
    product: str
    modality: str
    path: str
    phase: Phase
    pivotal_phase: Phase
    as_of: str
    now: Milestone
    milestones: list[Milestone]

    def summary(self) -> str:
        """``to start the pivotal study: 4 gaps; to file the BLA: 11 more; ...``."""
        parts = []
        for i, m in enumerate(self.milestones):
            n = len(m.added)
            unit = "gap" if n == 1 else "gaps"
            parts.append(f"{m.label}: {n} {unit}" if i == 0 else f"{m.label}: {n} more")
        return "; ".join(parts) if parts else "no later milestone: the product is post-approval"


def milestones_for(current: Phase, pivotal: Phase) -> list[tuple[str, Phase]]:
    """(key, target phase) for each milestone after ``current``, in order."""
    out: list[tuple[str, Phase]] = []
    if rule_phase(current, pivotal) < Phase.PHASE_3:
        out.append(("pivotal", pivotal))
    for phase in (Phase.BLA, Phase.POST_APPROVAL):
        if current < phase:
            out.append((phase.value, phase))
    return out


def _gaps(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.severity >= GAP_LEVEL]


def build_plan(dossier: Dossier, as_of: dt.date | None = None, path_label: str | None = None,
               phase: Phase | None = None, **options: Any) -> Plan:
    """Run the rules at the current phase and at each later milestone; diff the gaps.

    ``options`` go to every ``build_report`` call unchanged (rules, overrides, extra_waivers).
    """
    from cmcflex.api import build_report
    from cmcflex.views import DossierViews

    as_of = as_of or dt.date.today()
    info = dossier.info
    current = phase or info.phase
    views = DossierViews(dossier)  # built once, shared by every milestone
    base = build_report(dossier, phase=phase, as_of=as_of, path_label=path_label, views=views, **options)
    now = Milestone("now", f"now ({current.label})", None, base.evaluated_phase, _gaps(base), waived=list(base.waived))
    steps = [now]
    for key, target in milestones_for(current, info.pivotal_phase):
        report = build_report(dossier, phase=phase, target=target, as_of=as_of, path_label=path_label,
                              views=views, **options)
        step = Milestone(key, LABELS.get(key, LABELS.get(target, target.label)), target,
                         report.evaluated_phase, _gaps(report), waived=list(report.waived))
        _diff(steps[-1], step)
        steps.append(step)
    return Plan(
        product=info.product.name,
        modality=info.product.modality.value,
        path=path_label if path_label is not None else str(dossier.root),
        phase=current,
        pivotal_phase=info.pivotal_phase,
        as_of=as_of.isoformat(),
        now=now,
        milestones=steps[1:],
    )


def _diff(before: Milestone, after: Milestone) -> None:
    """Added: open now, unknown before. Raised: open now and graver than before, including a gap a
    waiver accepted before that it no longer covers (outgrown)."""
    previous = {f.fingerprint: f for f in (*before.waived, *before.open)}
    present = {f.fingerprint for f in after.open}
    for finding in after.open:
        old = previous.get(finding.fingerprint)
        if old is None:
            after.added.append(finding)
        elif finding.severity > old.severity:
            after.raised.append(Raised(finding, old.severity))
    after.closed = [f for f in before.open if f.fingerprint not in present]


def by_area(findings: list[Finding]) -> list[tuple[str, str, list[Finding]]]:
    """(area id, area title, findings) in the catalogue's area order, most severe first."""
    out = []
    for area in Area:
        group = [f for f in findings if f.area == area.value]
        if group:
            group.sort(key=lambda f: (-f.severity.rank, f.rule, f.file, f.line or 0, f.record or ""))
            out.append((area.value, area.title, group))
    return out


def by_ctd(findings: list[Finding]) -> list[tuple[str, str, list[Finding]]]:
    """(section ids, their titles, findings) per group of CTD Module 3 sections, in CTD order, most
    severe first; a finding with no section comes last."""
    from cmcflex import ctd
    from cmcflex.report.grouping import section_label

    groups: dict[tuple[str, ...], list[Finding]] = {}
    for f in findings:
        groups.setdefault(tuple(f.ctd), []).append(f)
    out = []
    for key, group in sorted(groups.items(), key=lambda item: ctd.sort_key(item[0])):
        group.sort(key=lambda f: (-f.severity.rank, f.rule, f.file, f.line or 0, f.record or ""))
        out.append((" ".join(key), " · ".join(section_label(s) for s in key) or "No CTD section", group))
    return out


def grouped(findings: list[Finding], group_by: str = "area") -> list[tuple[str, str, list[Finding]]]:
    """``by_area`` or ``by_ctd``."""
    return by_ctd(findings) if group_by == "ctd" else by_area(findings)


# ---------------------------------------------------------------------------- JSON


def _finding(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "area": f.area, "severity": f.severity.value, "title": f.title,
            "message": f.message, "file": f.file, "line": f.line, "record": f.record,
            "remedy": f.remedy, "fingerprint": f.fingerprint, "ctd": list(f.ctd)}


def _milestone(m: Milestone, group_by: str = "area") -> dict[str, Any]:
    return {
        "milestone": m.key,
        "label": m.label,
        "target": m.target.value if m.target else None,
        "evaluated_phase": m.evaluated_phase.value,
        "open": {"total": len(m.open), **m.counts(m.open)},
        "added": {"total": len(m.added), **m.counts(m.added),
                  "by_area": {area: [_finding(f) for f in group] for area, _, group in by_area(m.added)},
                  **({"by_ctd": {key: [_finding(f) for f in group] for key, _, group in by_ctd(m.added)}}
                     if group_by == "ctd" else {})},
        "raised": [{**_finding(r.finding), "was": r.was.value} for r in sorted(
            m.raised, key=lambda r: (r.finding.area, r.finding.rule, r.finding.fingerprint))],
        "closed": sorted(f.fingerprint for f in m.closed),
    }


def plan_json(plan: Plan, group_by: str = "area") -> str:
    """The plan as stable JSON (no timestamps); ``group_by="ctd"`` adds each milestone's new gaps
    by CTD Module 3 sections (``by_ctd``, keyed by the space-separated section ids)."""
    data = {
        "dossier": {"path": plan.path, "product": plan.product, "modality": plan.modality,
                    "phase": plan.phase.value, "pivotal_phase": plan.pivotal_phase.value},
        "as_of": plan.as_of,
        "gap_level": GAP_LEVEL.value,
        "summary": plan.summary(),
        "now": {"evaluated_phase": plan.now.evaluated_phase.value,
                "open": {"total": len(plan.now.open), **plan.now.counts(plan.now.open)}},
        "milestones": [_milestone(m, group_by) for m in plan.milestones],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
