"""Run the rules that apply at the evaluated phase and stamp their findings."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cmcflex.ctd import is_section, narrow, ordered
from cmcflex.dossier.loader import Dossier
from cmcflex.phases import Phase
from cmcflex.report.model import Finding, NoRecordsEntry, NotEvaluatedEntry
from cmcflex.rules.base import Context, Gap, NotEvaluated, Rule, Severity
from cmcflex.views import material_of


class InternalError(Exception):
    """A rule failed unexpectedly: a defect in cmcflex, never a verdict on the dossier."""


@dataclass
class Evaluation:
    findings: list[Finding] = field(default_factory=list)
    not_evaluated: list[NotEvaluatedEntry] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    none_recorded: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    """file → (what its absence means, the rules that had nothing to check), in rule order."""
    waits_on: dict[str, str] = field(default_factory=dict)
    """file → the rule that reports its absence as a gap (the others wait on it)."""

    @property
    def no_records(self) -> list[NoRecordsEntry]:
        """One entry per absent "none yet" file, by file name."""
        return [NoRecordsEntry(file=file, note=no_records_note(file, what, rules, self.waits_on.get(file)),
                               rules=list(rules))
                for file, (what, rules) in sorted(self.none_recorded.items())]


def rule_span(ids: list[str]) -> str:
    """Rule ids as a short list: consecutive ids of one area as a range (CMP-001..CMP-007)."""
    parts: list[str] = []
    run: list[str] = []

    def close() -> None:
        if run:
            parts.append(run[0] if len(run) == 1 else f"{run[0]}, {run[1]}" if len(run) == 2
                         else f"{run[0]}..{run[-1]}")

    for rule_id in sorted(set(ids)):
        area, number = rule_id.rsplit("-", 1)
        if run and run[-1].rsplit("-", 1)[0] == area and int(run[-1].rsplit("-", 1)[1]) + 1 == int(number):
            run.append(rule_id)
            continue
        close()
        run = [rule_id]
    close()
    return ", ".join(parts)


def no_records_note(file: str, what: str, rules: list[str], waits_on: str | None = None) -> str:
    """The one line for an absent "none yet" file, or for an absent record that ``waits_on``
    reports as a gap while the other rules wait on it."""
    if waits_on is not None:
        verb = "waits" if len(rules) == 1 else "wait"
        return f"{file}: {what}; {rule_span(rules)} {verb} on it (see {waits_on})"
    verb = "has" if len(rules) == 1 else "have"
    return f"{file}: {what}; {rule_span(rules)} {verb} nothing to check"


def fingerprint(rule_id: str, file: str, record: str | None, message: str) -> str:
    """A stable key of a finding across dossier versions: rule + file + record."""
    key = f"{rule_id}|{file}|{record if record else message}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def keys_of(rule_id: str, gaps: Iterable[Gap]) -> list[str]:
    """The fingerprints of one rule's gaps, in order: a gap on the same file and record as an
    earlier one (two parts of a rule on one method) is told apart by its message, so that
    waivers, ``--target`` and diffs never take one finding for another."""
    seen: set[str] = set()
    out = []
    for gap in gaps:
        key = fingerprint(rule_id, gap.at.file, gap.record, gap.message)
        if key in seen:
            key = fingerprint(rule_id, gap.at.file, f"{gap.record}|{gap.message}", gap.message)
        seen.add(key)
        out.append(key)
    return out


def stamp(rule: Rule, gap: Gap, ctx: Context, overrides: dict[str, Severity] | None = None,
          today: Mapping[str, Severity] | None = None, key: str | None = None) -> Finding:
    """Turn a rule's gap into a finding carrying the rule's identity and severity.

    ``today`` (fingerprint → severity, when checking a later milestone) says how grave the same
    gap is at the current phase, so that "needed by" is said only of what the milestone adds.
    """
    severity = graded(rule, gap, ctx.phase)
    overridden = None
    if overrides and rule.id in overrides:
        overridden, severity = severity, overrides[rule.id]
    message = gap.message
    if key is None:
        key = fingerprint(rule.id, gap.at.file, gap.record, gap.message)
    if ctx.planning and ctx.target is not None and _grows_by_target(rule, severity, ctx, (today or {}).get(key)):
        body, stop = (message[:-1], ".") if message.endswith(".") else (message, "")
        message = f"{body} ({_needed(ctx.target)}){stop}"
    return Finding(
        rule=rule.id,
        slug=rule.slug,
        title=rule.title,
        area=rule.area.value,
        severity=severity,
        default_severity=overridden,
        message=message,
        file=gap.at.file,
        line=gap.at.line or None,
        record=gap.record,
        cites=list(gap.cites) if gap.cites else list(rule.cites),
        remedy=gap.remedy or rule.remedy,
        data=dict(gap.data) if gap.data else None,
        fingerprint=key,
        ctd=list(sections_of(rule, gap)),
    )


def graded(rule: Rule, gap: Gap, phase: Phase) -> Severity:
    """The gap's severity at ``phase``, held to the rule's declared grading (see
    :class:`cmcflex.rules.base.Rule`): InternalError for a grade the rule does not declare."""
    main = rule.severity[phase]
    if gap.severity is None or gap.severity is main:
        return main
    if not rule.grading:
        raise InternalError(f"rule {rule.id} graded a finding {gap.severity.value} at {phase.value} "
                            f"(its grade: {main.value}) without declaring grading")
    if gap.severity is not Severity.INFO and gap.severity is not rule.partial.get(phase):
        declared = rule.partial.get(phase)
        raise InternalError(f"rule {rule.id} graded a finding {gap.severity.value} at {phase.value}; it declares "
                            f"{main.value}" + (f", {declared.value}" if declared else "") + " or info")
    return gap.severity


def sections_of(rule: Rule, gap: Gap) -> tuple[str, ...]:
    """The CTD Module 3 sections of a finding: the gap's own, else the rule's, narrowed to the
    material of the gap or of its specification test's record (3.2.S for drug substance and
    vector, 3.2.P for drug product)."""
    if gap.ctd:
        unknown = [s for s in gap.ctd if not is_section(s)]
        if unknown:
            raise InternalError(f"rule {rule.id} files a finding under {', '.join(unknown)}, "
                                "not a CTD Module 3 section")
        return ordered(gap.ctd)
    return narrow(rule.ctd, gap.material or material_of(gap.record))


def _grows_by_target(rule: Rule, severity: Severity, ctx: Context, was: Severity | None = None) -> bool:
    """Whether a finding at the target is more than the same gap is today: only then does it say
    "needed by" the milestone (a gap today, or an info note, is not a future need). ``was`` is
    the same gap's severity today when known (a part of a rule may be graded below the rule);
    otherwise the rule's severity today stands in."""
    if severity is Severity.INFO:
        return False
    today = was if was is not None else rule.severity.get(ctx.now) if ctx.now is not None else None
    return today is None or today < severity


def _needed(target: Phase) -> str:
    if target is Phase.POST_APPROVAL:
        return "needed after approval"
    if target is Phase.PHASE_3:
        return "needed by the pivotal study"
    return f"needed by {'BLA' if target is Phase.BLA else target.label}"


def evaluate(
    dossier: Dossier,
    ctx: Context,
    rules: Iterable[Rule],
    overrides: dict[str, Severity] | None = None,
    today: Mapping[str, Severity] | None = None,
) -> Evaluation:
    """Run each rule that applies at ``ctx.phase``; collect findings and not-evaluated reasons.
    ``today``: see :func:`stamp`."""
    out = Evaluation()
    for rule in rules:
        if not rule.applies_at(ctx.phase):
            continue
        out.evaluated.append(rule.id)
        try:
            outcomes = list(rule.check(dossier, ctx))
        except Exception as exc:  # noqa: BLE001 - reported as an internal error, exit 2
            raise InternalError(f"rule {rule.id} failed: {type(exc).__name__}: {exc}") from exc
        keys = iter(keys_of(rule.id, [o for o in outcomes if isinstance(o, Gap)]))
        for outcome in outcomes:
            if isinstance(outcome, NotEvaluated) and outcome.none_recorded:
                _what, ids = out.none_recorded.setdefault(outcome.none_recorded, (outcome.reason, []))
                if rule.id not in ids:
                    ids.append(rule.id)
                if outcome.waits_on:
                    out.waits_on[outcome.none_recorded] = outcome.waits_on
            elif isinstance(outcome, NotEvaluated):
                out.not_evaluated.append(NotEvaluatedEntry(rule=rule.id, title=rule.title, reason=outcome.reason))
            else:
                out.findings.append(stamp(rule, outcome, ctx, overrides, today, next(keys)))
    return out
