"""Per-test lot summaries for the SPEC rules: pivotal vs released lots, censoring kept apart.

Several results of one lot (retests, rows of several files) are never collapsed into one or
averaged: where some of a lot's rows were made with the specification test's method, those rows
are the lot's results (rows by another method are results of another test); every one of them
that differs is kept, judged and counted, and rules name the lots with several results and their
rows (a retest is the sponsor's to explain: FDA, Investigating Out-of-Specification (OOS) Test
Results for Pharmaceutical Production, May 2022). Identical rows of one lot (same result) count
once. Censored results (``<0.50``) never enter a mean or SD; they bound the observed range only
on the side they speak for. Summaries use
:func:`cmcflex.stats.describe` (stdlib only; no SciPy).

Everything is computed lazily from the lot table's columns: the pivotal lots (few) become
result objects, the released lots (possibly a million rows) only a summary, and only for the
tests a finding is about.
"""

from __future__ import annotations

import itertools
import math
from functools import cached_property
from typing import TYPE_CHECKING, Any

from cmcflex.dossier.loader import Dossier
from cmcflex.dossier.lots import LotResult
from cmcflex.formatting import number
from cmcflex.rules.common import SpecRef
from cmcflex.vocabulary import Disposition, LotUse

if TYPE_CHECKING:
    from cmcflex.views import DossierViews

RELEASED = (Disposition.RELEASED, Disposition.RELEASED_UNDER_EXCEPTION)
PATIENT_USES = (LotUse.PHASE_1, LotUse.PHASE_2, LotUse.PHASE_3, LotUse.COMMERCIAL)
MAX_LISTED = 50  # lot ids listed in a summary; beyond this only counts


def build_released(d: Dossier) -> tuple[frozenset[str], frozenset[int]]:
    """Ids and lot-table indices of the released lots of the dossier (the ids read through
    ``ctx.views.released_ids``)."""
    table = d.lots
    if table is None:
        return frozenset(), frozenset()
    # the lot-level columns, without a Lot object per lot
    uses, dispositions = table.lot_column("use"), table.lot_column("disposition")
    released = [disp in RELEASED if disp is not None else use in PATIENT_USES for use, disp in zip(uses, dispositions)]
    return (frozenset(itertools.compress(table.lot_ids, released)),
            frozenset(itertools.compress(range(len(released)), released)))


def build_assumed_released(d: Dossier) -> tuple[str, ...]:
    """Patient lots (phase 1 to commercial) with no disposition in lots.csv: counted as released
    (read through ``ctx.views.assumed_released``)."""
    table = d.lots
    return () if table is None else tuple(
        lot_id for lot_id, use, disp in zip(table.lot_ids, table.lot_column("use"),
                                            table.lot_column("disposition"))
        if disp is None and use in PATIENT_USES)


def assumed_released(lots_file: str) -> str:
    """The note on lots counted as released, naming the lot data's file."""
    return f"{lots_file} gives no disposition: patient lots assumed released"


class LotSet:
    """The results of a few lots for one test, in file order: every different result of a lot."""

    def __init__(self, results: tuple[LotResult, ...]):
        self.results = results

    @property
    def lot_ids(self) -> tuple[str, ...]:
        """The lots, each once, in order of their first result."""
        return tuple(dict.fromkeys(r.lot_id for r in self.results))

    @property
    def several(self) -> dict[str, list[LotResult]]:
        """Lots with more than one (different) result, each with its results in file order."""
        by_lot: dict[str, list[LotResult]] = {}
        for r in self.results:
            by_lot.setdefault(r.lot_id, []).append(r)
        return {lot: rs for lot, rs in by_lot.items() if len(rs) > 1}

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
        return max(cands) if cands else None

    def summary(self) -> dict[str, Any]:
        """lots, n (results), mean, sd, min, max of the uncensored results; censored and word results
        by lot; lots with several results, with their rows."""
        lot_ids = self.lot_ids
        out: dict[str, Any] = {"lots": list(lot_ids[:MAX_LISTED])}
        if len(lot_ids) > MAX_LISTED:
            out["lots_total"] = len(lot_ids)
        out.update(describe(self.values()))
        censored, words = self.censored, self.words
        if censored:
            out["censored"] = _by_lot(censored)
        if words:
            out["results"] = _by_lot(words)
        several = self.several
        if several:
            out["several_results"] = {lot: [{"value": r.result.describe(), "file": r.file, "line": r.line}
                                            for r in rs] for lot, rs in list(several.items())[:MAX_LISTED]}
        return out


def _by_lot(results: tuple[LotResult, ...]) -> dict[str, str]:
    """{lot: result} for a summary; a lot with several results shows them all ('<0.50; 0.62')."""
    out: dict[str, str] = {}
    for r in results:
        if r.lot_id in out:
            out[r.lot_id] += f"; {r.result.describe()}"
        elif len(out) < MAX_LISTED:
            out[r.lot_id] = r.result.describe()
    return out


def describe(values: list[float]) -> dict[str, Any]:
    """{n, mean, sd, min, max} rounded for reports ({n: 0} without values)."""
    from cmcflex import stats

    if not values:
        return {"n": 0}
    s = stats.describe(values)
    return {"n": s.n, "mean": _r(s.mean), "sd": None if s.sd is None else _r(s.sd),
            "min": _r(s.min), "max": _r(s.max)}


class SpecLots:
    """A specification test with its pivotal lots' results and a summary of its released lots."""

    def __init__(self, views: DossierViews, ref: SpecRef, pivotal_ids: frozenset[str], named: bool,
                 clinical_ids: frozenset[str] | None = None):
        self._views = views
        self.ref = ref
        self.pivotal_ids = pivotal_ids
        self.pivotal_named = named  # True when justification.lots chose the lots
        self.clinical_ids = pivotal_ids if clinical_ids is None else clinical_ids

    @property
    def _key(self) -> tuple[str, str]:
        return self.ref.spec.material, self.ref.test.attribute

    def _rows(self, lot_idx: frozenset[int]) -> list[int]:
        """The rows that are results of the given lots, by the test's method where a lot has
        rows by it; identical rows of one lot once (see :meth:`LotTable.distinct_rows`)."""
        table = self._views.dossier.lots
        if table is None:
            return []
        return table.distinct_rows(*self._key, lot_idx, self.ref.test.method)

    @cached_property
    def pivotal(self) -> LotSet:
        """Pivotal lots: the named ones as given, else the released pivotal-phase lots."""
        table = self._views.dossier.lots
        if table is None or not table.has_results(*self._key):
            return LotSet(())
        rows = self._rows(self._views.lot_indices(self.pivotal_ids))
        return LotSet(tuple(table.result_at(*self._key, k) for k in rows))

    @cached_property
    def clinical(self) -> LotSet:
        """The released pivotal-phase lots (clinical experience), whichever lots justification.lots names."""
        if not self.pivotal_named:
            return self.pivotal
        table = self._views.dossier.lots
        if table is None or not table.has_results(*self._key):
            return LotSet(())
        rows = self._rows(self._views.lot_indices(self.clinical_ids))
        return LotSet(tuple(table.result_at(*self._key, k) for k in rows))

    @cached_property
    def released(self) -> dict[str, Any]:
        """Summary of every released lot of the material: result counts, n, mean, sd, min, max; every
        different result of a lot counts (``results`` and ``lots_with_several_results`` say how many)."""
        table = self._views.dossier.lots
        if table is None or not table.has_results(*self._key):
            return {"lots_with_result": 0, "n": 0}
        rows = self._rows(self._views.lot_indices(self._views.released_ids))
        digest = table.rows_digest(*self._key, rows)
        lots = len(digest.per_lot)
        out: dict[str, Any] = {"lots_with_result": lots}
        if len(rows) > lots:
            out["results"] = len(rows)
            out["lots_with_several_results"] = sum(1 for c in digest.per_lot.values() if c > 1)
        out.update(describe(digest.values))
        if digest.censored:
            out["censored"] = digest.censored
        if digest.words:
            out["words"] = digest.words
        return out


def build_lots_by_test(views: DossierViews) -> dict[tuple[str, str], SpecLots]:
    """(material, attribute) → its lots, for every specification test (read through
    ``ctx.views.lots_by_test``)."""
    d = views.dossier
    out: dict[tuple[str, str], SpecLots] = {}
    if d.lots is not None:
        released = views.released_ids
        pivotal_all = frozenset(i for i in d.pivotal_lot_ids() if i in released)
        for key, ref in views.spec_index.items():
            named = ref.test.justification.lots if ref.test.justification else None
            out[key] = SpecLots(views, ref, frozenset(named) if named else pivotal_all, bool(named), pivotal_all)
    return out


def _r(x: float) -> float:
    """Round for reports: 6 significant figures."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.6g}")


fmt = number  # the shared number format (cmcflex.formatting)
