"""How SPEC findings write specification tests, lots and results in a sentence: a test's label and
unit, a result, a list, the range of a lot summary, the lots a justification rests on, lots with
several results, and the sentence that points a few-lot finding to the 2026 flexibility."""

from __future__ import annotations

import math
from typing import Any, Iterable

from cmcflex.dossier.criteria import NumericCriterion, Result
from cmcflex.dossier.loader import Dossier
from cmcflex.dossier.lots import LotResult
from cmcflex.rules.common import SpecRef
from cmcflex.formatting import number, number_range
from cmcflex.rules.lotstats import LotSet, SpecLots
from cmcflex.views import DossierViews
from cmcflex.rules.specifications.limit_statistics import REF_CONFIDENCE, REF_COVERAGE, _round


FLEXIBILITY = ("a limit from clinical experience with a post-approval re-evaluation plan is the "
               "flexibility CBER announced in January 2026")


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
    """mean ∓ 3 SD and the 95/99 tolerance limit of the lots on the criterion's sides; with ``log``
    computed on ln(value) and quoted back-transformed (the scale the justification states)."""
    from cmcflex import stats

    n = lots.n
    values = lots.values()
    if n < 2 or (log and any(v <= 0 for v in values)):
        return "", {}
    s = stats.describe([math.log(v) for v in values] if log else values)
    if not s.sd:
        return "", {}
    back = math.exp if log else (lambda v: v)
    sides = 2 if len(criterion.sides) == 2 else 1
    k = stats.tolerance_factor(n, REF_COVERAGE, REF_CONFIDENCE, sides)
    lo3, hi3 = back(s.mean - 3 * s.sd), back(s.mean + 3 * s.sd)
    lo_k, hi_k = back(s.mean - k * s.sd), back(s.mean + k * s.sd)
    data: dict[str, Any] = {"mean_minus_3sd": _round(lo3), "mean_plus_3sd": _round(hi3),
                            "tolerance": {"coverage": REF_COVERAGE, "confidence": REF_CONFIDENCE, "sides": sides,
                                          "k": round(k, 4), "method": "exact",
                                          "lower": _round(lo_k), "upper": _round(hi_k)}}
    if log:
        data["scale"] = "log"
    of = "of ln(result) of those lots, back-transformed," if log else "of those lots"
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
    return "; ".join(words), data


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
    if uses <= {"ppq", "commercial"}:
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


OOS_GUIDANCE = "FDA, Investigating Out-of-Specification (OOS) Test Results for Pharmaceutical Production (May 2022)"


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
