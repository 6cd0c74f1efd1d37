"""The library entry point: ``check(path, ...) -> Report`` for scripts and tests."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from typing import Any

from cmcflex import RULESET_VERSION, __version__
from cmcflex.dossier.loader import Dossier, load_dossier
from cmcflex.engine import evaluate
from cmcflex.phases import Phase, resolve, rule_phase
from cmcflex.report.model import (
    Configuration,
    DossierInfo,
    InputEntry,
    Report,
    RuleFacts,
    ToolInfo,
    sort_key,
)
from cmcflex.report.series import lot_series
from cmcflex.rules import REGISTRY
from cmcflex.rules.base import Context, Rule, Severity
from cmcflex.views import DossierViews
from cmcflex.waivers import LocatedWaiver, apply_waivers


def located_waivers(dossier: Dossier) -> list[LocatedWaiver]:
    """The dossier's own waivers with their line in waivers.yaml."""
    if dossier.waivers is None:
        return []
    return [
        LocatedWaiver(w, "waivers.yaml", dossier.where("waivers.yaml", "waivers", i).line or None)
        for i, w in enumerate(dossier.waivers.waivers)
    ]


def summaries(views: DossierViews) -> dict[str, dict[str, Any]]:
    """Per-area digests for the report (see Report.summaries)."""
    out: dict[str, dict[str, Any]] = {}
    ppq = views.ppq_summary
    if ppq is not None:
        out["ppq"] = ppq._asdict()
    return out


def _today(dossier: Dossier, rules: list[Rule], ctx: Context,
           overrides: dict[str, Severity] | None) -> dict[str, Severity]:
    """For --target: each gap's severity at the current phase (fingerprint → severity), from one
    evaluation at that phase, kept with the views for the other milestones of a plan."""
    assert ctx.now is not None
    key = (ctx.now, ctx.current, ctx.as_of, tuple(r.id for r in rules), tuple(sorted((overrides or {}).items())))
    memo = ctx.views.severities_today
    if key not in memo:
        now_ctx = Context(phase=ctx.now, current=ctx.current, as_of=ctx.as_of, views=ctx.views)
        memo[key] = {f.fingerprint: f.severity for f in evaluate(dossier, now_ctx, rules, overrides).findings}
    return memo[key]


def _waiver_ceiling(rules: list[Rule], ctx: Context,
                    today: dict[str, Severity]) -> dict[str, tuple[Severity, str]]:
    """For --target: the most a waiver written today covers: the gap's severity today, by
    fingerprint, else the rule's severity today, by rule id.

    A waiver accepted a gap as it stands now; a milestone that makes the gap graver needs a
    new decision, so the waiver does not carry over to the graver gap.
    """
    assert ctx.now is not None
    ceiling = {r.id: (r.severity[ctx.now], ctx.now.label) for r in rules if ctx.now in r.severity}
    ceiling.update((fp, (severity, ctx.now.label)) for fp, severity in today.items())
    return ceiling


def build_report(
    dossier: Dossier,
    *,
    phase: Phase | None = None,
    target: Phase | None = None,
    as_of: dt.date | None = None,
    fail_on: Severity = Severity.MAJOR,
    rules: Iterable[Rule] | None = None,
    overrides: dict[str, Severity] | None = None,
    extra_waivers: list[LocatedWaiver] | None = None,
    path_label: str | None = None,
    generated_at: str | None = None,
    extra_inputs: list[InputEntry] | None = None,
    configuration: Configuration | None = None,
    views: DossierViews | None = None,
    series: bool = True,
) -> Report:
    """Evaluate a loaded dossier and assemble the report from the rules' findings and the
    dossier's views (``views``: those of ``dossier`` already built, e.g. by an earlier
    milestone of a plan; else they are built here). ``series=False`` leaves out the lot series,
    for formats that do not show them (:data:`cmcflex.report.formats.SERIES`)."""
    as_of = as_of or dt.date.today()
    views = views if views is not None else DossierViews(dossier)
    assert views.dossier is dossier
    current, evaluated = resolve(dossier.info.phase, dossier.info.pivotal_phase, phase, target)
    now = rule_phase(current, dossier.info.pivotal_phase)
    ctx = Context(phase=evaluated, current=current, as_of=as_of, views=views, target=target, now=now)
    rule_list = list(rules) if rules is not None else list(REGISTRY)
    today = _today(dossier, rule_list, ctx, overrides) if ctx.planning else None
    result = evaluate(dossier, ctx, rule_list, overrides, today)
    findings = sorted(result.findings, key=sort_key)
    waivers = located_waivers(dossier) + list(extra_waivers or [])
    ceiling = _waiver_ceiling(rule_list, ctx, today) if today is not None else None
    known = frozenset(r.id for r in (*REGISTRY, *rule_list))  # a rule given by the caller is known too
    open_findings, waived, notes = apply_waivers(findings, waivers, as_of, ceiling, known)
    counts = {s.value: sum(1 for f in open_findings if f.severity is s) for s in Severity}
    counts["waived"] = len(waived)
    counts["not_evaluated"] = len(result.not_evaluated)
    verdict = "fail" if any(f.severity >= fail_on for f in open_findings) else "pass"
    info = dossier.info
    return Report(
        tool=ToolInfo(version=__version__, ruleset=RULESET_VERSION),
        dossier=DossierInfo(
            path=path_label if path_label is not None else str(dossier.root),
            product=info.product.name,
            modality=info.product.modality.value,
            pivotal_phase=info.pivotal_phase,
        ),
        phase=current,
        evaluated_phase=evaluated,
        target=target,
        as_of=as_of.isoformat(),
        fail_on=fail_on,
        verdict=verdict,
        counts=counts,
        findings=open_findings,
        waived=waived,
        waiver_notes=notes,
        not_evaluated=sorted(result.not_evaluated, key=lambda n: (n.rule, n.reason)),
        no_records=result.no_records,
        rules_evaluated=result.evaluated,
        severity_overrides=dict(sorted((overrides or {}).items())),
        configuration=configuration or Configuration(),
        inputs=[InputEntry(file=i.file, sha256=i.sha256, bytes=i.size) for i in dossier.inputs]
        + list(extra_inputs or []),
        lot_series=lot_series(views) if series else [],
        summaries=summaries(views),
        generated_at=generated_at,
        rule_facts=rule_facts(rule_list, {*result.evaluated, *(f.rule for f in (*open_findings, *waived))}),
    )


def rule_facts(rules: Iterable[Rule], fired: set[str]) -> dict[str, RuleFacts]:
    """The own citations, remedy and CTD sections of each rule in ``fired`` (evaluated or with
    findings), for formats that describe rules."""
    return {r.id: RuleFacts(slug=r.slug, cites=list(r.cites), remedy=r.remedy, ctd=list(r.ctd), title=r.title,
                            area=r.area.value, severity={p.value: g for p, g in r.severity.items()},
                            partial={p.value: g for p, g in r.partial.items()})
            for r in rules if r.id in fired}


def check(
    path: str | os.PathLike[str],
    *,
    phase: Phase | None = None,
    target: Phase | None = None,
    as_of: dt.date | None = None,
    fail_on: Severity = Severity.MAJOR,
    follow_links: bool = False,
    overrides: dict[str, Severity] | None = None,
    rules: Iterable[Rule] | None = None,
) -> Report:
    """Load the dossier at ``path`` and check it with ``rules`` (default: every registered rule).
    Raises DossierError for bad input."""
    dossier = load_dossier(path, follow_links=follow_links)
    return build_report(dossier, phase=phase, target=target, as_of=as_of, fail_on=fail_on, rules=rules,
                        overrides=overrides, path_label=str(path))
