"""How SPEC findings write specification tests, lots and results in a sentence: a test's label and
unit, a result, a list, the range of a lot summary, the lots a justification rests on, lots with
several results, the figures and problems of a recomputed interval (computed in
:mod:`.limit_statistics`), and the sentence that points a few-lot finding to the 2026 flexibility."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cmcflex.dossier.criteria import NumericCriterion, Result
from cmcflex.dossier.loader import Dossier
from cmcflex.dossier.lots import LotResult
from cmcflex.dossier.models import SpecTest
from cmcflex.formatting import number, number_range
from cmcflex.rules.common import SpecRef
from cmcflex.rules.lotstats import LotSet, SpecLots
from cmcflex.rules.specifications.limit_statistics import IntervalIssue, _recompute_interval, _reference_limits
from cmcflex.views import DossierViews
from cmcflex.vocabulary import LotUse

FLEXIBILITY = ("a limit from clinical experience with a post-approval re-evaluation plan is the "
               "flexibility of the May 2026 CMC flexibilities guidance")


def _label(ref: SpecRef) -> str:
    return f"{ref.spec.material}/{ref.test.attribute}"


def _unit(ref: SpecRef) -> str | None:
    c = ref.test.criterion
    return getattr(c, "unit", None) or ref.test.unit


def _listing(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    text = ", ".join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _few_lots_sentence(n: int, statistical: bool) -> str:
    """The second sentence of a finding resting on few lots: points to the flexibility."""
    lots = f"{n} lot{'s' if n != 1 else ''}"
    if statistical:
        return f" With only {lots} a statistical limit is weak, and {FLEXIBILITY}."
    return f" With {lots}, {FLEXIBILITY}."


def _reference_figures(lots: LotSet, criterion: NumericCriterion, unit: str | None,
                       log: bool = False) -> tuple[str, dict[str, Any]]:
    """mean ∓ 3 SD and the 95/99 tolerance limit of the lots on the criterion's sides, in words and
    as data; with ``log`` computed on ln(value) and quoted back-transformed (the scale the
    justification states)."""
    ref = _reference_limits(lots, criterion, log)
    if ref is None:
        return "", {}
    sides, lo3, hi3, lo_k, hi_k = ref.sides, ref.lo3, ref.hi3, ref.lo_k, ref.hi_k
    lower_shown = sides == 2 or "lower" in criterion.sides
    if lower_shown and not log and lots.values() and min(lots.values()) > 0 and min(lo3, lo_k) < 0:
        # a titre or a count cannot be negative: a lower figure below zero says only that the lots
        # are too few, or spread too widely on this scale, for the figure to mean anything
        return (f"{'mean − 3 SD' if lo3 < 0 else 'the 95 %/99 % lower tolerance limit'} of "
                f"{'the uncensored results' if lots.censored else 'those lots'} falls below zero, so it "
                "says nothing of where the lower limit should be (too few lots, or too wide a spread on a "
                "linear scale)"), ref.data()
    # with results below a detection limit, the figures rest on the numeric results only: say so
    those = f"the {lots.n} uncensored results" if lots.censored else "those lots"
    of = f"of ln(result) of {those}, back-transformed," if log else f"of {those}"
    words = []
    if sides == 2:
        words.append(f"mean ± 3 SD {of} gives {number(lo3)} to {number(hi3, unit)}")
    elif "lower" in criterion.sides:
        words.append(f"mean − 3 SD {of} gives {number(lo3, unit)}")
    else:
        words.append(f"mean + 3 SD {of} gives {number(hi3, unit)}")
    if sides == 2:
        words.append(f"the two-sided 95 % confidence / 99 % coverage tolerance interval {of} is "
                     f"{number_range(lo_k, hi_k, unit)}")
    elif "lower" in criterion.sides:
        words.append(f"the one-sided 95 % confidence / 99 % coverage lower tolerance limit {of} is "
                     f"{number(lo_k, unit)}")
    else:
        words.append(f"the one-sided 95 % confidence / 99 % coverage upper tolerance limit {of} is "
                     f"{number(hi_k, unit)}")
    return "; ".join(words), ref.data()


def _interval_limits(values: list[float], criterion: NumericCriterion, test: SpecTest) -> dict[str, Any]:
    """The interval the justification states, recomputed (:func:`._recompute_interval`), with what
    keeps it from being recomputed as stated in words under ``problems``."""
    fig = _recompute_interval(values, criterion, test)
    fig["problems"] = [_interval_problem(issue) for issue in fig.pop("issues")]
    return fig


def _interval_problem(issue: IntervalIssue) -> str:
    """One issue of a recomputed interval as a clause of SPEC-007's finding."""
    f = issue.figures
    if issue.kind == "no_interval":
        return "the justification does not state the interval (method, coverage, confidence, k) it was computed with"
    if issue.kind == "zero_sd":
        return "the lots' SD is zero, so no interval can be computed"
    if issue.kind == "k_unmatched":
        return (f"the stated k = {f['k']:g} matches no tolerance factor for n = {f['n']}, "
                f"{100 * f['confidence']:g} % confidence, {100 * f['coverage']:g} % coverage, {f['sides']}-sided ("
                + ", ".join(f"{m} {v:.4f}" for m, v in f["factors"].items()) + ")")
    assert issue.kind == "log_limit", issue.kind
    return f"the {f['side']} limit {f['limit']:g} cannot be put on the log scale"


def _lots_called(d: Dossier, views: DossierViews, sl: SpecLots) -> str:
    """What the lots a justification rests on are: 'pivotal' by default; for named lots their use
    ('commercial', 'PPQ', 'PPQ and commercial', 'clinical', 'pivotal'), else 'named'."""
    if not sl.pivotal_named:
        return "pivotal"
    table = d.lots
    if table is None:
        return "named"
    uses = {table.lot_column("use")[i] for i in views.lot_indices(sl.pivotal_ids)}
    if not uses:
        return "named"
    if uses == {d.pivotal_use}:
        return "pivotal"
    if uses <= {LotUse.PPQ, LotUse.COMMERCIAL}:
        return " and ".join(w for u, w in (("ppq", "PPQ"), ("commercial", "commercial")) if u in uses)
    if uses <= {"phase_1", "phase_2", "phase_3"}:
        return "clinical"
    return "named"


def _range_words(summary: dict[str, Any], what: str, unit: str | None) -> str:
    """'; the 6 released lots with a numeric result measured 41.2 to 63.5 uM (mean 52.1 uM, SD 8.04 uM)'."""
    if not summary.get("n"):
        return ""
    words = f"; the {summary['n']} {what} with a numeric result measured {_spread(summary, unit)}"
    return words


def _spread(summary: dict[str, Any], unit: str | None) -> str:
    """'67.8 to 94.1 % (mean 85.72 %, SD 5.54 %)': one way of writing a lot summary everywhere."""
    words = number_range(summary["min"], summary["max"], unit)
    if summary.get("sd") is not None:
        words += f" (mean {number(summary['mean'], unit)}, SD {number(summary['sd'], unit)})"
    return words


def _value(result: Result, unit: str | None = None) -> str:
    """A lot result for a sentence: the word, or the (censored) number as cmcflex.formatting.number
    writes it, with the test's unit where given."""
    return result.word if result.word is not None else f"{result.censor}{number(result.value, unit)}"


def _several_words(results: dict[str, list[LotResult]], unit: str | None) -> str:
    """' L-302 (400 pg/mL at lots.csv line 12, 480 pg/mL at line 40) has several results, ...': lots
    with several different results for one test, with their rows; empty when there are none."""
    if not results:
        return ""
    shown = []
    for lot, rs in results.items():
        rows, last_file = [], None
        for r in rs:
            rows.append(f"{_value(r.result, unit)} at {r.file + ' ' if r.file != last_file else ''}line {r.line}")
            last_file = r.file
        shown.append(f"{lot} ({', '.join(rows)})")
    verb = "has" if len(results) == 1 else "have"
    return (f" {_listing(shown, 3)} {verb} several results for this test; each is judged and counted, none is "
            "averaged or dropped, and which result is reportable (and why the lot was retested) is the "
            "sponsor's to explain.")
