"""CMP rules: manufacturing changes and their comparability, recomputed from lots.csv.

Under the 2026 CBER flexibility a minor change needs only proportionate data (a risk
assessment and a summary); moderate, major and late changes need a comparability study whose
conclusion cmcflex recomputes from the lot data rather than trusting it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from cmcflex.dossier.criteria import NumericCriterion
from cmcflex.dossier.ids import visible
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.lots import LotResult
from cmcflex.dossier.models import (
    Change,
    ChangeKind,
    ChangeRisk,
    ComparisonMethod,
    Conclusion,
    ReportingCategory,
    StudyDesign,
)
from cmcflex.formatting import number, number_range
from cmcflex.phases import Phase
from cmcflex.rules.base import MA, MI, Area, B, Context, Gap, I, NotEvaluated, Outcome, Severity, by_phase, rule
from cmcflex.rules.citations import (
    CBER_2026,
    CFR_601_12,
    CGT_COMPARABILITY,
    FLEX_2026,
    METHODS_LIFECYCLE_2015,
    Q5E,
    Q9_R1,
    Q14,
    TOWN_HALLS,
)
from cmcflex.vocabulary import Disposition, StartingMaterial

if TYPE_CHECKING:
    from cmcflex.views import DossierViews

FILE = "changes.yaml"
FLEXIBILITY = ("the CBER CGT CMC flexibility (Jan 2026; FDA CMC flexibilities guidance, May 2026) "
               "accepts proportionate data for a minor change")


def _changes(d: Dossier) -> Iterator[tuple[int, Change]] | NotEvaluated:
    if d.changes is None:
        return NotEvaluated("no manufacturing changes recorded", none_recorded=FILE)
    return iter(enumerate(d.changes.changes))


def _at(d: Dossier, i: int, *keys: str | int) -> Location:
    return d.where(FILE, "changes", i, *keys)


def _record(change: Change) -> str:
    return f"change {change.id}"


def proportionate(change: Change) -> bool:
    """A minor change with a risk assessment and a summary: the flexibility's proportionate case."""
    return (change.risk is ChangeRisk.MINOR and bool((change.risk_assessment or "").strip())
            and bool((change.summary or "").strip()))


def revises_specification(change: Change) -> bool:
    """A revision of acceptance criteria (kind ``specification``): no process changes, so no
    comparability study of process lots is expected (CMP-002 to CMP-007 pass it by)."""
    return change.kind is ChangeKind.SPECIFICATION


def _late(d: Dossier, change: Change) -> bool:
    """Implemented at or after the pivotal study."""
    return change.phase >= d.info.pivotal_phase


def _severity(change: Change) -> Severity | None:
    """Info for a proportionate minor change (the flexibility applies), else the rule's severity."""
    return I if proportionate(change) else None


# ------------------------------------------------------------------------------- recomputing a study


class StudyLots(NamedTuple):
    """Pre- and post-change lots found in lots.csv, and listed ids that are not there."""

    pre: list[str]
    post: list[str]
    missing: list[str]


def no_post_lots_yet(change: Change) -> bool:
    """A study that lists no post-change lots, written ``post_lots: []`` or left out while the study is
    pending (planned, not yet run): it has none yet, so none are inferred from ``to_version``."""
    study = change.comparability
    return (study is not None and not study.post_lots
            and ("post_lots" in study.model_fields_set or study.conclusion is Conclusion.PENDING))


def build_study_lots(d: Dossier, change: Change) -> StudyLots:
    """The study's ``pre_lots``/``post_lots`` where listed, else the lots of ``from_version``/``to_version``
    not rejected (by manufacture date), except post-change lots a study has none of yet
    (:func:`no_post_lots_yet`); read through ``ctx.views.study_lots``."""
    study = change.comparability
    missing: list[str] = []

    def side(ids: list[str], version: str | None) -> list[str]:
        table = d.lots
        if table is None:
            return []
        if ids:
            found = [x for x in dict.fromkeys(ids) if x in table.index]
            missing.extend(x for x in ids if x not in table.index)
            return found
        if not version:
            return []
        versions, dates = table.lot_column("process_version"), table.lot_column("manufacture_date")
        rejected = table.lot_column("disposition")
        # a rejected lot failed release and was never product: a study compares product, not failures
        rows = [i for i, v in enumerate(versions) if v == version and rejected[i] != Disposition.REJECTED]
        return [table.lot_ids[i] for i in sorted(rows, key=lambda i: (dates[i] or "", table.lot_ids[i]))]

    pre = side(study.pre_lots if study else [], change.from_version)
    post = [] if no_post_lots_yet(change) else side(study.post_lots if study else [], change.to_version)
    return StudyLots(pre, post, sorted(set(missing)))


LISTED = 50  # per-lot values in a finding's data, and lots named in its message, up to this many


def _num(x: float) -> float:
    return float(f"{x:.6g}")


class Comparison(NamedTuple):
    """One attribute of one material recomputed by the study's method."""

    material: str
    attribute: str
    method: ComparisonMethod
    pre: dict[str, tuple[float, ...]]  # lot id -> its different results, in file order (never averaged)
    post: dict[str, tuple[float, ...]]
    mean: float
    sd: float
    quality_range: tuple[float, float]
    outside: dict[str, float]  # post lots outside the method's range (QR, or min-max)
    tost: Any = None  # stats.TostResult for `equivalence`
    passed: bool = True
    unit: str | None = None  # the results' unit, where lots.csv or the specification gives one
    several: dict[str, list[tuple[float, str, int]]] | None = None  # lots with several results: (value, file, line)
    lower: dict[str, float] = {}  # post lots below the range of an attribute whose limit is upper-only (better)

    @property
    def weak(self) -> str:
        """Words saying why few lots make this comparison weak evidence ('' if they do not)."""
        from cmcflex import stats

        n_pre, n_post = len(self.pre), len(self.post)
        if self.method is ComparisonMethod.EQUIVALENCE:
            if self.passed or min(n_pre, n_post) > 3:
                return ""
            return (f"With {n_pre} vs {n_post} lots the study could hardly show equivalence: at 3 vs 3 lots, "
                    "TOST with a 1.5 SD margin concludes equivalence for identical processes only about "
                    "6 % of the time; more lots are needed to decide.")
        if n_pre > 3:
            return ""
        if self.method is ComparisonMethod.MIN_MAX:
            if self.passed:
                return ""
            cover = stats.minmax_expected_coverage(n_pre)
            return (f"The range of {n_pre} pre-change lots covers on average only {number(cover * 100, '%')} of that "
                    "process's lots, so a post-change lot outside it is weak evidence of a difference.")
        cover = stats.mean_k_sd_expected_coverage(n_pre)
        return (f"Mean ± 3 SD from {n_pre} pre-change lots covers on average only {number(cover * 100, '%')} of the "
                "pre-change population, and a quality range from 3 reference lots fails identical "
                "processes 24–30 % of the time and passes a 3-SD shift about 20 % of the time.")

    def describe(self) -> str:
        """The numbers of a failed comparison, in words."""
        u = self.unit
        name = f"{self.attribute} ({self.material}), {len(self.pre)} pre- vs {len(self.post)} post-change lots"
        summary = f"pre-change mean {number(self.mean, u)}, SD {number(self.sd, u)}"
        if self.method is ComparisonMethod.EQUIVALENCE:
            t = self.tost
            return (f"{name}: {summary}; the 90 % CI of the mean difference, {number_range(t.ci_lower, t.ci_upper, u)}, "
                    f"is not within ±{number(t.margin, u)} (1.5 SD), so TOST does not show equivalence")
        named = list(self.outside.items())[:10]
        outside = ", ".join(f"{lot} = {number(v, u)}" for lot, v in named)
        if len(self.outside) > len(named):
            outside += f" and {len(self.outside) - len(named)} more"
        if self.method is ComparisonMethod.MIN_MAX:
            lo, hi = min(_flat(self.pre)), max(_flat(self.pre))
            return f"{name}: {summary}, pre-change range {number_range(lo, hi, u)}; outside: {outside}{self._several()}"
        lo, hi = self.quality_range
        return f"{name}: {summary}, quality range {number_range(lo, hi, u)}; outside: {outside}{self._several()}"

    def range_compared(self) -> tuple[float, float]:
        """The range post-change lots are compared with: the pre-change min-max, or the quality range."""
        if self.method is ComparisonMethod.MIN_MAX:
            return min(_flat(self.pre)), max(_flat(self.pre))
        return self.quality_range

    def _several(self) -> str:
        """' (L-3 has several results: 0.4 at lots.csv line 12, 0.5 at line 30; each is compared, none averaged)'."""
        if not self.several:
            return ""
        shown = []
        for lot, rows in list(self.several.items())[:10]:
            parts, last = [], None
            for v, file, line in rows:
                parts.append(f"{number(v, self.unit)} at {file + ' ' if file != last else ''}line {line}")
                last = file
            shown.append(f"{lot}: {', '.join(parts)}")
        verb = "has" if len(self.several) == 1 else "have"
        return (f" ({'; '.join(shown)} — {'this lot' if len(self.several) == 1 else 'these lots'} {verb} several "
                "results, each compared and none averaged; a retest is the sponsor's to explain)")

    def as_data(self) -> dict[str, Any]:
        """Figures for the JSON report; per-lot values only up to LISTED lots a side."""
        def side(values: dict[str, tuple[float, ...]]) -> dict[str, Any]:
            vs = _flat(values)
            out: dict[str, Any] = {"n": len(values), "mean": _num(sum(vs) / len(vs)),
                                   "min": _num(min(vs)), "max": _num(max(vs))}
            if len(vs) > len(values):
                out["results"] = len(vs)
            if len(values) <= LISTED:
                out["values"] = {k: _num(v[0]) if len(v) == 1 else [_num(x) for x in v] for k, v in values.items()}
            return out

        data: dict[str, Any] = {
            "material": self.material,
            "attribute": self.attribute,
            "passed": self.passed,
            "pre": {**side(self.pre), "mean": _num(self.mean), "sd": _num(self.sd)},
            "post": side(self.post),
            "quality_range": [_num(self.quality_range[0]), _num(self.quality_range[1])],
            "outside_of": "pre-change min-max" if self.method is ComparisonMethod.MIN_MAX else "quality range",
            "outside_count": len(self.outside),
            "outside": {k: _num(v) for k, v in list(self.outside.items())[:LISTED]},
        }
        if self.lower:
            data["below_on_the_allowed_side"] = {k: _num(v) for k, v in list(self.lower.items())[:LISTED]}
        if self.tost is not None:
            t = self.tost
            data["tost"] = {"difference": _num(t.difference), "ci_lower": _num(t.ci_lower),
                            "ci_upper": _num(t.ci_upper), "margin": _num(t.margin), "alpha": t.alpha,
                            "equivalent": t.equivalent}
        weak = self.weak
        if weak:
            data["weak_evidence"] = weak
        if self.several:
            data["several_results"] = {lot: [{"value": _num(v), "file": f, "line": line} for v, f, line in rows]
                                       for lot, rows in list(self.several.items())[:LISTED]}
        return data


def _flat(values: dict[str, tuple[float, ...]]) -> list[float]:
    """Every result of every lot, lot by lot."""
    return [v for vs in values.values() for v in vs]


def _per_lot(pairs: list[tuple[str, float]], order: list[str]) -> dict[str, tuple[float, ...]]:
    """Each lot's different results (identical ones once) in file order, lots in the study's order.
    A lot's several results are never averaged: an out-of-range result stays visible (FDA OOS guidance)."""
    values: dict[str, dict[float, None]] = {}
    for lot_id, v in pairs:
        values.setdefault(lot_id, {})[v] = None
    return {lot: tuple(values[lot]) for lot in order if lot in values}


def _study_numbers(d: Dossier, views: DossierViews, material: str, attribute: str,
                   lots: frozenset[str]) -> list[LotResult]:
    """The uncensored numeric results of the study lots, in file order: by the specification test's
    method where a lot has rows by it, identical rows of a lot once (the rows the lot statistics
    count, :meth:`LotTable.distinct_rows`), so that two assays are never pooled into one range."""
    assert d.lots is not None
    ref = views.spec_index.get((material, attribute))
    rows = d.lots.distinct_rows(material, attribute, views.lot_indices(lots), ref.test.method if ref else None)
    found = (d.lots.result_at(material, attribute, k) for k in rows)
    return [r for r in found if r.result.word is None and not r.result.censor]


def _several_rows(results: list[LotResult], lots: list[str]) -> dict[str, list[tuple[float, str, int]]]:
    """The rows of the given results of lots with several results, in file order."""
    out: dict[str, list[tuple[float, str, int]]] = {lot: [] for lot in lots}
    for r in results:
        if r.lot_id in out:
            out[r.lot_id].append((r.result.value, r.file, r.line))
    return out


def study_materials(d: Dossier, lots: StudyLots) -> list[str]:
    """The materials of the study's lots, sorted."""
    assert d.lots is not None
    material_of, index = d.lots.lot_column("material"), d.lots.index
    return sorted({material_of[index[x]] or "" for x in lots.pre + lots.post})


def _unit(d: Dossier, views: DossierViews, material: str, attribute: str) -> str | None:
    """The one unit lots.csv gives the attribute's results, else the specification's."""

    assert d.lots is not None
    units = d.lots.units_of(material, attribute)
    if len(units) == 1:
        return next(iter(units))
    if units:
        return None  # mixed units: write none rather than a wrong one
    ref = views.spec_index.get((material, attribute))
    if ref is None:
        return None
    return getattr(ref.test.criterion, "unit", None) or ref.test.unit


def _upper_only(views: DossierViews, material: str, attribute: str) -> bool:
    """Whether the attribute's specification limits it from above only (an impurity: residual DNA,
    host-cell protein, endotoxin), so that a post-change lot below the pre-change range differs on
    the side the limit allows: a question for the study's discussion, not evidence against it."""
    ref = views.spec_index.get((material, attribute))
    c = ref.test.criterion if ref is not None else None
    return isinstance(c, NumericCriterion) and c.max is not None and c.min is None


def compare_attribute(
    d: Dossier, views: DossierViews, lots: StudyLots, materials: list[str], attribute: str, method: ComparisonMethod | None
) -> list[Comparison | NotEvaluated]:
    """Recompute one attribute for each material the study lots hold results of."""
    from cmcflex import stats

    assert d.lots is not None
    method = method or ComparisonMethod.QUALITY_RANGE
    pre_set, post_set = frozenset(lots.pre), frozenset(lots.post)
    out: list[Comparison | NotEvaluated] = []
    seen = False
    for material in materials:
        if not d.lots.has_results(material, attribute):
            continue
        seen = True
        numbers = _study_numbers(d, views, material, attribute, pre_set | post_set)
        pairs = [(r.lot_id, r.result.value) for r in numbers]
        pre = _per_lot([pv for pv in pairs if pv[0] in pre_set], lots.pre)
        post = _per_lot([pv for pv in pairs if pv[0] in post_set], lots.post)
        if not pre and not post:
            out.append(NotEvaluated(f"{attribute} ({material}) has no uncensored numeric results for the "
                                    "study lots (qualitative or censored); nothing to recompute"))
            continue
        if len(pre) < 2 or len(post) < 2:
            out.append(NotEvaluated(
                f"{attribute} ({material}) has {len(pre)} pre-change and {len(post)} post-change lots with "
                "numeric results; at least 2 on each side are needed"
                + (f" (listed lots not in {d.lots_file}: {', '.join(map(visible, lots.missing))})" if lots.missing else "")))
            continue
        summary = stats.describe(_flat(pre))
        sd = summary.sd or 0.0
        qr = (summary.mean - 3 * sd, summary.mean + 3 * sd)
        if method is ComparisonMethod.MIN_MAX:
            lo, hi = summary.min, summary.max
        else:
            lo, hi = qr
        outside: dict[str, float] = {}
        lower: dict[str, float] = {}
        upper_only = _upper_only(views, material, attribute)
        for lot, vs in post.items():  # every result of a post-change lot is compared
            for v in vs:
                if v < lo and upper_only:
                    lower.setdefault(lot, v)  # fewer impurities: a difference on the side the limit allows
                elif not lo <= v <= hi:
                    outside.setdefault(lot, v)
        result = None
        if method is ComparisonMethod.EQUIVALENCE:
            if sd <= 0:
                out.append(NotEvaluated(f"{attribute} ({material}): the pre-change lots have SD 0, so the "
                                        "1.5 SD equivalence margin is 0 and TOST cannot be run"))
                continue
            result = stats.tost(_flat(post), _flat(pre), margin=1.5 * sd)
            passed = result.equivalent
        else:
            passed = not outside
        retested = [lot for lot, vs in {**pre, **post}.items() if len(vs) > 1]
        several = _several_rows(numbers, retested) if retested else None
        out.append(Comparison(material, attribute, method, pre, post, summary.mean, sd, qr,
                              outside, result, passed, _unit(d, views, material, attribute), several, lower))
    if not seen:
        reason = f"{attribute} has no results for the study lots in {d.lots_file}"
        if not lots.pre or not lots.post:
            reason = (f"{attribute}: no {'pre' if not lots.pre else 'post'}-change lots found in {d.lots_file}"
                      + (f" (listed but absent: {', '.join(map(visible, lots.missing))})" if lots.missing else ""))
        out.append(NotEvaluated(reason))
    return out


# ------------------------------------------------------------------------------- CMP-001


@rule(
    id="CMP-001", slug="risk-assessed", area=Area.CMP,
    title="Each change has a risk assessment naming the affected attributes",
    severity=by_phase(MI, MA, B, B, B),
    cites=(CGT_COMPARABILITY, Q9_R1, FLEX_2026),
    grading="A minor change with a risk assessment and a summary that names no affected attributes is "
            "info (the 2026 flexibility accepts proportionate data). A change with a comparability "
            "study or a summary on record that does not name its risk assessment document is info "
            "(not shown), and "
            "the study's attributes stand for affected_attributes left out; every other gap takes "
            "the phase's grade.",
    remedy="Record the change's risk assessment (document id in `risk_assessment`) and list the quality "
           "attributes it may affect in `affected_attributes`; the assessment decides how much "
           "comparability data the change needs.",
    why="The risk assessment is what makes a proportionate comparability package acceptable: without it "
        "neither the reviewer nor the sponsor can tell whether a change is minor.",
    ctd=("3.2.S.2.6", "3.2.P.2.3"),
    flexibilities=("CD5",),
)
def risk_assessed(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    changes = _changes(d)
    if isinstance(changes, NotEvaluated):
        yield changes
        return
    for i, c in changes:
        studied = c.comparability is not None and bool(c.comparability.attributes)
        evidence = ("a comparability study" if c.comparability is not None
                    else "a summary" if (c.summary or "").strip() else None)
        if not (c.risk_assessment or "").strip() and evidence is not None:
            yield Gap(f"Change {c.id} ({c.risk.value}) has {evidence}, but its risk assessment document is "
                      "not shown (risk_assessment).", at=_at(d, i), record=_record(c), severity=I,
                      remedy=f"Name the risk assessment of change {c.id} (document id in `risk_assessment`)"
                             + ("." if studied or c.affected_attributes else
                                " and the attributes it may affect (`affected_attributes`)."))
        elif not (c.risk_assessment or "").strip():
            yield Gap(f"Change {c.id} ({c.risk.value}) has no risk assessment.",
                      at=_at(d, i), record=_record(c))
        elif not c.affected_attributes and not studied:
            note = f"; {FLEXIBILITY}, but it should still name what it may affect" if proportionate(c) else ""
            yield Gap(f"Change {c.id} records no affected attributes (affected_attributes) from its risk "
                      f"assessment {c.risk_assessment}{note}.", at=_at(d, i, "risk_assessment"), record=_record(c),
                      severity=_severity(c))


# ------------------------------------------------------------------------------- CMP-002

# A change to the product or process is judged by the comparability sources; only a method change
# also rests on the analytical-procedure guidances, so its findings alone cite those.
_PRODUCT_CHANGE_CITES = (Q5E, CGT_COMPARABILITY, CBER_2026, FLEX_2026)


@rule(
    id="CMP-002", slug="comparability-study-present", area=Area.CMP,
    title="Moderate and major changes have a comparability study; minor changes a proportionate summary",
    severity=by_phase(I, MA, B, B, B),
    cites=(*_PRODUCT_CHANGE_CITES, Q14, METHODS_LIFECYCLE_2015),
    grading="A method change (kind: method) whose new method records its bridging study needs no "
            "study at any risk, and is silent (SPEC-012 judges the bridging). A minor change with its "
            "proportionate summary of data (summary) needs no study: silent before the pivotal "
            "study, info at or after it and after approval (the 2026 flexibility). A minor change with "
            "neither a study nor a summary takes the phase's grade, at most major (its risk is recorded "
            "as low: the missing data is a gap to close, not a reason to refuse the application); a "
            "moderate or major change without a study (a method change: without a bridging study) takes "
            "the phase's grade.",
    partial=by_phase(None, None, MA, MA, MA),
    remedy="Run a comparability study of pre- and post-change lots on the affected attributes (record it "
           "under `comparability`); for a minor change a risk assessment and a short `summary` of the "
           "data showing quality is unaffected suffice; for a method change, the bridging study of the "
           "new method against the one it replaces (methods.yaml `replaces` and `bridging_study`).",
    why="Clinical data gathered on one process support another only through a comparability "
        "demonstration. The May 2026 guidance lets a minor, low-risk change rest on limited "
        "comparability data, proportionate to its risk, but not on none; a moderate or major change "
        "needs a comparability study. A change of analytical method leaves the product as it was: its "
        "evidence is the bridging study of the new method against the one it replaces (ICH Q14; FDA "
        "Analytical Procedures and Methods Validation, 2015), not a study of product lots. cmcflex reads "
        "a method change as bridged when the specification test of an affected attribute names a method "
        "that records the method it replaces and its bridging study in methods.yaml.",
    ctd=("3.2.S.2.6", "3.2.P.2.3"),
    flexibilities=("CD5",),
)
def comparability_study_present(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    changes = _changes(d)
    if isinstance(changes, NotEvaluated):
        yield changes
        return
    when = "" if ctx.phase > Phase.PHASE_1 else " (needed once the product moves past phase 1)"
    for i, c in changes:
        if c.comparability is not None or revises_specification(c) or _bridged_method(d, c) is not None:
            continue  # a bridged method change rests on its bridging study (SPEC-012), not on product lots
        cites = None if c.kind is ChangeKind.METHOD else _PRODUCT_CHANGE_CITES
        if c.risk is ChangeRisk.MINOR:
            if not (c.summary or "").strip():
                method = c.kind is ChangeKind.METHOD
                unbridged = (", and no new method of an affected attribute records its bridging study "
                             "(methods.yaml bridging_study)" if method else "")
                yield Gap(f"Minor {'method ' if method else ''}change {c.id} has neither a comparability study "
                          f"nor a proportionate summary of data (summary){unbridged}{when}; {FLEXIBILITY} "
                          "(limited data, not none).",
                          at=_at(d, i), record=_record(c), data={"change": c.id, "risk": "minor",
                                                                 "missing": ["summary", *(["bridging_study"]
                                                                                          if method else [])]},
                          severity=MA if ctx.phase >= Phase.PHASE_3 else None,
                          cites=cites,
                          remedy=(f"Record a short summary of the data showing that change {c.id} leaves "
                                  "product quality unaffected (`summary`: e.g. release results of lots "
                                  "made before and after it, or the qualification of the new material or "
                                  "equipment), beside its risk assessment (`risk_assessment`); or run a "
                                  "comparability study (`comparability`)"
                                  + ("; for a method change, the bridging study of the new method against the "
                                     "one it replaces (methods.yaml `replaces` and `bridging_study`) is its "
                                     "data." if method else ".")))
            elif c.phase is Phase.POST_APPROVAL:
                yield Gap(f"Minor change {c.id} was implemented {c.phase.label}, to the licensed process, "
                          f"and rests on a proportionate summary; {FLEXIBILITY}, provided the summary "
                          "covers commercial lots and the change is reported in its 21 CFR 601.12 "
                          "reporting category.",
                          at=_at(d, i, "summary"), record=_record(c), severity=I,
                          cites=cites,
                          remedy=(f"Confirm that the summary of change {c.id} covers commercial (licensed) "
                                  "lots made before and after the change, and report the change in its "
                                  "reporting category under 21 CFR 601.12 (usually the annual report, "
                                  "21 CFR 601.12(d), for a minor change); no further study is needed if "
                                  "it does."))
            elif _late(d, c):
                yield Gap(f"Minor change {c.id} was implemented in {c.phase.label}, at or after the start "
                          f"of the pivotal study, and rests on a proportionate summary; {FLEXIBILITY}, also at "
                          "this stage, provided the summary covers the pivotal material.",
                          at=_at(d, i, "summary"), record=_record(c), severity=I,
                          cites=cites,
                          remedy=(f"Confirm that the summary of change {c.id} covers the pivotal material "
                                  "(the lots made for the pivotal study before and after the change); no "
                                  "further study is needed if it does."))
            continue
        if c.kind is ChangeKind.METHOD:
            yield _unbridged_method_change(d, i, c, when)
            continue
        # a summary may name a study (a report id): what is missing is the study on record
        summary = (f"; its summary is not the study: a {c.risk.value} change needs the study's design, lots, "
                   "attributes and conclusion on record" if (c.summary or "").strip() else "")
        yield Gap(f"{c.risk.value.capitalize()} change {c.id} records no comparability study "
                  f"(comparability){when}{summary}.", at=_at(d, i), record=_record(c), cites=cites)


def _unbridged_method_change(d: Dossier, i: int, c: Change, when: str) -> Gap:
    """CMP-002 on a moderate or major method change with neither a study nor a bridged new method."""
    return Gap(f"{c.risk.value.capitalize()} method change {c.id} records neither a comparability study "
               f"(comparability) nor, for a new method of an affected attribute, the bridging study against "
               f"the method it replaces (methods.yaml bridging_study){when}.", at=_at(d, i), record=_record(c),
               data={"change": c.id, "risk": c.risk.value, "kind": "method",
                     "affected_attributes": list(c.affected_attributes)},
               remedy=(f"Record the bridging study of the new method (methods.yaml: `replaces` and "
                       f"`bridging_study` on the method that the specification test of an attribute in change "
                       f"{c.id}'s `affected_attributes` names), or a comparability study (`comparability`)."))


def _bridged_method(d: Dossier, change: Change) -> str | None:
    """For a method change: the id of a new method of an affected attribute (the method its
    specification test names) that records the method it replaces and its bridging study in
    methods.yaml (the data that show the change leaves results comparable)."""
    if change.kind is not ChangeKind.METHOD:
        return None
    attributes = set(change.affected_attributes)
    for _, _, _, test in d.spec_tests():
        method = d.method(test.method) if test.attribute in attributes else None
        if method is not None and method.replaces and method.bridging_study:
            return method.id
    return None


# ------------------------------------------------------------------------------- CMP-003


@rule(
    id="CMP-003", slug="criteria-predefined", area=Area.CMP,
    title="The comparability study's method and acceptance criteria were set in advance",
    severity=by_phase(None, MI, MA, B, B),
    cites=(CGT_COMPARABILITY, Q5E, FLEX_2026),
    grading="Criteria recorded as set after the data (criteria_predefined: false) take the phase's "
            "grade, or info for a minor change with a risk assessment and a summary (the 2026 "
            "flexibility accepts proportionate data); a study that leaves out criteria_predefined or "
            "its method is info (not shown). A study that concludes not comparable claims nothing from its criteria and "
            "is not checked here (CMP-005 asks for its bridge).",
    remedy="Name the statistical method (`method`) and set the acceptance criteria in an approved "
           "protocol before testing post-change lots; record `criteria_predefined: true`.",
    why="Criteria chosen after the data are seen can be fitted to any result, so a post hoc "
        "comparability conclusion carries little weight.",
    ctd=("3.2.S.2.6", "3.2.P.2.3"),
    flexibilities=("CD5",),
)
def criteria_predefined(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    changes = _changes(d)
    if isinstance(changes, NotEvaluated):
        yield changes
        return
    for i, c in changes:
        study = c.comparability
        if study is None or revises_specification(c) or study.conclusion is Conclusion.NOT_COMPARABLE:
            continue  # no comparability claim rests on the criteria; CMP-005 asks for the bridge
        unshown = [key for key, absent in (("method", study.method is None),
                                           ("criteria_predefined", study.criteria_predefined is None)) if absent]
        if study.criteria_predefined is False:
            note = f" ({FLEXIBILITY})" if proportionate(c) else ""
            also = " and names no statistical method (method)" if study.method is None else ""
            yield Gap(f"The comparability study of change {c.id} did not set its acceptance criteria in "
                      f"advance{also}{note}.", at=_at(d, i, "comparability", "criteria_predefined"),
                      record=_record(c), severity=_severity(c))
        elif unshown:
            what = {"method": "its statistical method", "criteria_predefined":
                    "whether its acceptance criteria were set before the data were seen"}
            yield Gap(f"The comparability study of change {c.id} does not record "
                      f"{' or '.join(what[k] for k in unshown)}, so that is not shown ({', '.join(unshown)}).",
                      at=_at(d, i, "comparability"), record=_record(c), severity=I,
                      data={"not_shown": unshown},
                      remedy=f"Record in the comparability study of change {c.id} "
                             + " and ".join({"method": "its `method` (quality_range, equivalence, min_max or "
                                                       "descriptive)",
                                             "criteria_predefined": "`criteria_predefined: true` where the "
                                                                    "protocol set the criteria before testing"}[k]
                                            for k in unshown) + ".")


# ------------------------------------------------------------------------------- CMP-004


_FAILED_REMEDY = {
    ComparisonMethod.QUALITY_RANGE: (
        "Investigate each post-change result outside the quality range (pre-change mean ± 3 SD); if "
        "the difference is real, revise the conclusion and bridge the change with nonclinical or "
        "clinical data, and where there are few pre-change lots add lots before deciding."),
    ComparisonMethod.MIN_MAX: (
        "Investigate each post-change result outside the pre-change minimum to maximum; that range is "
        "narrow when few pre-change lots set it, so add pre-change (or retained) lots or use a "
        "quality range, and if the difference is real revise the conclusion and bridge the change."),
    ComparisonMethod.EQUIVALENCE: (
        "Revise the conclusion to inconclusive or not comparable, or add lots on both sides and "
        "rerun TOST (its power is low with few lots); if the means differ, bridge the change with "
        "nonclinical or clinical data."),
}
_DESCRIPTIVE_REMEDY = (
    "Set acceptance criteria in an approved protocol (a quality range, an equivalence margin or the "
    "pre-change minimum to maximum) and compare the lots against them, or state why a descriptive "
    "comparison is enough for this change's risk.")
_WEAK_REMEDY = (
    "Add lots to the comparison (or use a split-source design) so that it could detect a difference; "
    "the conclusion stands unless the added lots show one.")


@rule(
    id="CMP-004", slug="data-support-conclusion", area=Area.CMP,
    title="The lot data support the comparability conclusion",
    severity=by_phase(None, MA, B, B, B),
    cites=(Q5E, CGT_COMPARABILITY),
    grading="A 'comparable' claim the recomputed data contradict takes the phase's grade, even for a "
            "minor change, and so does a 'comparable' study listing lots that lots.csv does not hold "
            "(the recomputation would leave them out); a descriptive comparison, or one with too few "
            "lots to detect a difference, is info (weak evidence) unless its lots, read with a quality "
            "range from more than three pre-change lots, contradict the conclusion; and so are post-change lots below the "
            "range of an attribute limited from above only (lower impurities: a difference on the side "
            "the limit allows, for the study to discuss, ICH Q5E).",
    remedy="Reconcile the conclusion with the lot data: investigate the post-change results the study's "
           "method rejects, add lots where the comparison has too few to decide, and revise the "
           "conclusion (with a nonclinical or clinical bridge) if the difference is real.",
    why="A 'comparable' conclusion is only as good as the data behind it; cmcflex recomputes the "
        "study's method from lots.csv (quality range mean ± 3 SD, TOST with a 1.5 SD margin, or min–max) "
        "and flags a claim the data contradict. A contradiction is flagged even for a minor change, "
        "because data showing a difference mean the change was not minor.",
    ctd=("3.2.S.2.6", "3.2.P.2.3"),
)
def data_support_conclusion(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    changes = _changes(d)
    if isinstance(changes, NotEvaluated):
        yield changes
        return
    for i, c in changes:
        study = c.comparability
        if study is None or revises_specification(c):
            continue
        at = _at(d, i, "comparability", "conclusion")
        if study.conclusion is Conclusion.PENDING:
            yield NotEvaluated(f"change {c.id}: the comparability study's conclusion is pending")
            continue
        if study.method is ComparisonMethod.DESCRIPTIVE:
            if study.conclusion is Conclusion.COMPARABLE:
                yield _descriptive(d, ctx.views, i, c, at)
            continue
        if d.lots is None:
            yield NotEvaluated(f"change {c.id}: lots.csv is missing, so the comparison cannot be recomputed")
            continue
        lots = ctx.views.study_lots(c)
        if study.conclusion is Conclusion.COMPARABLE:
            yield from _unresolved_study_lots(d, ctx.views, i, c)
        if len(lots.pre) < 2 or len(lots.post) < 2:
            absent = (f"; listed but not in {d.lots_file}: {', '.join(map(visible, lots.missing))}"
                      if lots.missing else "")
            yield NotEvaluated(f"change {c.id}: {len(lots.pre)} pre-change and {len(lots.post)} post-change "
                               f"lots found in {d.lots_file}; at least 2 on each side are needed{absent}")
            continue
        attributes = study.attributes or c.affected_attributes
        if not attributes:
            yield NotEvaluated(f"change {c.id}: the study lists no attributes to compare")
            continue
        results: list[Comparison] = []
        materials = study_materials(d, lots)
        for attribute in attributes:
            outcome = compare_attribute(d, ctx.views, lots, materials, attribute, study.method)
            for item in outcome:
                if isinstance(item, NotEvaluated):
                    yield NotEvaluated(f"change {c.id}: {item.reason}")
                else:
                    results.append(item)
        if study.conclusion is not Conclusion.COMPARABLE or not results:
            continue
        failed = [r for r in results if r.passed is False]
        method = study.method or ComparisonMethod.QUALITY_RANGE
        data = {"change": c.id, "method": method.value,
                "pre_lots": lots.pre[:LISTED], "post_lots": lots.post[:LISTED],
                "lot_counts": {"pre": len(lots.pre), "post": len(lots.post)},
                "attributes": [r.as_data() for r in results]}
        if failed:
            yield Gap(f"Change {c.id} concludes 'comparable' but the lot data, recomputed, do not support it: "
                      + "; ".join(r.describe() for r in failed) + "."
                      + _weak_words(failed)
                      + (" The study does not record its method, so the data were recomputed with a quality "
                         "range (pre-change mean ± 3 SD)." if study.method is None else ""),
                      at=at, record=_record(c), data=data,
                      remedy=_FAILED_REMEDY[method])
        else:
            weak = [r for r in results if r.weak]
            if weak:
                yield Gap(f"Change {c.id}'s 'comparable' conclusion agrees with the lot data, but the "
                          "comparison is weak evidence: " + _weak_words(weak, lead=False),
                          at=at, record=_record(c), data=data, severity=I, remedy=_WEAK_REMEDY)
        lower = [r for r in results if r.lower]
        if lower and not failed:
            shown = "; ".join(f"{r.attribute} ({r.material}): " + ", ".join(
                f"{lot} = {number(v, r.unit)}" for lot, v in list(r.lower.items())[:10])
                + f", below the range {number_range(*r.range_compared(), r.unit)}" for r in lower)
            yield Gap(f"Change {c.id}'s post-change lots are below the pre-change range of attributes limited "
                      f"from above only ({shown}): lower impurities, a difference on the side the limit "
                      "allows (ICH Q5E), for the study to discuss rather than evidence against it.",
                      at=at, record=_record(c), data=data, severity=I,
                      remedy="Discuss the lower values in the comparability report (their cause, and that "
                             "they have no adverse impact on quality, safety or efficacy).")


def _descriptive(d: Dossier, views: DossierViews, i: int, c: Change, at: Location) -> Gap:
    """CMP-004 on a 'comparable' conclusion from a descriptive comparison: weak evidence (info), unless
    the lots, read with a quality range as a study without criteria would be, show a difference it
    could detect (pre-change lots enough for the range): the label sets no criteria, but the data
    are there to read."""
    study = c.comparability
    assert study is not None
    failed: list[Comparison] = []
    lots = views.study_lots(c)
    attributes = study.attributes or c.affected_attributes
    if d.lots is not None and len(lots.pre) >= 2 and len(lots.post) >= 2:
        for attribute in attributes:
            for item in compare_attribute(d, views, lots, study_materials(d, lots), attribute,
                                          ComparisonMethod.QUALITY_RANGE):
                if isinstance(item, Comparison) and item.passed is False and not item.weak:
                    failed.append(item)
    data = {"change": c.id, "method": "descriptive", "attributes": [r.as_data() for r in failed]}
    if failed:
        return Gap(f"Change {c.id} concludes 'comparable' from a descriptive comparison, which sets no acceptance "
                   "criteria; read with a quality range (pre-change mean ± 3 SD), the lot data contradict it: "
                   + "; ".join(r.describe() for r in failed) + ".", at=at, record=_record(c), data=data,
                   remedy=_FAILED_REMEDY[ComparisonMethod.QUALITY_RANGE])
    return Gap(f"Change {c.id} concludes 'comparable' from a descriptive comparison, which sets no acceptance "
               "criteria and is weak evidence.", at=at, record=_record(c), severity=I, data=data,
               remedy=_DESCRIPTIVE_REMEDY)


def _unresolved_study_lots(d: Dossier, views: DossierViews, i: int, c: Change) -> Iterator[Gap]:
    """A 'comparable' study listing lots that lots.csv does not hold: the recomputation leaves them
    out, so it cannot show the conclusion holds (a misspelt out-of-range lot would vanish)."""
    from cmcflex.rules.common import misses_in_words, unresolved_lots

    study = c.comparability
    assert study is not None
    for side, ids, words in (("pre_lots", study.pre_lots, "pre-change"), ("post_lots", study.post_lots, "post-change")):
        misses = unresolved_lots(views, ids)
        if not misses:
            continue
        many = len(misses) > 1
        yield Gap(f"Change {c.id} concludes 'comparable', but its study lists {words} lot{'s' if many else ''} "
                  f"{misses_in_words(misses)}, which {d.lots_file} does not hold; the recomputation leaves "
                  f"{'them' if many else 'it'} out, so the lot data cannot be shown to support the conclusion.",
                  at=_at(d, i, "comparability", side, ids.index(next(iter(misses)))), record=_record(c),
                  data={"change": c.id, "field": side, "missing_lots": list(misses), "suggestions": misses},
                  remedy=f"Write each lot id in {side} exactly as {d.lots_file} has it (the finding names the "
                         f"closest lot id), or add the lot's results to {d.lots_file}, so that the comparison covers every "
                         "lot of the study.")


def _weak_words(results: list[Comparison], lead: bool = True) -> str:
    notes = sorted({r.weak for r in results if r.weak})
    if not notes:
        return ""
    text = " ".join(notes)
    return f" {text}" if lead else text


# ------------------------------------------------------------------------------- CMP-005


@rule(
    id="CMP-005", slug="bridge-when-not-comparable", area=Area.CMP,
    title="A change not shown comparable has a nonclinical or clinical bridge",
    severity=by_phase(None, MA, B, B, B),
    cites=(Q5E, CGT_COMPARABILITY),
    remedy="Bridge the change with nonclinical or clinical data (record the study id in "
           "`nonclinical_bridge` or `clinical_bridge`), or repeat the comparability study with enough lots "
           "to reach a conclusion.",
    why="When quality data cannot show that pre- and post-change product are comparable, clinical "
        "experience with the old process no longer supports the new one without a bridge. A study's own "
        "negative or inconclusive result is flagged even for a minor change.",
    ctd=("3.2.S.2.6", "3.2.P.2.3"),
)
def bridge_when_not_comparable(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    changes = _changes(d)
    if isinstance(changes, NotEvaluated):
        yield changes
        return
    for i, c in changes:
        study = c.comparability
        if study is None or revises_specification(c) or study.conclusion not in (Conclusion.NOT_COMPARABLE,
                                                                                   Conclusion.INCONCLUSIVE):
            continue
        if study.nonclinical_bridge or study.clinical_bridge:
            continue
        word = study.conclusion.value.replace("_", " ")
        yield Gap(f"Change {c.id}'s comparability study is {word} and no nonclinical or clinical bridge "
                  "is recorded.", at=_at(d, i, "comparability", "conclusion"), record=_record(c))


# ------------------------------------------------------------------------------- CMP-006


@rule(
    id="CMP-006", slug="late-major-change", area=Area.CMP,
    title="A major change at or after the pivotal study is compared against pivotal lots",
    severity=by_phase(None, None, MA, B, None),
    cites=(Q5E, TOWN_HALLS),
    remedy="Compare the post-change lots against lots used in the pivotal study (list them in "
           "`pre_lots`), so that the pivotal clinical data support the commercial process.",
    why="After the pivotal study, the clinical evidence rests on pivotal material; a late major change "
        "compared only against earlier or development lots leaves the commercial product unlinked to it. "
        "A change whose from_version made no pivotal lot (introduced for the pivotal study, which then ran "
        "on the changed process) needs no pivotal pre-change lot: none exists; nor does a change of "
        "analytical method, bridged on its method (CMP-002, SPEC-012).",
    ctd=("3.2.S.2.6", "3.2.P.2.3"),
)
def late_major_change(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    changes = _changes(d)
    if isinstance(changes, NotEvaluated):
        yield changes
        return
    late = [(i, c) for i, c in changes
            if c.risk is ChangeRisk.MAJOR and _late(d, c) and not revises_specification(c)
            and c.kind is not ChangeKind.METHOD]  # an assay change is bridged on its method (CMP-002, SPEC-012)
    if not late:
        return
    if d.lots is None:
        yield NotEvaluated("lots.csv is missing: the pre-change lots of late major changes cannot be "
                           "matched to pivotal lots")
        return
    pivotal = set(d.pivotal_lot_ids())
    versions = {lot.process_version for lot in (d.lots.lot(i) for i in pivotal) if lot is not None}
    for i, c in late:
        pre = ctx.views.study_lots(c).pre
        if pivotal.intersection(pre):
            continue
        if c.from_version is not None and versions and c.from_version not in versions:
            continue  # no pivotal lot was made by the process before it: the pivotal study ran on the changed one
        named = ", ".join(pre[:10]) + (f" and {len(pre) - 10} more" if len(pre) > 10 else "")
        what = (f"none of its pre-change lots ({named}) is a pivotal ({d.pivotal_use}) lot"
                if pre else "no pre-change lots are identified")
        yield Gap(f"Major change {c.id} was implemented in {c.phase.label}, at or after the pivotal study, "
                  f"but {what}.", at=_at(d, i, *(("comparability",) if c.comparability else ())),
                  record=_record(c), data={"change": c.id, "pre_lots": pre[:LISTED], "pre_lot_count": len(pre),
                                           "pivotal_lots": sorted(pivotal)[:LISTED],
                                           "pivotal_lot_count": len(pivotal)})


# ------------------------------------------------------------------------------- CMP-007


@rule(
    id="CMP-007", slug="patient-material-in-study", area=Area.CMP,
    title="Autologous products: the comparability study uses patient-derived material",
    severity=by_phase(None, MI, MA, MA, MA),
    cites=(f"{CGT_COMPARABILITY} (split-source designs)", FLEX_2026),
    grading="For a minor change with a risk assessment and a summary the gap is info (the 2026 "
            "flexibility accepts proportionate data); post-change lots that do not record their "
            "starting_material are info (not shown); otherwise it takes the phase's grade.",
    remedy="Include post-change lots made from patient starting material, or use a split-source design "
           "(one patient's or donor's material split between the old and new process).",
    why="Healthy-donor cells can behave differently from patient cells in manufacture, so a "
        "comparability study of an autologous product on healthy-donor material alone may miss the "
        "difference that matters.",
    ctd=("3.2.S.2.6", "3.2.P.2.3"),
    flexibilities=("CD5",),
)
def patient_material_in_study(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if not d.autologous:
        return
    changes = _changes(d)
    if isinstance(changes, NotEvaluated):
        yield changes
        return
    for i, c in changes:
        study = c.comparability
        if study is None or study.design is StudyDesign.SPLIT_SOURCE or revises_specification(c):
            continue
        if d.lots is None:
            yield NotEvaluated(f"change {c.id}: lots.csv is missing, so the starting material of the "
                               "post-change lots is unknown")
            continue
        post = ctx.views.study_lots(c).post
        if not post and no_post_lots_yet(c):
            yield NotEvaluated(f"change {c.id}: the comparability study lists no post-change lots yet "
                               f"(post_lots{': []' if 'post_lots' in study.model_fields_set else ' left out'}, "
                               f"conclusion {study.conclusion.value}); their starting material is judged once "
                               "they are listed")
            continue
        if not post:
            yield NotEvaluated(f"change {c.id}: no post-change lots found in {d.lots_file}")
            continue
        column, index = d.lots.lot_column("starting_material"), d.lots.index
        starting: dict[str, int] = {}
        for lot_id in post:
            kind = column[index[lot_id]] or "not stated"
            starting[kind] = starting.get(kind, 0) + 1
        if StartingMaterial.PATIENT in starting:
            continue
        if set(starting) == {"not stated"}:
            yield Gap(f"The post-change lots of change {c.id} do not record their starting material in "
                      f"{d.lots_file}, so whether the comparability study uses patient-derived material is not "
                      "shown.", at=_at(d, i, "comparability"), record=_record(c), severity=I,
                      data={"change": c.id, "post_lots": post[:LISTED], "post_lot_count": len(post)},
                      remedy="Record the starting_material column (patient, healthy_donor, cell_bank) of "
                             f"the post-change lots in {d.lots_file}, or design: split_source where it applies.")
            continue
        kinds = ", ".join(sorted(starting))
        note = f" ({FLEXIBILITY})" if proportionate(c) else ""
        yield Gap(f"The comparability study of change {c.id} uses no patient-derived post-change lot "
                  f"(starting material: {kinds}) and is not split-source{note}.",
                  at=_at(d, i, "comparability"), record=_record(c), severity=_severity(c),
                  data={"change": c.id, "post_lots": post[:LISTED], "post_lot_count": len(post),
                        "starting_material": dict(sorted(starting.items()))})


# ------------------------------------------------------------------------------- CMP-008


@rule(
    id="CMP-008", slug="reporting-category", area=Area.CMP,
    title="Post-approval changes carry a reporting category; major changes are PAS",
    severity=by_phase(None, None, None, None, B),
    cites=(CFR_601_12,),
    remedy="Give each post-approval change its reporting category under 21 CFR 601.12: a prior approval "
           "supplement (PAS) for a major change, CBE-30 or CBE-0 for a moderate one, the annual report for "
           "a minor one.",
    why="Distributing product made with a major change before FDA approves the supplement violates "
        "21 CFR 601.12(b); the reporting category decides when product may ship.",
    ctd=("3.2.S.2.6", "3.2.P.2.3"),
)
def reporting_category(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    changes = _changes(d)
    if isinstance(changes, NotEvaluated):
        yield changes
        return
    for i, c in changes:
        if c.phase is not Phase.POST_APPROVAL:
            continue
        if c.reporting_category is None and revises_specification(c):
            yield Gap(f"Post-approval specification change {c.id} ({c.risk.value}) has no reporting category; a "
                      "change to the specifications of the approved application is a major change under "
                      "21 CFR 601.12(b)(2)(i).", at=_at(d, i), record=_record(c),
                      remedy=(f"Set the reporting category of change {c.id}: a change to the approved "
                              "specifications is filed as a prior approval supplement (PAS) under 21 CFR "
                              "601.12(b)(2)(i) unless FDA has agreed a lower category (e.g. in an approved "
                              "comparability protocol or re-evaluation plan)."))
        elif c.reporting_category is None:
            minor = c.risk is ChangeRisk.MINOR
            note = "; a minor change is usually reported in the annual report (21 CFR 601.12(d))" if minor else ""
            yield Gap(f"Post-approval change {c.id} ({c.risk.value}) has no reporting category{note}.",
                      at=_at(d, i), record=_record(c),
                      remedy=(f"Set the reporting category of change {c.id} under 21 CFR 601.12: for a "
                              "minor change usually the annual report (21 CFR 601.12(d)), unless its risk "
                              "assessment puts it in a supplement." if minor else None))
        elif c.risk is ChangeRisk.MAJOR and c.reporting_category is not ReportingCategory.PAS:
            yield Gap(f"Major post-approval change {c.id} is filed as {c.reporting_category.value}, "
                      "not as a prior approval supplement (PAS).",
                      at=_at(d, i, "reporting_category"), record=_record(c))

