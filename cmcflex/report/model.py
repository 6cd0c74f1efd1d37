"""The one immutable Report model that every output format renders.

Annotations are real types (no postponed annotations): pydantic would otherwise compile and
evaluate every annotation string when the classes are created, on every run.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cmcflex.phases import Phase
from cmcflex.vocabulary import Area, Severity


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Finding(_Frozen):
    rule: str
    slug: str
    title: str
    area: str
    severity: Severity
    default_severity: Severity | None = None  # set when configuration overrode the severity
    message: str
    file: str
    line: int | None = None
    record: str | None = None
    cites: list[str]
    remedy: str
    data: dict[str, Any] | None = None
    fingerprint: str
    ctd: list[str] = []  # CTD Module 3 sections (ICH M4Q(R1) ids, cmcflex.ctd), in CTD order


class WaivedFinding(Finding):
    waiver_justification: str
    waiver_approved_by: str | None = None
    waiver_expires: str | None = None


class NotEvaluatedEntry(_Frozen):
    rule: str
    title: str
    reason: str


class NoRecordsEntry(_Frozen):
    """An optional file the dossier does not have, whose absence means "none yet" (no changes.yaml:
    no manufacturing changes), and the rules that therefore have nothing to check. ``note`` is the
    one line every format shows."""

    file: str
    note: str
    rules: list[str]


class WaiverNote(_Frozen):
    """A waiver that did not apply: expired, matching nothing, or outgrown by a later milestone
    (``--target``: the gap is graver there than the one the waiver accepted)."""

    rule: str
    scope: str | None = None
    status: Literal["expired", "unused", "outgrown", "unknown_rule"]
    expires: str | None = None
    line: int | None = None
    file: str = "waivers.yaml"
    detail: str | None = None


class InputEntry(_Frozen):
    file: str
    sha256: str
    bytes: int
    role: Literal["dossier", "waivers", "config"] = "dossier"  # waivers/config: path as given, outside the dossier


class Configuration(_Frozen):
    """The configuration in force: the file read (as given or found; None without one), and the
    rule selection (``select``/``ignore`` tokens as configured). Severity overrides are
    ``Report.severity_overrides``."""

    file: str | None = None
    select: list[str] = []
    ignore: list[str] = []


class ToolInfo(_Frozen):
    name: str = "cmcflex"
    version: str
    ruleset: str


class DossierInfo(_Frozen):
    path: str
    product: str
    modality: str
    pivotal_phase: Phase


class SeriesLot(_Frozen):
    """A charted lot: when it was made and whether it was made for patients.

    ``status``: "non_clinical" (use development or engineering, healthy-donor starting material, or
    disposition not_applicable), "unreleased" (disposition rejected or pending), else "patient".
    """

    id: str
    manufactured: str | None = None
    status: Literal["patient", "non_clinical", "unreleased"] = "patient"


class LotSummary(_Frozen):
    """Every result of one numeric specification test (not capped like the chart points).

    ``n``, ``mean``, ``sd`` (sample SD, None below two), ``min`` and ``max`` are over the
    uncensored numeric results; ``censored`` counts results such as ``<0.50``; ``lots`` counts
    the lots with a numeric or censored result, ``outside`` those with at least one result the
    release criterion rejects (a censored result straddling a limit is not counted).
    """

    n: int
    mean: float | None = None
    sd: float | None = None
    min: float | None = None
    max: float | None = None
    censored: int = 0
    lots: int = 0
    outside: int = 0


class LotSeries(_Frozen):
    """Lot results of one numeric specification test, for charts (format-neutral).

    ``points`` are uncensored results as [lot id, value, use]; ``censored`` are [lot id,
    value, "<" or ">", use]. Only the last ``cap`` results in file order are kept;
    ``total`` counts them all. ``lots`` are the charted lots in chart order: by manufacture
    date, then file order (undated lots last).
    """

    material: str
    attribute: str
    unit: str | None = None
    criterion: str
    min: float | None = None
    max: float | None = None
    points: list[tuple[str, float, str]] = []
    censored: list[tuple[str, float, str, str]] = []
    total: int = 0
    cap: int = 0
    lots: list[SeriesLot] = []
    summary: LotSummary | None = None


class RuleFacts(_Frozen):
    """An evaluated rule's own metadata: citations and general remedy (its findings may carry
    narrower ones), CTD sections, and its grade by phase (``partial``: the lower grade of its parts)."""

    slug: str
    cites: list[str]
    remedy: str
    ctd: list[str] = []
    """The rule's CTD Module 3 sections (its findings may be narrowed to one material's)."""
    title: str = ""
    area: str = ""
    severity: dict[str, Severity] = {}
    partial: dict[str, Severity] = {}


class Report(_Frozen):
    """Everything one check found, plus what is needed to repeat it exactly.

    ``summaries`` holds per-area digests, JSON-friendly (str, int, bool or None values), keyed by
    area name in lower case; a key is absent when the dossier has nothing to summarise.
    ``summaries["ppq"]`` (the ``ppq_summary`` view, :class:`cmcflex.views.DossierViews`) has: ``protocol`` (id),
    ``lots_planned``, ``lots_executed`` (PPQ lots in lots.csv, one material counted; None without
    lots.csv), ``lots_passing`` (None without lots.csv or specifications.yaml),
    ``concurrent_release`` (bool), ``justification`` (lot-count approach or None),
    ``report_status`` and ``report_conclusion`` (None without a PPQ report; ``not_recorded`` when
    the report leaves one out, except a status read as ``complete`` from a final conclusion).
    """

    tool: ToolInfo
    dossier: DossierInfo
    phase: Phase  # where the product stands (after --phase)
    evaluated_phase: Phase  # whose severities applied (pivotal → phase_3, --target)
    target: Phase | None = None
    as_of: str
    fail_on: Severity
    verdict: Literal["pass", "fail"]
    counts: dict[str, int]
    findings: list[Finding]
    waived: list[WaivedFinding] = []
    waiver_notes: list[WaiverNote] = []
    not_evaluated: list[NotEvaluatedEntry] = []
    no_records: list[NoRecordsEntry] = []
    rules_evaluated: list[str] = []
    severity_overrides: dict[str, Severity] = {}
    configuration: Configuration = Configuration()
    inputs: list[InputEntry]
    lot_series: list[LotSeries] = []
    summaries: dict[str, dict[str, Any]] = {}
    generated_at: str | None = None  # the only field that may differ between identical runs
    rule_facts: dict[str, RuleFacts] = Field(default={}, exclude=True)
    """Rule id → facts of each rule with findings, as evaluated; kept in memory only (not in the
    JSON), so formats that describe rules (SARIF) need no rule module."""

    def gaps_at_or_above(self, level: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity >= level]

    @property
    def areas(self) -> list[str]:
        return [a.value for a in Area]


def sort_key(f: Finding) -> tuple[Any, ...]:
    """Findings grouped by area, most severe first, then rule, file, line."""
    return (
        [a.value for a in Area].index(f.area) if f.area in {a.value for a in Area} else 99,
        -f.severity.rank,
        f.rule,
        f.file,
        f.line or 0,
        f.record or "",
        f.message,
    )
