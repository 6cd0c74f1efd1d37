"""The statistics behind a limit, recomputed from the lots: the interval a justification states
(tolerance, prediction, mean ± k SD, Ppk, min–max), whether it gives the proposed limits, and the
small-n figures a finding's data carries. :mod:`cmcflex.stats` is imported inside the functions
(SciPy loads on first use)."""

from __future__ import annotations

import math
from typing import Any

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


def _statistical_basis_holds(test: SpecTest, lots: LotSet, criterion: NumericCriterion) -> bool | None:
    """Whether the stated interval, recomputed from the lots, gives the proposed limits (SPEC-007's
    recomputation): None when no interval is stated or it cannot be recomputed."""
    spec = test.justification.interval if test.justification else None
    if spec is None or lots.n < 2 or (spec.log and any(v <= 0 for v in lots.values())):
        return None
    fig = _interval_limits(lots.values(), criterion, test)
    if "computed" not in fig:
        return None
    return not fig.get("disagree") and not any(p.startswith("the stated k") or "log scale" in p
                                               for p in fig["problems"])


def _round(x: float) -> float:
    return float(f"{x:.6g}") if math.isfinite(x) else x


# ---------------------------------------------------------------------------- SPEC-007


def _interval_limits(values: list[float], criterion: NumericCriterion, test: SpecTest) -> dict[str, Any]:
    """Recompute the interval the justification states; returns figures and problems."""
    from cmcflex import stats

    spec = test.justification.interval if test.justification else None
    sides = (spec.sides if spec and spec.sides else (2 if len(criterion.sides) == 2 else 1))
    log = bool(spec and spec.log)
    out: dict[str, Any] = {"sides": sides, "scale": "log" if log else "linear", "problems": []}
    xs = [math.log(v) for v in values] if log else list(values)
    s = stats.describe(xs)
    n = s.n
    out.update(n=n, mean=_round(s.mean), sd=_round(s.sd) if s.sd is not None else None)
    method = spec.method if spec else None
    out["method"] = method
    k: float | None = None
    if method is None:
        out["problems"].append("the justification does not state the interval (method, coverage, "
                               "confidence, k) it was computed with")
        return out
    if method == "min_max":
        lower, upper = s.min, s.max
    else:
        if s.sd is None or s.sd == 0:
            out["problems"].append("the lots' SD is zero, so no interval can be computed")
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
                    out["problems"].append(
                        f"the stated k = {spec.k:g} matches no tolerance factor for n = {n}, "
                        f"{100 * conf:g} % confidence, {100 * cov:g} % coverage, {sides}-sided ("
                        + ", ".join(f"{m} {v:.4f}" for m, v in alts.items()) + ")")
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
            out["problems"].append(f"the {side} limit {limit:g} cannot be put on the log scale")
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
