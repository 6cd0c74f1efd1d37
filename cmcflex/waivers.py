"""Waivers: accepted gaps, each with a justification, an approver and an optional expiry.

A waived finding is kept and shown in every format, never dropped. An expired waiver no
longer applies and the report says so; a waiver that matches nothing is reported as unused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import NamedTuple

from cmcflex.dossier.models import Waiver
from cmcflex.report.model import Finding, InputEntry, WaivedFinding, WaiverNote
from cmcflex.rules.base import Severity

MAX_WAIVERS_BYTES = 5 * 1024 * 1024


class LocatedWaiver(NamedTuple):
    waiver: Waiver
    file: str
    line: int | None


def load_waivers_file(path: str | os.PathLike[str]) -> tuple[list[LocatedWaiver], InputEntry]:
    """Read a waivers file given with ``--waivers`` (same format and checks as waivers.yaml).

    Raises :class:`DossierError` with every located problem; the waivers are located by the
    path as given, and the file's SHA-256 is returned for the report's provenance.
    """
    from pydantic import ValidationError

    from cmcflex.dossier.errors import DossierError, Problem, not_utf8
    from cmcflex.dossier.loader import _validation_problems
    from cmcflex.dossier.models import WaiversFile
    from cmcflex.dossier.yaml_source import YamlProblem, parse_yaml

    label = str(path)
    from cmcflex.paths import read_regular_file

    try:
        data = read_regular_file(Path(path), MAX_WAIVERS_BYTES)
    except FileNotFoundError:
        raise DossierError([Problem(label, 0, 0, "", "no such waivers file")]) from None
    except OSError as exc:
        raise DossierError([Problem(label, 0, 0, "", f"cannot read file: {exc.strerror or exc}")]) from None
    except ValueError as exc:
        raise DossierError([Problem(label, 0, 0, "", f"not a waivers file: {exc}")]) from None
    entry = InputEntry(file=label, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), role="waivers")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DossierError([not_utf8(label, [data]) or Problem(label, 1, 1, "", "not UTF-8 text")]) from None
    try:
        raw, source = parse_yaml(text, label)
    except YamlProblem as exc:
        raise DossierError([exc.problem]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise DossierError([Problem(label, 1, 1, "", f"expected a mapping with key 'waivers', "
                                    f"found a {type(raw).__name__}")])
    try:
        model = WaiversFile.model_validate(raw)
    except ValidationError as exc:
        raise DossierError(_validation_problems(exc, WaiversFile, label, source)) from None
    located = [LocatedWaiver(w, label, source.line(("waivers", i)) or None) for i, w in enumerate(model.waivers)]
    return located, entry


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
    findings: list[Finding], waivers: list[LocatedWaiver], as_of: dt.date,
    ceiling: dict[str, tuple[Severity, str]] | None = None,
    known_rules: frozenset[str] | None = None,
) -> tuple[list[Finding], list[WaivedFinding], list[WaiverNote]]:
    """Split findings into open and waived; report expired, unused, outgrown and unknown-rule waivers.

    ``ceiling`` (finding fingerprint or rule id → (severity, phase label)) caps what a waiver
    covers when checking a later milestone: a finding graver than the same gap today (else than
    the rule's severity today) stays open, and the waiver is reported as outgrown.
    """
    active: list[LocatedWaiver] = []
    notes: list[WaiverNote] = []
    for lw in waivers:
        w = lw.waiver
        if known_rules is not None and w.rule.strip().upper() not in known_rules:
            from cmcflex.dossier.errors import did_you_mean

            notes.append(WaiverNote(rule=w.rule, scope=w.scope, status="unknown_rule",
                                    expires=w.expires.isoformat() if w.expires else None, line=lw.line,
                                    file=lw.file, detail=f"there is no rule {w.rule}"
                                    f"{did_you_mean(w.rule.strip().upper(), sorted(known_rules))}"))
            continue
        if w.expires is not None and w.expires < as_of:
            notes.append(WaiverNote(rule=w.rule, scope=w.scope, status="expired",
                                    expires=w.expires.isoformat(), line=lw.line, file=lw.file))
        else:
            active.append(lw)
    used: set[int] = set()
    open_findings: list[Finding] = []
    waived: list[WaivedFinding] = []
    outgrown: dict[int, tuple[Finding, tuple[Severity, str]]] = {}
    for f in findings:
        hit = next((i for i, lw in enumerate(active) if matches(lw.waiver, f)), None)
        if hit is None:
            open_findings.append(f)
            continue
        cap = (ceiling or {}).get(f.fingerprint) or (ceiling or {}).get(f.rule)
        if cap is not None and f.severity > cap[0]:
            outgrown.setdefault(hit, (f, cap))
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
    for i, (f, (severity, phase_label)) in sorted(outgrown.items()):
        if i in used:
            continue
        lw = active[i]
        used.add(i)
        notes.append(WaiverNote(
            rule=lw.waiver.rule, scope=lw.waiver.scope, status="outgrown",
            expires=lw.waiver.expires.isoformat() if lw.waiver.expires else None, line=lw.line, file=lw.file,
            detail=f"it accepts the {severity.value} gap of {phase_label}, not the {f.severity.value} "
                   "gap of the target milestone; decide again before relying on it",
        ))
    for i, lw in enumerate(active):
        if i not in used:
            w = lw.waiver
            notes.append(WaiverNote(rule=w.rule, scope=w.scope, status="unused",
                                    expires=w.expires.isoformat() if w.expires else None,
                                    line=lw.line, file=lw.file))
    return open_findings, waived, notes
