"""Per-test lot summaries for the SPEC rules: pivotal vs released lots, censoring kept apart.

One reportable result per lot: where a lot has several rows for an attribute, the row made with
the specification test's method wins, else the last row. Censored results (``<0.50``) never enter
a mean or SD; they bound the observed range only on the side they speak for. Summaries use
:func:`cmcflex.stats.describe` (stdlib only; no SciPy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cmcflex.dossier.loader import Dossier
from cmcflex.dossier.lots import Lot, LotResult
from cmcflex.rules.common import SpecRef, spec_index

RELEASED = ("released", "released_under_exception")
PATIENT_USES = ("phase_1", "phase_2", "phase_3", "commercial")


def is_released(lot: Lot) -> bool:
    """Released, or released under exception; a clinical lot with no disposition counts as released."""
    if lot.disposition is None:
        return lot.use in PATIENT_USES
    return lot.disposition in RELEASED


@dataclass(frozen=True)
class LotSet:
    """The results of one group of lots for one test."""

    results: tuple[LotResult, ...]  # one per lot, file order

    @property
    def lot_ids(self) -> tuple[str, ...]:
        return tuple(r.lot_id for r in self.results)

    @property
    def numeric(self) -> tuple[tuple[str, float], ...]:
        """(lot, value) of uncensored numbers."""
        return tuple((r.lot_id, r.result.value) for r in self.results
                     if r.result.word is None and not r.result.censor)

    @property
    def censored(self) -> tuple[LotResult, ...]:
        return tuple(r for r in self.results if r.result.word is None and r.result.censor)

    @property
    def words(self) -> tuple[LotResult, ...]:
        return tuple(r for r in self.results if r.result.word is not None)

    @property
    def n(self) -> int:
        return len(self.numeric)

    def values(self) -> list[float]:
        return [v for _, v in self.numeric]

    def lowest(self) -> tuple[float, str] | None:
        """The lowest result and its lot, if known: None when a ``<x`` result leaves it open."""
        if any(r.result.censor == "<" for r in self.censored):
            return None
        cands = [(v, lot) for lot, v in self.numeric]
        cands += [(r.result.value, r.lot_id) for r in self.censored if r.result.censor == ">"]
        return min(cands) if cands else None

    def highest(self) -> tuple[float, str] | None:
        """The highest result (or upper bound) and its lot: None when a ``>x`` result leaves it open."""
        if any(r.result.censor == ">" for r in self.censored):
            return None
        cands = [(v, lot) for lot, v in self.numeric]
        cands += [(r.result.value, r.lot_id) for r in self.censored if r.result.censor == "<"]
        return max(cands, key=lambda c: (c[0], c[1])) if cands else None

    def summary(self) -> dict[str, Any] | None:
        """n, mean, sd, min, max of the uncensored results (plus counts of censored and words)."""
        from cmcflex import stats

        out: dict[str, Any] = {"lots": list(self.lot_ids)}
        if self.n:
            s = stats.describe(self.values())
            out.update(n=s.n, mean=_r(s.mean), sd=None if s.sd is None else _r(s.sd),
                       min=_r(s.min), max=_r(s.max))
        else:
            out.update(n=0)
        if self.censored:
            out["censored"] = {r.lot_id: r.result.describe() for r in self.censored}
        if self.words:
            out["results"] = {r.lot_id: r.result.describe() for r in self.words}
        return out


@dataclass(frozen=True)
class SpecLots:
    """A specification test with its pivotal and released lot results."""

    ref: SpecRef
    pivotal_ids: frozenset[str]
    pivotal_named: bool  # True when justification.lots chose them
    pivotal: LotSet  # pivotal lots (named ones as given; otherwise released ones)
    released: LotSet  # every released lot of the material


def _one_per_lot(results: list[LotResult], method: str | None) -> tuple[LotResult, ...]:
    chosen: dict[str, LotResult] = {}
    for r in results:
        old = chosen.get(r.lot_id)
        if old is None or not (method and old.method == method and r.method != method):
            chosen[r.lot_id] = r
    order = {r.lot_id: i for i, r in enumerate(results)}
    return tuple(sorted(chosen.values(), key=lambda r: order[r.lot_id]))


def lots_by_test(d: Dossier) -> dict[tuple[str, str], SpecLots]:
    """(material, attribute) → its lot results, for every specification test; cached per dossier."""
    cached = d.cache.get("spec_test_lots")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    out: dict[tuple[str, str], SpecLots] = {}
    table = d.lots
    if table is not None:
        released_ids = frozenset(lot.id for lot in table.lots() if is_released(lot))
        pivotal_all = frozenset(d.pivotal_lot_ids())
        for key, ref in spec_index(d).items():
            material, attribute = key
            results = _one_per_lot(list(table.results(material, attribute)), ref.test.method)
            named = ref.test.justification.lots if ref.test.justification else None
            if named:
                pivotal_ids = frozenset(named)
            else:
                pivotal_ids = frozenset(i for i in pivotal_all if i in released_ids)
            out[key] = SpecLots(
                ref,
                pivotal_ids,
                bool(named),
                LotSet(tuple(r for r in results if r.lot_id in pivotal_ids)),
                LotSet(tuple(r for r in results if r.lot_id in released_ids)),
            )
    d.cache["spec_test_lots"] = out
    return out


def _r(x: float) -> float:
    """Round for reports: 6 significant figures."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.6g}")


def fmt(x: float | None, unit: str | None = None) -> str:
    """A number for a sentence: 452, 72.1, 0.031, 1.2E12 (4 significant figures)."""
    if x is None:
        return "n/a"
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        mant, exp = f"{x:.3E}".split("E")
        mant = mant.rstrip("0").rstrip(".")
        text = f"{mant}E{int(exp)}"
    else:
        text = f"{x:.4g}"
        if "e" in text:
            text = f"{x:.0f}"
    return f"{text} {unit}" if unit else text
