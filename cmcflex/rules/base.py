"""Rules, their metadata, the findings they yield, and the registry that holds them.

A rule is a function of the loaded dossier with its metadata beside it. It yields
:class:`Gap` (something missing or wrong) or :class:`NotEvaluated` (data lacking); the engine,
not the rule, stamps id, area, severity and citations on what it yields. ``Severity`` and
``Area`` live in :mod:`cmcflex.vocabulary` and are re-exported here for the rule modules.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from cmcflex.ctd import is_section, ordered
from cmcflex.phases import PHASES, Phase
from cmcflex.vocabulary import Area, Severity

if TYPE_CHECKING:
    from cmcflex.dossier.loader import Dossier, Location
    from cmcflex.views import DossierViews


B, MA, MI, I = Severity.BLOCKER, Severity.MAJOR, Severity.MINOR, Severity.INFO


def by_phase(p1: Severity | None, p2: Severity | None, p3: Severity | None,
             bla: Severity | None, pa: Severity | None) -> dict[Phase, Severity]:
    """Severity map from the catalogue's columns P1, P2, P3, BLA, PA (None = not applied)."""
    return {ph: s for ph, s in zip(PHASES, (p1, p2, p3, bla, pa)) if s is not None}


class Context(NamedTuple):
    """What a rule may know besides the dossier: phases, the evaluation date, and the dossier's
    derived views (built once per evaluation and shared by every rule)."""

    phase: Phase  # the phase whose severities apply (after pivotal and --target resolution)
    current: Phase  # where the product stands now
    as_of: dt.date
    views: DossierViews
    target: Phase | None = None
    now: Phase | None = None  # the phase whose severities apply today (``phase`` without --target)

    @property
    def planning(self) -> bool:
        """True when evaluating a later milestone than the current phase."""
        return self.target is not None and self.target > self.current


class Gap(NamedTuple):
    """What a rule reports: one sentence, where, which record, and optional figures.

    ``severity`` grades this finding apart from the rule's severity for the phase, within what the
    rule declares (see :class:`Rule`: ``grading``, ``partial``); left None, the engine uses the
    rule's severity for the phase.
    ``remedy`` overrides the rule's general remedy with a record-specific one, and ``cites``
    the rule's sources with those for the record at hand (a rule covering several tests cites,
    for each finding, the sources of its test; the rule's own ``cites`` stay the union).
    """

    message: str
    at: Location
    record: str | None = None
    data: Mapping[str, Any] | None = None
    severity: Severity | None = None
    remedy: str | None = None
    cites: tuple[str, ...] | None = None
    ctd: tuple[str, ...] | None = None
    """The CTD Module 3 sections of this record where they differ from the rule's."""
    material: str | None = None
    """The material the record concerns (drug_substance, vector, drug_product, ...): the finding
    keeps the rule's 3.2.S or 3.2.P sections accordingly; a specification test's record
    (``test drug_product/potency``) names its material itself."""


class NotEvaluated(NamedTuple):
    """The rule applies but the dossier lacks the data it needs.

    ``none_recorded`` names an optional file whose absence means that nothing of its kind has
    happened yet (no changes.yaml: no manufacturing changes); the report then says so in one line
    per file instead of listing every rule that reads it as not evaluated. With ``waits_on`` (the
    rule that reports the absence as a gap, e.g. PPQ-001 for ppq.yaml) the line says the rules
    wait on that record instead of that nothing happened.
    """

    reason: str
    none_recorded: str | None = None
    waits_on: str | None = None


Outcome = Gap | NotEvaluated
Check = Callable[["Dossier", Context], Iterable[Outcome]]
_ID = re.compile(r"^[A-Z]+-\d{3}$")


class Rule(NamedTuple):
    """A rule's metadata and its check.

    Per-finding grades (``Gap.severity``), enforced by the engine: a finding takes the rule's
    severity at the phase unless the rule declares ``grading``; a rule that does may also grade a
    finding ``info`` (a note, never failing a run), or its ``partial`` grade at that phase. Any
    other grade is an internal error, so ``explain`` and the docs name every grade a rule gives.
    """

    id: str
    slug: str
    title: str
    area: Area
    severity: Mapping[Phase, Severity]
    cites: tuple[str, ...]
    remedy: str
    why: str
    check: Check
    partial: Mapping[Phase, Severity] = MappingProxyType({})
    """Where the catalogue grades parts of the check lower (e.g. SPEC-001 "B/Mi" at phase 1):
    the lower grade by phase, shown beside the main one in `rules`, `explain` and the docs."""
    grading: str = ""
    """One sentence on which parts of the check take which grade (for `explain` and the docs)."""
    ctd: tuple[str, ...] = ()
    """The CTD Module 3 sections (ICH M4Q(R1) ids, :mod:`cmcflex.ctd`) its findings belong to."""
    flexibilities: tuple[str, ...] = ()
    """The points of the May 2026 CMC flexibilities guidance the rule models (ids of
    :mod:`cmcflex.flexibilities`, e.g. ``PV2``): it accepts the flexibility when its conditions are
    on record and names the missing condition when they are not."""

    def applies_at(self, phase: Phase) -> bool:
        return phase in self.severity

    def severity_at(self, phase: Phase) -> Severity | None:
        return self.severity.get(phase)


class Registry:
    """An explicit id → rule table that refuses duplicate ids."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def add(self, rule: Rule) -> Rule:
        if not _ID.match(rule.id):
            raise ValueError(f"rule id {rule.id!r} is not of the form AREA-NNN")
        if rule.id in self._rules:
            raise ValueError(f"duplicate rule id {rule.id}")
        if any(r.slug == rule.slug for r in self._rules.values()):
            raise ValueError(f"duplicate rule slug {rule.slug}")
        if not rule.id.startswith(rule.area.value + "-"):
            raise ValueError(f"rule {rule.id} is filed under area {rule.area.value}")
        if rule.partial and not rule.grading:
            raise ValueError(f"rule {rule.id} declares partial grades without grading (which parts take them)")
        if not set(rule.partial) <= set(rule.severity):
            raise ValueError(f"rule {rule.id} declares partial grades at phases where it does not apply")
        from cmcflex.flexibilities import POINTS

        strangers = [f for f in rule.flexibilities if f not in POINTS]
        if strangers:
            raise ValueError(f"rule {rule.id} names {', '.join(strangers)}, not a point of the flexibilities guidance")
        unknown = [s for s in rule.ctd if not is_section(s)]
        if unknown:
            raise ValueError(f"rule {rule.id} names {', '.join(unknown)}, not a CTD Module 3 section of ICH M4Q(R1)")
        self._rules[rule.id] = rule
        return rule

    def get(self, rule_id: str) -> Rule | None:
        return self._rules.get(rule_id.upper())

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self._rules.values(), key=lambda r: (list(Area).index(r.area), r.id)))

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules


REGISTRY = Registry()


def rule(
    *,
    id: str,
    slug: str,
    title: str,
    area: Area,
    severity: Mapping[Phase, Severity],
    cites: tuple[str, ...],
    remedy: str,
    why: str,
    partial: Mapping[Phase, Severity] | None = None,
    grading: str = "",
    registry: Registry = REGISTRY,
    ctd: tuple[str, ...] = (),
    flexibilities: tuple[str, ...] = (),
) -> Callable[[Check], Check]:
    """Declare a rule: metadata beside its check function, added to the registry."""

    def register(check: Check) -> Check:
        registry.add(Rule(id, slug, title, area, dict(severity), tuple(cites), remedy, why, check,
                          dict(partial or {}), grading, ordered(ctd), tuple(flexibilities)))
        return check

    return register
