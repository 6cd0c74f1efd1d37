"""Statistics for lot data: tolerance factors, capability, comparability, small-n facts.

Formulas follow ``/work/shared/statistics-reference.md`` (section numbers below refer to it).
All functions are pure (no I/O, no global state except memoisation caches and the lazily read
table below) and raise ``ValueError`` for invalid arguments.

Dependencies: none beyond the standard library.  The normal, chi-square, Student t and
noncentral t distributions are implemented here in pure Python (``math.erf``/``erfc``,
regularized incomplete gamma and beta functions by series and Lentz continued fractions, the
noncentral t by the Poisson-mixture series summed outward from its mode (Benton & Krishnamoorthy
2003), quantiles by Brent's method), checked against SciPy to 1e-9 or better in the tests.
Exact tolerance factors for sides {1, 2} x coverage {0.90, 0.95, 0.99} x confidence
{0.90, 0.95, 0.99} x n = 2..1000 (ν = n − 1) are read from ``cmcflex/data/tolerance_factors.csv``
(10 significant digits, written by ``tools/make_tolerance_table.py``); other exact factors are
computed here (the two-sided integral by 200-point Gauss-Legendre quadrature) and memoised.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from itertools import repeat
from typing import NamedTuple

__all__ = [
    "ONE_SIDED_METHODS",
    "TWO_SIDED_METHODS",
    "Summary",
    "TostResult",
    "chi2_cdf",
    "chi2_ppf",
    "describe",
    "fraction_within",
    "identify_tolerance_factor",
    "mean_k_sd_expected_coverage",
    "minmax_coverage_confidence",
    "minmax_expected_coverage",
    "nct_cdf",
    "nct_ppf",
    "norm_cdf",
    "norm_ppf",
    "pp",
    "ppk",
    "prediction_factor",
    "prediction_interval",
    "quality_range",
    "success_run_lots",
    "t_cdf",
    "t_ppf",
    "tolerance_factor",
    "tolerance_interval",
    "tolerance_interval_from_summary",
    "tost",
]

TWO_SIDED_METHODS: tuple[str, ...] = ("exact", "howe", "guenther")
ONE_SIDED_METHODS: tuple[str, ...] = ("exact", "natrella")
IDENTIFY_TOLERANCE: float = 0.0006
_GL_POINTS = 200  # Gauss-Legendre nodes on u in [0, 10]; 100 already agree to 1e-11.
_U_MAX = 10.0


# --------------------------------------------------------------------------- validation


def _check_prob(name: str, value: float) -> float:
    """Validate a probability strictly inside (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    v = float(value)
    if not (0.0 < v < 1.0):
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return v


def _check_int(name: str, value: int, minimum: int) -> int:
    """Validate an integer >= minimum (bools and floats are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def _check_df(df: float) -> float:
    """Validate degrees of freedom (> 0, finite)."""
    if isinstance(df, bool) or not isinstance(df, numbers.Real):
        raise ValueError(f"df must be a positive number, got {df!r}")
    v = float(df)
    if not (v > 0.0 and math.isfinite(v)):
        raise ValueError(f"df must be positive and finite, got {df!r}")
    return v


def _check_finite(name: str, value: float) -> float:
    """Validate a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _as_floats(values: Iterable[float], name: str = "values") -> list[float]:
    """Convert to a list of finite floats; raise ValueError on non-numeric or non-finite.

    Plain ``float``/``int`` inputs take a fast path with no per-value Python-level loop.
    """
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a sequence of numbers")
    try:
        items = list(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of numbers") from None
    kinds = set(map(type, items))
    if kinds <= _PLAIN_NUMBERS:
        xs = items if kinds <= {float} else list(map(float, items))
        if all(map(math.isfinite, xs)):
            return xs
    return [_check_finite(name, x) for x in items]


_PLAIN_NUMBERS = frozenset({float, int})


_TWO_PASS_MAX_N = 4096  # up to here the SD is always the exact two-pass fsum


def _mean_sd(xs: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample SD (n - 1 denominator; None if n < 2), both via fsum.

    Small samples use the two-pass sum of squared deviations. Large samples use one pass,
    Σx² − n·x̄² with exactly rounded sums, when that cancels less than three digits (relative
    error < 1e-12); otherwise they fall back to two passes.
    """
    n = len(xs)
    if n == 0:
        raise ValueError("at least one value is required")
    mean = math.fsum(xs) / n
    if n < 2:
        return mean, None
    if n > _TWO_PASS_MAX_N:
        s2 = math.fsum(map(operator.mul, xs, xs))
        ss = s2 - n * mean * mean
        if ss > 1e-3 * s2:
            return mean, math.sqrt(ss / (n - 1))
    ss = math.fsum(map(pow, map(operator.sub, xs, repeat(mean)), repeat(2)))
    return mean, math.sqrt(ss / (n - 1))


# --------------------------------------------------------------------------- special functions

_EPS = 2.220446049250313e-16
_TINY = 1e-300
_MAX_ITER = 100_000
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT2 = math.sqrt(2.0)

# Acklam's rational approximation of Φ⁻¹ (relative error < 1.15e-9 before refinement).
_ACKLAM_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
             1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_ACKLAM_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
             6.680131188771972e01, -1.328068155288572e01)
_ACKLAM_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
             -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_ACKLAM_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
             3.754408661907416e00)
_ACKLAM_LOW = 0.02425


def _log_norm_cdf(x: float) -> float:
    """log Φ(x), accurate in the lower tail."""
    return math.log(0.5 * math.erfc(-x / _SQRT2))


def _norm_ppf_lower(p: float) -> float:
    """Φ⁻¹(p) for 0 < p ≤ 0.5: Acklam's approximation refined by Newton steps."""
    if p < _ACKLAM_LOW:
        c, d = _ACKLAM_C, _ACKLAM_D
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        )
        log_p = math.log(p)
        for _ in range(2):  # Newton on log Φ(x) = log p; Mills ratio via logs (no overflow)
            log_cdf = _log_norm_cdf(x)
            log_pdf = -0.5 * x * x - _LOG_SQRT_2PI
            x -= (log_cdf - log_p) * math.exp(log_cdf - log_pdf)
        return x
    a, b = _ACKLAM_A, _ACKLAM_B
    q = p - 0.5
    r = q * q
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (
        ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0
    )
    for _ in range(2):  # Newton on Φ(x) − 1/2 = p − 1/2 via erf: keeps relative accuracy near 0
        e = 0.5 * math.erf(x / _SQRT2) - q
        x -= e * _SQRT_2PI * math.exp(0.5 * x * x)
    return x


def _stirlerr(a: float) -> float:
    """log Γ(a) − ((a − ½)·log a − a + ½·log 2π), the Stirling series remainder."""
    if a < 16.0:
        return math.lgamma(a) - ((a - 0.5) * math.log(a) - a + _LOG_SQRT_2PI)
    r = 1.0 / (a * a)
    return (1.0 / 12 - r * (1.0 / 360 - r * (1.0 / 1260 - r * (1.0 / 1680 - r / 1188)))) / a


def _log1pmx(d: float) -> float:
    """log(1 + d) − d without cancellation for small d."""
    if abs(d) >= 0.5:
        return math.log1p(d) - d
    u = d / (2.0 + d)  # log(1 + d) = 2·atanh(u)
    u2 = u * u
    term, total, k = u * u2, 0.0, 3
    while True:
        add = term / k
        total += add
        if abs(add) <= _EPS * abs(total):
            break
        term *= u2
        k += 2
    return 2.0 * total - d * d / (2.0 + d)


def _log_gamma_prefactor(a: float, x: float) -> float:
    """log(xᵃ·e⁻ˣ / Γ(a)), computed without cancellation for large a."""
    if a < 10.0:
        return a * math.log(x) - x - math.lgamma(a)
    d = (x - a) / a
    core = _log1pmx(d) if abs(d) < 0.5 else (math.log(x) - math.log(a)) - d
    return a * core + 0.5 * math.log(a / (2.0 * math.pi)) - _stirlerr(a)


def _gammainc_log(a: float, x: float) -> tuple[float, float]:
    """(log P(a, x), log Q(a, x)) of the regularized incomplete gamma function.

    Series for x < a + 1, modified Lentz continued fraction otherwise; the directly computed
    side keeps full relative accuracy deep in its tail.
    """
    if x <= 0.0:
        return -math.inf, 0.0
    if math.isinf(x):
        return 0.0, -math.inf
    log_pre = _log_gamma_prefactor(a, x)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER):
            ap += 1.0
            term *= x / ap
            total += term
            if term <= total * _EPS * 0.5:
                break
        else:  # pragma: no cover
            raise RuntimeError("incomplete gamma series did not converge")
        log_p = log_pre + math.log(total)
        return log_p, _log1mexp(log_p)
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) <= _EPS:
            break
    else:  # pragma: no cover
        raise RuntimeError("incomplete gamma continued fraction did not converge")
    log_q = log_pre + math.log(h)
    return _log1mexp(log_q), log_q


def _log1mexp(log_v: float) -> float:
    """log(1 − e^log_v) for log_v ≤ 0."""
    if log_v > -0.6931471805599453:
        return math.log(-math.expm1(log_v))
    return math.log1p(-math.exp(log_v))


def _lgamma_ratio(a: float, b: float) -> float:
    """log Γ(a + b) − log Γ(a) for a ≥ 10, without cancellation."""
    return (a - 0.5) * math.log1p(b / a) + b * math.log(a + b) - b + _stirlerr(a + b) - _stirlerr(a)


def _lbeta(a: float, b: float) -> float:
    """log B(a, b), accurate when one or both arguments are large."""
    if a < b:
        a, b = b, a
    if b >= 10.0:
        return (
            _LOG_SQRT_2PI
            - (a - 0.5) * math.log1p(b / a)
            - (b - 0.5) * math.log1p(a / b)
            - 0.5 * math.log(a + b)
            + _stirlerr(a)
            + _stirlerr(b)
            - _stirlerr(a + b)
        )
    if a >= 10.0:
        return math.lgamma(b) - _lgamma_ratio(a, b)
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _betacf_log(a: float, b: float, x: float, y: float) -> float:
    """log I_x(a, b) by the Lentz continued fraction (converges fast for x < (a+1)/(a+b+2))."""
    log_x = math.log(x) if x < 0.5 else math.log1p(-y)
    log_y = math.log(y) if y < 0.5 else math.log1p(-x)
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (_TINY if abs(d) < _TINY else d)
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (_TINY if abs(d) < _TINY else d)
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (_TINY if abs(d) < _TINY else d)
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        delta = d * c
        h *= delta
        if abs(delta - 1.0) <= _EPS:
            break
    else:  # pragma: no cover
        raise RuntimeError("incomplete beta continued fraction did not converge")
    return a * log_x + b * log_y - _lbeta(a, b) + math.log(h) - math.log(a)


def _betainc_log(a: float, b: float, x: float, y: float) -> tuple[float, float]:
    """(log I_x(a, b), log(1 − I_x(a, b))) with y = 1 − x given separately (no cancellation)."""
    if x <= 0.0:
        return -math.inf, 0.0
    if y <= 0.0:
        return 0.0, -math.inf
    if x < (a + 1.0) / (a + b + 2.0):
        log_i = _betacf_log(a, b, x, y)
        return log_i, _log1mexp(log_i)
    log_j = _betacf_log(b, a, y, x)
    return _log1mexp(log_j), log_j


def _t_log_tails(x: float, df: float) -> tuple[float, float]:
    """(log 2·P(T > |x|), log P(|T| < |x|)) for Student t with df degrees of freedom."""
    a, ax = 0.5 * df, abs(x)
    if ax > 1e145:  # z = df/x² < 1e-290·df: I_z(a, ½) = zᵃ/(a·B(a, ½))·(1 + O(z)), no overflow
        log_tail = a * (math.log(df) - 2.0 * math.log(ax)) - math.log(a) - _lbeta(a, 0.5)
        return log_tail, _log1mexp(log_tail)
    x2 = ax * ax
    return _betainc_log(a, 0.5, df / (df + x2), x2 / (df + x2))


def _solve_log(g: Callable[[float], float], v0: float, step: float = 0.5) -> float:
    """x = e^v at the root of an increasing function g(v), bracketed outward from v0, by Brent.

    Returns 0.0 or inf when the root lies beyond the range of doubles.
    """
    v0 = min(max(v0, -744.0), 709.0)
    lo, hi = v0 - step, v0 + step
    s = step
    while g(lo) > 0.0:
        if lo <= -745.0:
            return 0.0
        hi, lo, s = lo, max(lo - s, -745.0), 2.0 * s
    s = step
    while g(hi) < 0.0:
        if hi >= 709.78:
            return math.inf
        lo, hi, s = hi, min(hi + s, 709.78), 2.0 * s
    return math.exp(_brent(g, lo, hi, xtol=1e-15))


# --------------------------------------------------------------------------- distributions


def norm_cdf(x: float) -> float:
    """Standard normal CDF Φ(x)."""
    return 0.5 * math.erfc(-_check_finite("x", x) / _SQRT2)


def norm_ppf(q: float) -> float:
    """Standard normal quantile Φ⁻¹(q) (pure Python, ~1e-15 relative)."""
    q = _check_prob("q", q)
    if q == 0.5:
        return 0.0
    return _norm_ppf_lower(q) if q < 0.5 else -_norm_ppf_lower(1.0 - q)


def chi2_cdf(x: float, df: float) -> float:
    """Chi-square CDF P(χ²_df ≤ x)."""
    x = _check_finite("x", x)
    df = _check_df(df)
    return 0.0 if x <= 0 else math.exp(_gammainc_log(0.5 * df, 0.5 * x)[0])


def chi2_ppf(q: float, df: float) -> float:
    """Chi-square lower-tail q-quantile χ²_{q;df} (pure Python, ~1e-13 relative)."""
    q = _check_prob("q", q)
    df = _check_df(df)
    a = 0.5 * df
    if q <= 0.5:
        target = math.log(q)

        def g(v: float) -> float:
            return _gammainc_log(a, math.exp(v))[0] - target

    else:
        target = math.log1p(-q)  # 1 − q is exact for q > 0.5

        def g(v: float) -> float:
            return target - _gammainc_log(a, math.exp(v))[1]

    h = 2.0 / (9.0 * df)  # Wilson–Hilferty start, or the small-x power law P ≈ yᵃ/Γ(a + 1)
    wh = 1.0 - h + (norm_ppf(q) * math.sqrt(h))
    v_small = (math.log(q) + math.lgamma(a + 1.0)) / a if q <= 0.5 else -math.inf
    v0 = max(math.log(0.5 * df * wh**3) if wh > 0 else -math.inf, v_small)
    return 2.0 * _solve_log(g, v0)


def t_cdf(x: float, df: float) -> float:
    """Student t CDF (pure Python, ~1e-14 relative)."""
    df = _check_df(df)
    x = _check_finite("x", x)
    if x == 0.0:
        return 0.5
    tail = 0.5 * math.exp(_t_log_tails(x, df)[0])
    return tail if x < 0 else 1.0 - tail


def t_ppf(q: float, df: float) -> float:
    """Student t q-quantile t_{q;df} (pure Python, ~1e-13 relative)."""
    df = _check_df(df)
    q = _check_prob("q", q)
    if q == 0.5:
        return 0.0
    p = q if q < 0.5 else 1.0 - q  # exact
    if p < 0.25:
        target = math.log(2.0 * p)

        def g(v: float) -> float:
            return target - _t_log_tails(math.exp(v), df)[0]

    else:
        target = math.log1p(-2.0 * p)  # 1 − 2p is exact for p ≥ 1/4

        def g(v: float) -> float:
            return _t_log_tails(math.exp(v), df)[1] - target

    # |t| ≥ |z| and ≥ the power-law tail solution 2p ≈ (df/t²)^a / (a·B(a, ½)); both are lower bounds.
    a = 0.5 * df
    v_tail = 0.5 * (math.log(df) - (math.log(2.0 * p) + math.log(a) + _lbeta(a, 0.5)) / a)
    v0 = max(math.log(-_norm_ppf_lower(p)), v_tail)
    t = _solve_log(g, v0)
    return -t if q < 0.5 else t


def _poisson_weight(m: float, lam: float) -> float:
    """e^(−λ)·λᵐ/Γ(m + 1) for real m ≥ 0, by Loader's saddle-point form (no cancellation at large λ)."""
    if m == 0.0:
        return math.exp(-lam)
    if lam == 0.0:
        return 0.0
    d = (lam - m) / m
    bd0 = -m * _log1pmx(d) if abs(d) < 0.5 else m * math.log(m / lam) + lam - m
    return math.exp(-_stirlerr(m) - bd0) / math.sqrt(2.0 * math.pi * m)


def _nct_cdf_nonneg(t: float, df: float, delta: float) -> float:
    """P(T ≤ t) for t ≥ 0: Φ(−δ) + ½·Σⱼ [pⱼ·I_x(j + ½, ν/2) + qⱼ·I_x(j + 1, ν/2)], x = t²/(ν + t²).

    pⱼ = e^(−λ)·λʲ/j! and qⱼ = e^(−λ)·λʲ·δ/(√2·Γ(j + 3/2)), λ = δ²/2 (Lenth 1989, AS 243).
    The series is summed outward from j = ⌊λ⌋, where the Poisson weights peak, with the
    incomplete beta values carried by their two-term recurrence (Benton & Krishnamoorthy 2003),
    so a large δ neither underflows e^(−λ) nor needs thousands of continued fractions.
    Absolute accuracy about 1e-15.
    """
    base = 0.5 * math.erfc(delta / _SQRT2)  # Φ(−δ)
    if t == 0.0:
        return base
    t2 = t * t
    x, y = t2 / (df + t2), df / (df + t2)
    if x == 0.0:
        return base
    b = 0.5 * df
    lam = 0.5 * delta * delta
    k = int(lam)
    log_x = math.log(x) if x < 0.5 else math.log1p(-y)
    log_y = math.log(y) if y < 0.5 else math.log1p(-x)
    pk = _poisson_weight(k, lam)
    qk = math.copysign(_poisson_weight(k + 0.5, lam), delta) if delta else 0.0  # δ/√2 = ±√λ

    def start(a: float) -> tuple[float, float]:
        """I_x(a, b) and g(a) = x^a·y^b / (a·B(a, b)) (so I_x(a + 1, b) = I_x(a, b) − g(a))."""
        i = math.exp(_betainc_log(a, b, x, y)[0])
        g = math.exp(a * log_x + b * log_y - math.log(a) - _lbeta(a, b))
        return i, g

    ip0, gp0 = start(k + 0.5)
    iq0, gq0 = start(k + 1.0)
    total = pk * ip0 + qk * iq0
    scale = abs(pk) + abs(qk)
    # forward: j = k + 1, k + 2, ...
    p, q, ip, iq, gp, gq = pk, qk, ip0, iq0, gp0, gq0
    j = k
    while True:
        ap, aq = j + 0.5, j + 1.0
        ip -= gp
        iq -= gq
        gp *= x * (ap + b) / (ap + 1.0)
        gq *= x * (aq + b) / (aq + 1.0)
        j += 1
        p *= lam / j
        q *= lam / (j + 0.5)
        term = p * max(ip, 0.0) + q * max(iq, 0.0)
        total += term
        bound = (abs(p) + abs(q)) * (lam / (j + 1.0 - lam) if j + 1.0 > 2.0 * lam else 1.0)
        if j > lam + 1.0 and bound * max(ip, 0.0) <= 1e-17 * scale and abs(term) <= 1e-17 * scale:
            break
        if j - k > _MAX_ITER:  # pragma: no cover
            raise RuntimeError("noncentral t series did not converge")
    # backward: j = k − 1, ..., 0
    p, q, ip, iq, gp, gq = pk, qk, ip0, iq0, gp0, gq0
    j = k
    while j > 0:
        p *= j / lam
        q *= (j + 0.5) / lam
        j -= 1
        ap, aq = j + 0.5, j + 1.0
        gp *= (ap + 1.0) / (x * (ap + b))
        gq *= (aq + 1.0) / (x * (aq + b))
        ip = min(ip + gp, 1.0)
        iq = min(iq + gq, 1.0)
        term = p * ip + q * iq
        total += term
        if abs(p) + abs(q) <= 1e-17 * scale * (1.0 - j / lam if j < lam else 1.0):
            break
    return min(max(base + 0.5 * total, 0.0), 1.0)


def nct_cdf(x: float, df: float, nc: float) -> float:
    """Noncentral t CDF with df degrees of freedom and noncentrality nc (absolute error ~1e-15)."""
    df = _check_df(df)
    nc = _check_finite("nc", nc)
    x = _check_finite("x", x)
    if x >= 0.0:
        return _nct_cdf_nonneg(x, df, nc)
    return _nct_cdf_neg(x, df, nc)


def _nct_cdf_neg(x: float, df: float, nc: float) -> float:
    """P(T ≤ x) for x < 0 as 1 − P(−T ≤ −x), at most P(T ≤ 0) = Φ(−δ) (keeps the CDF monotone
    where the complement is within rounding of 1)."""
    return min(1.0 - _nct_cdf_nonneg(-x, df, -nc), 0.5 * math.erfc(nc / _SQRT2))


def nct_ppf(q: float, df: float, nc: float) -> float:
    """Noncentral t q-quantile t′_{q;df,nc}, by Brent's method on :func:`nct_cdf`."""
    df = _check_df(df)
    nc = _check_finite("nc", nc)
    q = _check_prob("q", q)

    def g(t: float) -> float:
        return (_nct_cdf_nonneg(t, df, nc) if t >= 0.0 else _nct_cdf_neg(t, df, nc)) - q

    z = norm_ppf(q)  # start: the normal approximation of T (Johnson & Kotz), then bracket outward
    x0 = nc + z * math.sqrt(1.0 + 0.5 * nc * nc / df)
    step = max(1.0, 0.1 * abs(x0))
    lo, hi = x0 - step, x0 + step
    while g(lo) > 0.0:
        lo, step = lo - step, 2.0 * step
        if lo < -1e300:  # pragma: no cover - beyond doubles
            return -math.inf
    step = max(1.0, 0.1 * abs(x0))
    while g(hi) < 0.0:
        hi, step = hi + step, 2.0 * step
        if hi > 1e300:  # pragma: no cover - beyond doubles
            return math.inf
    return _brent(g, lo, hi, xtol=1e-15 * max(1.0, abs(x0)))


# --------------------------------------------------------------------------- root finding


def _brent(
    f: Callable[[float], float], a: float, b: float, xtol: float = 1e-12, maxiter: int = 200
) -> float:
    """Brent's method for a root of f bracketed by [a, b]."""
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError("root is not bracketed")
    c, fc = a, fa
    d = e = b - a
    for _ in range(maxiter):
        if (fb > 0) == (fc > 0):
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = 2.0 * 2.2e-16 * abs(b) + 0.5 * xtol
        m = 0.5 * (c - b)
        if abs(m) <= tol or fb == 0.0:
            return b
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:
                p, q = 2.0 * m * s, 1.0 - s
            else:
                q, r = fa / fc, fb / fc
                p = s * (2.0 * m * q * (q - r) - (b - a) * (r - 1.0))
                q = (q - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if 2.0 * p < min(3.0 * m * q - abs(tol * q), abs(e * q)):
                e, d = d, p / q
            else:
                d = e = m
        else:
            d = e = m
        a, fa = b, fb
        b += d if abs(d) > tol else (tol if m > 0 else -tol)
        fb = f(b)
    raise RuntimeError("Brent root finding did not converge")  # pragma: no cover


# --------------------------------------------------------------------------- tolerance factors


def _legendre_nodes(m: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Gauss-Legendre nodes and weights on [−1, 1]: Newton on Pₘ from the Chebyshev-like start."""
    nodes: list[float] = [0.0] * m
    weights: list[float] = [0.0] * m
    for i in range((m + 1) // 2):
        x = math.cos(math.pi * (i + 0.75) / (m + 0.5))
        for _ in range(100):
            p0, p1 = 1.0, x
            for j in range(2, m + 1):
                p0, p1 = p1, ((2 * j - 1) * x * p1 - (j - 1) * p0) / j
            dp = m * (x * p1 - p0) / (x * x - 1.0)
            dx = p1 / dp
            x -= dx
            if abs(dx) <= 1e-16:
                break
        p0, p1 = 1.0, x  # weight from the converged node
        for j in range(2, m + 1):
            p0, p1 = p1, ((2 * j - 1) * x * p1 - (j - 1) * p0) / j
        dp = m * (x * p1 - p0) / (x * x - 1.0)
        w = 2.0 / ((1.0 - x * x) * dp * dp)
        nodes[i], nodes[m - 1 - i] = -x, x
        weights[i] = weights[m - 1 - i] = w
    return tuple(nodes), tuple(weights)


@lru_cache(maxsize=1)
def _gauss_legendre() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Nodes u and weights·2φ(u) for ∫₀^U_MAX g(u)·2φ(u) du (half-normal weight)."""
    x, w = _legendre_nodes(_GL_POINTS)
    u = tuple(0.5 * _U_MAX * (xi + 1.0) for xi in x)
    c = 0.5 * _U_MAX * math.sqrt(2.0 / math.pi)
    wt = tuple(c * wi * math.exp(-0.5 * ui * ui) for ui, wi in zip(u, w))
    return u, wt


def _solve_r(z: float, coverage: float, z_p: float, z_h: float) -> float:
    """r(z; P) with Φ(z+r) − Φ(z−r) = P, by safeguarded Newton (§1.2.3).

    Bracket: max(z_{(1+P)/2}, z + z_P) ≤ r ≤ z + z_{(1+P)/2}. Tail form keeps precision at P→1.
    """
    tail = 1.0 - coverage
    lo = max(z_h, z + z_p)
    hi = z + z_h
    r = lo
    inv_sqrt_2pi = 1.0 / _SQRT_2PI
    for _ in range(100):
        g = 0.5 * math.erfc((z + r) / _SQRT2) + 0.5 * math.erfc((r - z) / _SQRT2) - tail  # decreasing
        if g > 0:
            lo = r
        else:
            hi = r
        dens = inv_sqrt_2pi * (math.exp(-0.5 * (z + r) ** 2) + math.exp(-0.5 * (z - r) ** 2))
        new = r + g / dens if dens > 0.0 else math.nan
        if not (lo < new < hi):
            new = 0.5 * (lo + hi)
        done = abs(new - r) <= 1e-14 * max(1.0, r)
        r = new
        if done:
            break
    return r


def _exact_two_sided(n: int, coverage: float, confidence: float, nu: float) -> float:
    """Exact two-sided k2: root of the Odeh / Krishnamoorthy-Mathew integral (§1.2.3)."""
    u, wt = _gauss_legendre()
    z_p = norm_ppf(coverage)
    z_h = norm_ppf(0.5 * (1.0 + coverage))
    root_n = math.sqrt(n)
    nu_r2 = [nu * _solve_r(ui / root_n, coverage, z_p, z_h) ** 2 for ui in u]
    a = 0.5 * nu

    def g(k: float) -> float:
        inv = 0.5 / (k * k)  # P(χ²_ν > c) = Q(ν/2, c/2)
        return math.fsum(w * math.exp(_gammainc_log(a, c * inv)[1]) for w, c in zip(wt, nu_r2)) - confidence

    k0 = _howe(n, coverage, confidence, nu)
    lo, hi = 0.5 * k0, 2.0 * k0
    for _ in range(60):
        if g(lo) < 0:
            break
        lo *= 0.5
    else:  # pragma: no cover
        raise ValueError("could not bracket the exact tolerance factor")
    for _ in range(60):
        if g(hi) > 0:
            break
        hi *= 2.0
    else:
        raise ValueError("confidence too close to 1 for the exact tolerance factor")
    return _brent(g, lo, hi, xtol=1e-12 * k0)


def _howe(n: int, coverage: float, confidence: float, nu: float) -> float:
    """Howe (1969) two-sided k2 (§1.2.1)."""
    z = norm_ppf(0.5 * (1.0 + coverage))
    chi = chi2_ppf(1.0 - confidence, nu)
    return z * math.sqrt(nu * (1.0 + 1.0 / n) / chi)


def _guenther(n: int, coverage: float, confidence: float, nu: float) -> float:
    """Howe with Guenther's (1977) correction (§1.2.2); ν − 2 = n − 3 for a single sample."""
    chi = chi2_ppf(1.0 - confidence, nu)
    w2 = 1.0 + (nu - 2.0 - chi) / (2.0 * (n + 1.0) ** 2)
    if w2 <= 0:  # pragma: no cover - needs extreme inputs
        raise ValueError("Guenther correction undefined for these arguments")
    return _howe(n, coverage, confidence, nu) * math.sqrt(w2)


def _exact_one_sided(n: int, coverage: float, confidence: float, nu: float) -> float:
    """One-sided k1 = t′_{γ;ν,δ}/√n with δ = z_P·√n (§1.3)."""
    delta = norm_ppf(coverage) * math.sqrt(n)
    return nct_ppf(confidence, nu, delta) / math.sqrt(n)


def _natrella(n: int, coverage: float, confidence: float, nu: float) -> float:
    """Natrella (1963) one-sided approximation used by NIST (§1.3)."""
    z_p, z_g = norm_ppf(coverage), norm_ppf(confidence)
    a = 1.0 - z_g**2 / (2.0 * nu)
    b = z_p**2 - z_g**2 / n
    disc = z_p**2 - a * b
    if a <= 0 or disc < 0:
        raise ValueError("Natrella approximation undefined: z_γ² ≥ 2ν (n too small)")
    return (z_p + math.sqrt(disc)) / a


_DISPATCH: dict[tuple[int, str], Callable[[int, float, float, float], float]] = {
    (2, "exact"): _exact_two_sided,
    (2, "howe"): _howe,
    (2, "guenther"): _guenther,
    (1, "exact"): _exact_one_sided,
    (1, "natrella"): _natrella,
}


@lru_cache(maxsize=2048)
def _compute_tolerance_factor(
    n: int, coverage: float, confidence: float, sides: int, method: str, nu: float
) -> float:
    """Memoised dispatcher computing the factor (arguments already validated; no table)."""
    return _DISPATCH[(sides, method)](n, coverage, confidence, nu)


# Keys of the shipped table of exact factors (tools/make_tolerance_table.py writes it).
TABLE_SIDES: tuple[int, ...] = (1, 2)
TABLE_LEVELS: tuple[float, ...] = (0.90, 0.95, 0.99)
TABLE_N_RANGE: tuple[int, int] = (2, 1000)
_TABLE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tolerance_factors.csv")


@lru_cache(maxsize=1)
def _table_rows() -> dict[tuple[int, float, float], str]:
    """Unparsed k values of the exact-factor table by (sides, coverage, confidence); {} if absent."""
    try:
        with open(_TABLE_PATH, encoding="ascii") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return {}
    lo, hi = TABLE_N_RANGE
    if not lines or lines[0].count(",") != 3 + hi - lo:
        return {}
    rows: dict[tuple[int, float, float], str] = {}
    for line in lines[1:]:
        sides, coverage, confidence, ks = line.split(",", 3)
        rows[(int(sides), float(coverage), float(confidence))] = ks
    return rows


@cache
def _table_column(sides: int, coverage: float, confidence: float) -> tuple[float, ...] | None:
    """Exact factors for n = 2..1000 of one table key, parsed on first use; None if not shipped."""
    raw = _table_rows().get((sides, coverage, confidence))
    if raw is None:
        return None
    ks = tuple(map(float, raw.split(",")))
    return ks if len(ks) == TABLE_N_RANGE[1] - TABLE_N_RANGE[0] + 1 else None


def _table_factor(n: int, coverage: float, confidence: float, sides: int, nu: float) -> float | None:
    """The shipped exact factor for this key (ν = n − 1 only), else None."""
    lo, hi = TABLE_N_RANGE
    if not (lo <= n <= hi and nu == n - 1 and coverage in TABLE_LEVELS and confidence in TABLE_LEVELS):
        return None
    column = _table_column(sides, coverage, confidence)
    return None if column is None else column[n - lo]


def _validate_tol_args(
    n: int, coverage: float, confidence: float, sides: int, df: float | None
) -> tuple[int, float, float, int, float]:
    """Validate shared tolerance-factor arguments; return normalised values and ν."""
    n = _check_int("n", n, 2)
    coverage = _check_prob("coverage", coverage)
    confidence = _check_prob("confidence", confidence)
    if isinstance(sides, bool) or sides not in (1, 2):
        raise ValueError(f"sides must be 1 or 2, got {sides!r}")
    nu = float(n - 1) if df is None else _check_df(df)
    return n, coverage, confidence, int(sides), nu


def tolerance_factor(
    n: int,
    coverage: float,
    confidence: float,
    sides: int = 2,
    method: str = "exact",
    df: float | None = None,
) -> float:
    """Normal tolerance factor k (interval x̄ ± k·s covers ≥ `coverage` with `confidence`).

    sides=2: method 'exact' (integral, §1.2.3), 'howe' (§1.2.1) or 'guenther' (§1.2.2).
    sides=1: method 'exact' (noncentral t, §1.3) or 'natrella' (NIST approximation).
    `df` overrides ν = n − 1 (e.g. pooled variance of m samples, ν = m(n − 1), ISO 16269-6).
    Exact factors for coverage and confidence in {0.90, 0.95, 0.99}, n = 2..1000 and ν = n − 1
    come from the shipped table; others are computed and memoised.
    """
    n, coverage, confidence, sides, nu = _validate_tol_args(n, coverage, confidence, sides, df)
    allowed = TWO_SIDED_METHODS if sides == 2 else ONE_SIDED_METHODS
    if method not in allowed:
        raise ValueError(f"method for sides={sides} must be one of {allowed}, got {method!r}")
    if method == "exact":
        k = _table_factor(n, coverage, confidence, sides, nu)
        if k is not None:
            return k
    return _compute_tolerance_factor(n, coverage, confidence, sides, method, nu)


def identify_tolerance_factor(
    stated_k: float,
    n: int,
    coverage: float,
    confidence: float,
    sides: int = 2,
    df: float | None = None,
    tol: float = IDENTIFY_TOLERANCE,
) -> str | None:
    """Name the method whose factor matches a dossier-stated k within `tol`, else None.

    Two-sided candidates: 'exact', 'howe', 'guenther'; one-sided: 'exact', 'natrella'.
    If several match (large n), the closest wins; ties go to the earlier name.
    """
    stated = _check_finite("stated_k", stated_k)
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError("tol must be a non-negative finite number")
    n, coverage, confidence, sides, _ = _validate_tol_args(n, coverage, confidence, sides, df)
    best: tuple[float, str] | None = None
    for method in TWO_SIDED_METHODS if sides == 2 else ONE_SIDED_METHODS:
        try:
            k = tolerance_factor(n, coverage, confidence, sides, method, df)
        except ValueError:
            continue
        diff = abs(k - stated)
        if diff <= tol and (best is None or diff < best[0]):
            best = (diff, method)
    return None if best is None else best[1]


def tolerance_interval_from_summary(
    mean: float,
    sd: float,
    n: int,
    coverage: float,
    confidence: float,
    sides: int = 2,
    method: str = "exact",
) -> tuple[float, float]:
    """(x̄ − k·s, x̄ + k·s). For sides=1 each end is a separate one-sided bound (§1.1)."""
    mean = _check_finite("mean", mean)
    sd = _check_finite("sd", sd)
    if sd < 0:
        raise ValueError("sd must be >= 0")
    k = tolerance_factor(n, coverage, confidence, sides, method)
    return mean - k * sd, mean + k * sd


def tolerance_interval(
    values: Iterable[float],
    coverage: float,
    confidence: float,
    sides: int = 2,
    method: str = "exact",
    log: bool = False,
) -> tuple[float, float]:
    """Normal tolerance limits from data; log=True computes on ln(x) and exponentiates (§1.1)."""
    xs = _as_floats(values)
    if log:
        if any(x <= 0 for x in xs):
            raise ValueError("log=True requires strictly positive values")
        xs = [math.log(x) for x in xs]
    if len(xs) < 2:
        raise ValueError("at least 2 values are required")
    mean, sd = _mean_sd(xs)
    assert sd is not None
    lo, hi = tolerance_interval_from_summary(mean, sd, len(xs), coverage, confidence, sides, method)
    return (math.exp(lo), math.exp(hi)) if log else (lo, hi)


# --------------------------------------------------------------------------- capability


def _check_limits(lsl: float | None, usl: float | None) -> tuple[float | None, float | None]:
    """Validate specification limits (finite; lsl < usl when both given)."""
    lo = None if lsl is None else _check_finite("lsl", lsl)
    hi = None if usl is None else _check_finite("usl", usl)
    if lo is not None and hi is not None and lo >= hi:
        raise ValueError("lsl must be < usl")
    return lo, hi


def ppk(
    values: Iterable[float], lsl: float | None = None, usl: float | None = None
) -> float | None:
    """Ppk = min((USL − x̄)/3s, (x̄ − LSL)/3s), one-sided with one limit (§1.4).

    Returns None when not estimable (n < 2 or s = 0).
    """
    lo, hi = _check_limits(lsl, usl)
    if lo is None and hi is None:
        raise ValueError("at least one of lsl, usl is required")
    xs = _as_floats(values)
    if len(xs) < 2:
        return None
    mean, sd = _mean_sd(xs)
    if not sd:
        return None
    sides = []
    if hi is not None:
        sides.append((hi - mean) / (3.0 * sd))
    if lo is not None:
        sides.append((mean - lo) / (3.0 * sd))
    return min(sides)


def pp(values: Iterable[float], lsl: float, usl: float) -> float | None:
    """Pp = (USL − LSL)/6s (§1.4); None when n < 2 or s = 0."""
    if lsl is None or usl is None:
        raise ValueError("pp requires both lsl and usl")
    lo, hi = _check_limits(lsl, usl)
    assert lo is not None and hi is not None
    xs = _as_floats(values)
    if len(xs) < 2:
        return None
    _, sd = _mean_sd(xs)
    if not sd:
        return None
    return (hi - lo) / (6.0 * sd)


# --------------------------------------------------------------------------- summaries, ranges


class Summary(NamedTuple):
    """Descriptive statistics; sd is the sample SD (n − 1), None if n < 2."""

    n: int
    mean: float
    sd: float | None
    min: float
    max: float


def describe(values: Iterable[float]) -> Summary:
    """Summary(n, mean, sd, min, max) of at least one finite value."""
    xs = _as_floats(values)
    mean, sd = _mean_sd(xs)
    return Summary(n=len(xs), mean=mean, sd=sd, min=min(xs), max=max(xs))


def quality_range(values: Iterable[float], k: float = 3.0) -> tuple[float, float]:
    """Quality range x̄ ± k·s from reference lots (sample SD, n − 1) (§1.7)."""
    k = _check_finite("k", k)
    if k < 0:
        raise ValueError("k must be >= 0")
    xs = _as_floats(values)
    if len(xs) < 2:
        raise ValueError("at least 2 reference values are required")
    mean, sd = _mean_sd(xs)
    assert sd is not None
    return mean - k * sd, mean + k * sd


def fraction_within(values: Iterable[float], interval: tuple[float, float]) -> float:
    """Fraction of values inside the closed interval [lo, hi]."""
    xs = _as_floats(values)
    if not xs:
        raise ValueError("at least one value is required")
    lo, hi = _check_finite("lower", interval[0]), _check_finite("upper", interval[1])
    return sum(lo <= x <= hi for x in xs) / len(xs)


def prediction_factor(n: int, confidence: float = 0.95) -> float:
    """Two-sided prediction factor t_{1−α/2;n−1}·√(1 + 1/n) for one future lot (§1.6)."""
    n = _check_int("n", n, 2)
    confidence = _check_prob("confidence", confidence)
    return t_ppf(0.5 * (1.0 + confidence), n - 1) * math.sqrt(1.0 + 1.0 / n)


def prediction_interval(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float]:
    """Prediction interval x̄ ± t_{1−α/2;n−1}·√(1 + 1/n)·s for one future lot (§1.6)."""
    xs = _as_floats(values)
    if len(xs) < 2:
        raise ValueError("at least 2 values are required")
    mean, sd = _mean_sd(xs)
    assert sd is not None
    half = prediction_factor(len(xs), confidence) * sd
    return mean - half, mean + half


def minmax_expected_coverage(n: int) -> float:
    """Expected coverage of [min, max] of n lots = P(next lot inside) = (n − 1)/(n + 1) (§1.5)."""
    n = _check_int("n", n, 2)
    return (n - 1) / (n + 1)


def minmax_coverage_confidence(n: int, coverage: float) -> float:
    """Confidence that [min, max] of n lots covers ≥ `coverage`: 1 − nP^(n−1) + (n−1)P^n (§1.5)."""
    n = _check_int("n", n, 2)
    p = _check_prob("coverage", coverage)
    return 1.0 - n * p ** (n - 1) + (n - 1) * p**n


def success_run_lots(coverage: float, confidence: float) -> int:
    """Zero-failure lots needed: ⌈ln(1 − γ)/ln(P)⌉ (§1.5); 0.90/0.95 → 29, 0.99/0.95 → 299."""
    p = _check_prob("coverage", coverage)
    g = _check_prob("confidence", confidence)
    x = math.log1p(-g) / math.log(p)
    return max(1, math.ceil(x - 1e-9))


def mean_k_sd_expected_coverage(n: int, k: float = 3.0) -> float:
    """Expected coverage of x̄ ± k·s from n lots: 2·F_t(k/√(1 + 1/n); n − 1) − 1.

    Equals P(next lot inside); n = 3, k = 3 gives 0.878 (not 0.9973).
    """
    n = _check_int("n", n, 2)
    k = _check_finite("k", k)
    if k < 0:
        raise ValueError("k must be >= 0")
    return 2.0 * t_cdf(k / math.sqrt(1.0 + 1.0 / n), n - 1) - 1.0


# --------------------------------------------------------------------------- TOST


class TostResult(NamedTuple):
    """Two one-sided tests for equivalence of means (§1.8); CI is the (1 − 2α) interval."""

    difference: float
    se: float
    df: float
    t_critical: float
    ci_lower: float
    ci_upper: float
    margin: float
    alpha: float
    pooled: bool
    equivalent: bool


def tost(
    test_values: Iterable[float],
    ref_values: Iterable[float],
    margin: float,
    alpha: float = 0.05,
    pooled: bool = True,
) -> TostResult:
    """TOST of |μ_T − μ_R| < margin: equivalent iff the (1 − 2α) CI of x̄_T − x̄_R lies in (−θ, θ).

    pooled=True: pooled SD, df = n_T + n_R − 2; pooled=False: Welch SE and Welch–Satterthwaite df.
    """
    xt = _as_floats(test_values, "test_values")
    xr = _as_floats(ref_values, "ref_values")
    if len(xt) < 2 or len(xr) < 2:
        raise ValueError("each group needs at least 2 values")
    theta = _check_finite("margin", margin)
    if theta <= 0:
        raise ValueError("margin must be > 0")
    a = _check_prob("alpha", alpha)
    if a >= 0.5:
        raise ValueError("alpha must be < 0.5")
    nt, nr = len(xt), len(xr)
    mt, st = _mean_sd(xt)
    mr, sr = _mean_sd(xr)
    assert st is not None and sr is not None
    diff = mt - mr
    if pooled:
        df = float(nt + nr - 2)
        sp2 = ((nt - 1) * st**2 + (nr - 1) * sr**2) / df
        se = math.sqrt(sp2 * (1.0 / nt + 1.0 / nr))
    else:
        vt, vr = st**2 / nt, sr**2 / nr
        se = math.sqrt(vt + vr)
        denom = vt**2 / (nt - 1) + vr**2 / (nr - 1)
        df = (vt + vr) ** 2 / denom if denom > 0 else float(nt + nr - 2)
    tc = t_ppf(1.0 - a, df)
    lo, hi = diff - tc * se, diff + tc * se
    return TostResult(
        difference=diff,
        se=se,
        df=df,
        t_critical=tc,
        ci_lower=lo,
        ci_upper=hi,
        margin=theta,
        alpha=a,
        pooled=bool(pooled),
        equivalent=(lo > -theta) and (hi < theta),
    )
