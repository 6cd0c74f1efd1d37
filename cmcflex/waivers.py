"""Waivers: accepted gaps, each with a justification, an approver and an optional expiry.

A waived finding is kept and shown in every format, never dropped. An expired waiver no
longer applies and the report says so; a waiver that matches nothing is reported as unused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cmcflex.dossier.models import Waiver
from cmcflex.report.model import Finding, WaivedFinding, WaiverNote


@dataclass(frozen=True)
class LocatedWaiver:
    waiver: Waiver
    file: str
    line: int | None


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def matches(waiver: Waiver, finding: Finding) -> bool:
    """A waiver matches a finding of its rule, within its scope (a file or a record)."""
    if waiver.rule.strip().upper() != finding.rule:
        return False
    if not waiver.scope:
        return True
    scope = _norm(waiver.scope)
    return scope == _norm(finding.file) or (finding.record is not None and scope == _norm(finding.record))


def apply_waivers(
    findings: list[Finding], waivers: list[LocatedWaiver], as_of: dt.date
) -> tuple[list[Finding], list[WaivedFinding], list[WaiverNote]]:
    """Split findings into open and waived; report expired and unused waivers."""
    active: list[LocatedWaiver] = []
    notes: list[WaiverNote] = []
    for lw in waivers:
        w = lw.waiver
        if w.expires is not None and w.expires < as_of:
            notes.append(WaiverNote(rule=w.rule, scope=w.scope, status="expired",
                                    expires=w.expires.isoformat(), line=lw.line, file=lw.file))
        else:
            active.append(lw)
    used: set[int] = set()
    open_findings: list[Finding] = []
    waived: list[WaivedFinding] = []
    for f in findings:
        hit = next((i for i, lw in enumerate(active) if matches(lw.waiver, f)), None)
        if hit is None:
            open_findings.append(f)
            continue
        used.add(hit)
        w = active[hit].waiver
        waived.append(WaivedFinding(
            **f.model_dump(),
            waiver_justification=w.justification,
            waiver_approved_by=w.approved_by,
            waiver_expires=w.expires.isoformat() if w.expires else None,
        ))
    for i, lw in enumerate(active):
        if i not in used:
            w = lw.waiver
            notes.append(WaiverNote(rule=w.rule, scope=w.scope, status="unused",
                                    expires=w.expires.isoformat() if w.expires else None,
                                    line=lw.line, file=lw.file))
    return open_findings, waived, notes
