"""The statistics behind a limit, recomputed from the lots: the interval a justification states
(tolerance, prediction, mean ± k SD, Ppk, min–max), whether it gives the proposed limits, and the
small-n figures a finding's data carries. :mod:`cmcflex.stats` is imported inside the functions
(SciPy loads on first use)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from cmcflex.dossier.criteria import NumericCriterion
from cmcflex.dossier.models import SpecTest
from cmcflex.rules.lotstats import LotSet

REF_COVERAGE, REF_CONFIDENCE = 0.99, 0.95  # reference tolerance limit quoted in findings
AGREE_SD = 0.25  # SPEC-007: a proposed limit within 0.25 SD of the computed one agrees (rounding)


def _small_n(n: int, sides: int) -> dict[str, Any]:
    """How little n lots say, for a finding's data: the 95/99 tolerance factor, the coverage mean ± 3 SD
    gives on average, and how often the next lot falls outside the lots' [min, max]."""
    from cmcflex import stats

    if n < 2:
        return {"n": n}
    return {"n": n,
            "tolerance_k": round(stats.tolerance_factor(n, REF_COVERAGE, REF_CONFIDENCE, sides), 4),
            "tolerance": {"coverage": REF_COVERAGE, "confidence": REF_CONFIDENCE, "sides": sides},
            "mean_pm_3sd_expected_coverage": round(stats.mean_k_sd_expected_coverage(n, 3.0), 4),
            "next_lot_outside_min_max": round(2.0 / (n + 1), 4)}


@dataclass(frozen=True)
class ReferenceLimits:
    """mean ∓ 3 SD and the 95 % confidence / 99 % coverage tolerance limits of a set of lots, on the
    result scale (back-transformed when computed on ln(result))."""

    sides: int
    k: float
    lo3: float
    hi3: float
    lo_k: float
    hi_k: float
    log: bool

    def data(self) -> dict[str, Any]:
        """The figures for a finding's data."""
        data: dict[str, Any] = {"mean_minus_3sd": _round(self.lo3), "mean_plus_3sd": _round(self.hi3),
                                "tolerance": {"coverage": REF_COVERAGE, "confidence": REF_CONFIDENCE,
                                              "sides": self.sides, "k": round(self.k, 4), "method": "exact",
                                              "lower": _round(self.lo_k), "upper": _round(self.hi_k)}}
        if self.log:
            data["scale"] = "log"
        return data


def _reference_limits(lots: LotSet, criterion: NumericCriterion, log: bool = False) -> ReferenceLimits | None:
    """The reference limits of the lots on the criterion's sides; with ``log`` computed on ln(value)
    and back-transformed. None when fewer than two lots, a result <= 0 on the log scale, or no spread."""
    from cmcflex import stats

    n = lots.n
    values = lots.values()
    if n < 2 or (log and any(v <= 0 for v in values)):
        return None
    s = stats.describe([math.log(v) for v in values] if log else values)
    if not s.sd:
        return None
    back = math.exp if log else (lambda v: v)
    sides = 2 if len(criterion.sides) == 2 else 1
    k = stats.tolerance_factor(n, REF_COVERAGE, REF_CONFIDENCE, sides)
    return ReferenceLimits(sides, k, back(s.mean - 3 * s.sd), back(s.mean + 3 * s.sd),
                           back(s.mean - k * s.sd), back(s.mean + k * s.sd), log)


def _statistical_basis_holds(test: SpecTest, lots: LotSet, criterion: NumericCriterion) -> bool | None:
    """Whether the stated interval, recomputed from the lots, gives the proposed limits (SPEC-007's
    recomputation): None when no interval is stated or it cannot be recomputed."""
    spec = test.justification.interval if test.justification else None
    if spec is None or lots.n < 2 or (spec.log and any(v <= 0 for v in lots.values())):
        return None
    fig = _recompute_interval(lots.values(), criterion, test)
    if "computed" not in fig:
        return None
    return not fig.get("disagree") and not any(i.kind in ("k_unmatched", "log_limit") for i in fig["issues"])


def _round(x: float) -> float:
    return float(f"{x:.6g}") if math.isfinite(x) else x


class IntervalIssue(NamedTuple):
    """Why a stated interval is not recomputed as stated: ``no_interval`` (no method stated),
    ``zero_sd``, ``k_unmatched`` (the stated k is no known tolerance factor) or ``log_limit`` (a
    limit that cannot be put on the log scale), with the figures that say so."""

    kind: str
    figures: dict[str, Any]


def _recompute_interval(values: list[float], criterion: NumericCriterion, test: SpecTest) -> dict[str, Any]:
    """Recompute the interval the justification states (SPEC-007); returns its figures and, under
    ``issues``, :class:`IntervalIssue` records."""
    from cmcflex import stats

    spec = test.justification.interval if test.justification else None
    sides = (spec.sides if spec and spec.sides else (2 if len(criterion.sides) == 2 else 1))
    log = bool(spec and spec.log)
    out: dict[str, Any] = {"sides": sides, "scale": "log" if log else "linear", "issues": []}
    xs = [math.log(v) for v in values] if log else list(values)
    s = stats.describe(xs)
    n = s.n
    out.update(n=n, mean=_round(s.mean), sd=_round(s.sd) if s.sd is not None else None)
    method = spec.method if spec else None
    out["method"] = method
    k: float | None = None
    if method is None:
        out["issues"].append(IntervalIssue("no_interval", {}))
        return out
    assert spec is not None  # the method is the stated interval's
    if method == "min_max":
        lower, upper = s.min, s.max
    else:
        if s.sd is None or s.sd == 0:
            out["issues"].append(IntervalIssue("zero_sd", {}))
            return out
        if method == "tolerance_interval":
            cov = spec.coverage or REF_COVERAGE
            conf = spec.confidence or REF_CONFIDENCE
            out.update(coverage=cov, confidence=conf)
            exact = stats.tolerance_factor(n, cov, conf, sides, "exact")
            out["k_exact"] = round(exact, 4)
            if spec.k is not None:
                out["stated_k"] = spec.k
                named = stats.identify_tolerance_factor(spec.k, n, cov, conf, sides)
                out["k_method"] = named
                if named is None:
                    others = ("howe", "guenther") if sides == 2 else ("natrella",)
                    alts = {"exact": exact}
                    for m in others:
                        try:
                            alts[m] = stats.tolerance_factor(n, cov, conf, sides, m)
                        except ValueError:
                            pass
                    out["k_candidates"] = {m: round(v, 4) for m, v in alts.items()}
                    out["issues"].append(IntervalIssue("k_unmatched", {
                        "k": spec.k, "n": n, "confidence": conf, "coverage": cov, "sides": sides,
                        "factors": alts}))
                    k = exact
                else:
                    k = stats.tolerance_factor(n, cov, conf, sides, named)
            else:
                out["k_method"] = "exact"
                k = exact
        elif method == "mean_k_sd":
            k = spec.k or 3.0
        elif method == "prediction_interval":
            conf = spec.confidence or REF_CONFIDENCE
            out["confidence"] = conf
            k = stats.prediction_factor(n, conf) if sides == 2 else \
                stats.t_ppf(conf, n - 1) * math.sqrt(1 + 1 / n)
        elif method == "ppk":
            target = spec.ppk or 1.33
            out["ppk_target"] = target
            k = 3.0 * target
            if criterion.min is not None or criterion.max is not None:
                observed = stats.ppk(xs, _tr(criterion.min, log), _tr(criterion.max, log)) \
                    if _finite_limits(criterion, log) else None
                out["ppk_observed"] = None if observed is None else round(observed, 3)
        assert k is not None
        out["k"] = round(k, 4)
        lower, upper = s.mean - k * s.sd, s.mean + k * s.sd
    back = math.exp if log else (lambda v: v)
    out["computed"] = {"lower": _round(back(lower)), "upper": _round(back(upper))}
    tol = AGREE_SD * (s.sd or 0.0)
    for side, limit, comp in (("lower", criterion.min, lower), ("upper", criterion.max, upper)):
        if limit is None:
            continue
        t = _tr(limit, log)
        if t is None:
            out["issues"].append(IntervalIssue("log_limit", {"side": side, "limit": limit}))
            continue
        diff = t - comp if side == "lower" else comp - t  # > 0: proposed is tighter
        if abs(diff) > tol:
            how = "wider" if diff < 0 else "tighter"
            out.setdefault("disagree", {})[side] = {"proposed": limit, "computed": _round(back(comp)), "is": how}
    return out


def _tr(x: float | None, log: bool) -> float | None:
    if x is None:
        return None
    if log:
        return math.log(x) if x > 0 else None
    return x


def _finite_limits(criterion: NumericCriterion, log: bool) -> bool:
    return all(v is None or not log or v > 0 for v in (criterion.min, criterion.max))
