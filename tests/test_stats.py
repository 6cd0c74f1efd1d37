"""Tests for cmcflex.stats against published tables (see /work/shared/statistics-reference.md)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from cmcflex import stats

# (n, coverage P, confidence γ, published k)
_COLUMNS = [(0.90, 0.95), (0.95, 0.95), (0.99, 0.95), (0.90, 0.99), (0.95, 0.99), (0.99, 0.99)]

# Meeker, Hahn & Escobar (2017), Statistical Intervals 2nd ed., Table J.5b: two-sided exact k2.
_MHE_J5B = {
    5: [4.291, 5.077, 6.598, 6.655, 7.870, 10.220],
    10: [2.856, 3.393, 4.437, 3.617, 4.294, 5.610],
    20: [2.319, 2.760, 3.621, 2.675, 3.184, 4.175],
}

# Montgomery & Runger (2018), Applied Statistics and Probability for Engineers 7th ed.,
# Appendix Table XII: one-sided k1 (noncentral t).
_MR_XII = {
    5: [3.407, 4.203, 5.741, 5.362, 6.578, 8.939],
    10: [2.355, 2.911, 3.981, 3.048, 3.738, 5.074],
    20: [1.926, 2.396, 3.295, 2.276, 2.808, 3.832],
}


def _cases(table: dict[int, list[float]]) -> list[tuple[int, float, float, float]]:
    return [(n, p, g, k) for n, row in table.items() for (p, g), k in zip(_COLUMNS, row)]


def _id(case: tuple[int, float, float, float]) -> str:
    n, p, g, _ = case
    return f"n{n}-P{p}-g{g}"


# Published values are rounded to 3 dp: allow half a unit in the last place (plus float slack).
_HALF_ULP_3DP = 0.0005 + 1e-9


# --------------------------------------------------------------------------- published tables


@pytest.mark.parametrize("case", _cases(_MHE_J5B), ids=_id)
def test_two_sided_exact_matches_meeker_hahn_escobar_2017_table_j5b(case):
    """Exact two-sided k2 equals Meeker, Hahn & Escobar (2017) Table J.5b to 3 dp."""
    n, p, g, published = case
    assert stats.tolerance_factor(n, p, g, sides=2, method="exact") == pytest.approx(
        published, abs=_HALF_ULP_3DP
    )


@pytest.mark.parametrize("case", _cases(_MR_XII), ids=_id)
def test_one_sided_exact_matches_montgomery_runger_2018_table_xii(case):
    """One-sided noncentral-t k1 equals Montgomery & Runger (2018) Table XII to 3 dp."""
    n, p, g, published = case
    assert stats.tolerance_factor(n, p, g, sides=1) == pytest.approx(
        published, abs=_HALF_ULP_3DP
    )


class TestNistEHandbook7263:
    """NIST/SEMATECH e-Handbook §7.2.6.3 worked example: N=43, x̄=97.07, s=0.0268, P=0.90, γ=0.99."""

    def test_nist_7263_chi_square_lower_quantile(self):
        """χ²_{0.01;42} = 23.650095 (NIST-based spreadsheet, reference §1.2.1)."""
        assert stats.chi2_ppf(0.01, 42) == pytest.approx(23.650095, abs=5e-7)

    def test_nist_7263_howe_two_sided_factor(self):
        """Howe k2 = 2.2173159 (NIST e-Handbook 7.2.6.3)."""
        k = stats.tolerance_factor(43, 0.90, 0.99, sides=2, method="howe")
        assert k == pytest.approx(2.2173159, abs=5e-8)

    def test_nist_7263_howe_two_sided_interval(self):
        """Interval [97.010576, 97.12942] (NIST e-Handbook 7.2.6.3)."""
        lo, hi = stats.tolerance_interval_from_summary(97.07, 0.0268, 43, 0.90, 0.99, method="howe")
        assert lo == pytest.approx(97.010576, abs=5e-7)
        assert hi == pytest.approx(97.12942, abs=5e-6)

    def test_nist_7263_one_sided_noncentral_t_factor(self):
        """One-sided exact k1 = 1.8740 (NIST e-Handbook 7.2.6.3)."""
        assert stats.tolerance_factor(43, 0.90, 0.99, sides=1) == pytest.approx(1.8740, abs=5e-5)

    def test_nist_7263_one_sided_natrella_factor(self):
        """Natrella k1 = 1.8751896 (NIST-based spreadsheet intermediates, reference §1.3)."""
        k = stats.tolerance_factor(43, 0.90, 0.99, sides=1, method="natrella")
        assert k == pytest.approx(1.8751896, abs=5e-7)

    def test_nist_7263_small_n_divergence_exact_vs_natrella(self):
        """NIST notes 4.4111 (exact) vs 5.2808 (Natrella) at N=6, P=0.90, γ=0.99 (reference §1.3)."""
        assert stats.tolerance_factor(6, 0.90, 0.99, sides=1) == pytest.approx(4.4111, abs=5e-5)
        assert stats.tolerance_factor(6, 0.90, 0.99, sides=1, method="natrella") == pytest.approx(
            5.2808, abs=5e-5
        )

    def test_natrella_undefined_at_n3_gamma99(self):
        """Natrella is undefined when z_γ² ≥ 2(n − 1), e.g. n=3, γ=0.99 (reference §1.3)."""
        with pytest.raises(ValueError):
            stats.tolerance_factor(3, 0.90, 0.99, sides=1, method="natrella")


@pytest.mark.parametrize(("df", "published"), [(8, 3.6939), (40, 2.7472)])
def test_df_override_reproduces_iso_16269_6_annex_f_pooled_values(df, published):
    """ISO 16269-6 Annex F pooled-variance factors, n=5 with ν=8 (m=2) and ν=40 (m=10).

    Values as quoted in the reference §1.2.3 (which does not state P/γ; P=γ=0.95 is the only
    standard combination reproducing them). Compared to 3 sig figs (ISO's 4th dp differs by 1e-4).
    """
    k = stats.tolerance_factor(5, 0.95, 0.95, df=df)
    assert k == pytest.approx(published, abs=2e-4)


# --------------------------------------------------------------------------- reference text facts


def test_reference_text_n3_two_sided_95_confidence_99_coverage_is_12_65():
    """Reference 'Facts': at n=3 the 95 %/99 % two-sided factor is 12.65 (exact)."""
    assert stats.tolerance_factor(3, 0.99, 0.95) == pytest.approx(12.65, abs=0.005)


def test_reference_text_mean_3sd_from_3_lots_covers_87_8_percent():
    """Reference 'Facts': mean ± 3 SD from 3 lots covers on average 87.8 %."""
    assert stats.mean_k_sd_expected_coverage(3, 3.0) == pytest.approx(0.878, abs=5e-4)


@pytest.mark.parametrize(("n", "expected"), [(2, 1 / 3), (3, 0.5), (10, 9 / 11)])
def test_minmax_expected_coverage_is_n_minus_1_over_n_plus_1(n, expected):
    """Reference §1.5: expected coverage of [min, max] is (n − 1)/(n + 1)."""
    assert stats.minmax_expected_coverage(n) == pytest.approx(expected)


def test_minmax_coverage_confidence_formula():
    """Reference §1.5: 1 − nP^(n−1) + (n−1)P^n; n=29, P=0.90 ≈ 0.80 (two-sided range)."""
    assert stats.minmax_coverage_confidence(2, 0.5) == pytest.approx(1 - 2 * 0.5 + 0.25)
    assert stats.minmax_coverage_confidence(29, 0.90) == pytest.approx(
        1 - 29 * 0.9**28 + 28 * 0.9**29
    )


@pytest.mark.parametrize(
    ("coverage", "confidence", "lots"), [(0.90, 0.95, 29), (0.99, 0.95, 299)]
)
def test_success_run_lots_reference_1_5(coverage, confidence, lots):
    """Reference §1.5: 95 %/90 % → 29 and 95 %/99 % → 299 zero-failure lots."""
    assert stats.success_run_lots(coverage, confidence) == lots


def test_prediction_factor_n10_is_2_3726_ppqplan_vignette():
    """Reference §1.6 (PPQplan vignette): prediction factor for n=10, 95 % is 2.3726."""
    assert stats.prediction_factor(10, 0.95) == pytest.approx(2.3726, abs=5e-5)


def test_prediction_interval_uses_factor():
    values = [float(x) for x in range(1, 11)]
    s = stats.describe(values)
    lo, hi = stats.prediction_interval(values, 0.95)
    half = stats.prediction_factor(10, 0.95) * s.sd
    assert (lo, hi) == pytest.approx((s.mean - half, s.mean + half))


# --------------------------------------------------------------------------- method identification


@pytest.mark.parametrize(
    ("stated", "n", "p", "g", "sides", "expected"),
    [
        (2.2173159, 43, 0.90, 0.99, 2, "howe"),  # NIST 7.2.6.3 Howe
        (2.223, 43, 0.90, 0.99, 2, "exact"),
        (2.2220, 43, 0.90, 0.99, 2, "guenther"),
        (12.647, 3, 0.99, 0.95, 2, "exact"),  # 3 dp rounding is within 0.0006
        (12.65, 3, 0.99, 0.95, 2, None),  # 2 dp rounding (off by 0.003) is not
        (13.133, 3, 0.99, 0.95, 2, "howe"),
        (13.112, 3, 0.99, 0.95, 2, "guenther"),
        (13.5, 3, 0.99, 0.95, 2, None),
        (1.8740, 43, 0.90, 0.99, 1, "exact"),  # NIST one-sided
        (1.8752, 43, 0.90, 0.99, 1, "natrella"),
    ],
)
def test_identify_tolerance_factor_reference_facts(stated, n, p, g, sides, expected):
    """Reference 'Facts': accept a stated factor matching exact/Howe/Guenther within 0.0006."""
    assert stats.identify_tolerance_factor(stated, n, p, g, sides) == expected


# --------------------------------------------------------------------------- consistency


def test_two_sided_methods_converge_for_large_n():
    ks = [stats.tolerance_factor(500, 0.95, 0.95, method=m) for m in stats.TWO_SIDED_METHODS]
    assert max(ks) - min(ks) < 2e-3


def test_df_override_equal_to_n_minus_1_is_default():
    assert stats.tolerance_factor(7, 0.9, 0.9, df=6) == stats.tolerance_factor(7, 0.9, 0.9)


def test_tolerance_factor_n2_works_and_decreases_with_n():
    ks = [stats.tolerance_factor(n, 0.95, 0.95) for n in (2, 3, 4, 5, 10, 100)]
    assert ks[0] == pytest.approx(36.519, abs=5e-3)  # Odeh/Owen-type value for n=2
    assert all(a > b for a, b in zip(ks, ks[1:]))


def test_tolerance_interval_log_scale_exponentiates():
    values = [1e6, 2e6, 4e6, 8e6]
    lo, hi = stats.tolerance_interval(values, 0.95, 0.95, log=True)
    logs = [math.log(v) for v in values]
    llo, lhi = stats.tolerance_interval(logs, 0.95, 0.95)
    assert (lo, hi) == pytest.approx((math.exp(llo), math.exp(lhi)))
    with pytest.raises(ValueError):
        stats.tolerance_interval([1.0, -1.0], 0.95, 0.95, log=True)


def test_distribution_helpers_known_values():
    assert stats.norm_cdf(1.959963984540054) == pytest.approx(0.975)
    assert stats.norm_ppf(0.975) == pytest.approx(1.959963984540054)
    assert stats.chi2_cdf(stats.chi2_ppf(0.3, 5), 5) == pytest.approx(0.3)
    assert stats.chi2_ppf(0.95, 1) == pytest.approx(3.841458820694124)
    assert stats.t_ppf(0.975, 10) == pytest.approx(2.228138851986274)
    assert stats.nct_cdf(stats.nct_ppf(0.9, 7, 1.5), 7, 1.5) == pytest.approx(0.9)
    assert stats.nct_ppf(0.9, 7, 0.0) == pytest.approx(stats.t_ppf(0.9, 7))


# --------------------------------------------------------------------------- capability & summaries


def test_ppk_and_pp_hand_computed():
    """[9, 10, 11]: x̄ = 10, s = 1. LSL 7, USL 14 → Ppk = min(4/3, 1) = 1, Pp = 7/6."""
    values = [9.0, 10.0, 11.0]
    assert stats.ppk(values, lsl=7, usl=14) == pytest.approx(1.0)
    assert stats.ppk(values, usl=14) == pytest.approx(4 / 3)
    assert stats.ppk(values, lsl=7) == pytest.approx(1.0)
    assert stats.pp(values, 7, 14) == pytest.approx(7 / 6)


def test_ppk_not_estimable_and_bad_limits():
    assert stats.ppk([5.0], lsl=1) is None
    assert stats.ppk([5.0, 5.0, 5.0], lsl=1) is None
    with pytest.raises(ValueError):
        stats.ppk([1.0, 2.0])
    with pytest.raises(ValueError):
        stats.ppk([1.0, 2.0], lsl=3, usl=2)


def test_describe_and_quality_range():
    s = stats.describe([9.0, 10.0, 11.0])
    assert s == stats.Summary(n=3, mean=10.0, sd=1.0, min=9.0, max=11.0)
    assert stats.describe([4.0]).sd is None
    assert stats.quality_range([9.0, 10.0, 11.0]) == pytest.approx((7.0, 13.0))
    assert stats.quality_range([9.0, 10.0, 11.0], k=2) == pytest.approx((8.0, 12.0))
    assert stats.fraction_within([8.0, 10.0, 14.0], (7.0, 13.0)) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        stats.describe([])
    with pytest.raises(ValueError):
        stats.describe([1.0, float("nan")])


# --------------------------------------------------------------------------- TOST


def test_tost_identical_samples_generous_margin_equivalent():
    ref = [10.0, 10.4, 9.7, 10.1, 9.9, 10.3]
    r = stats.tost(ref, ref, margin=2.0)
    assert r.difference == 0.0
    assert r.df == 10
    assert r.ci_lower == pytest.approx(-r.ci_upper)
    assert r.t_critical == pytest.approx(stats.t_ppf(0.95, 10))
    assert r.equivalent


def test_tost_shifted_not_equivalent():
    ref = [10.0, 10.4, 9.7, 10.1, 9.9, 10.3]
    r = stats.tost([x + 3.0 for x in ref], ref, margin=2.0)
    assert r.difference == pytest.approx(3.0)
    assert not r.equivalent


def test_tost_hand_computed_pooled_3_vs_3_with_1_5_sd_margin_not_equivalent():
    """3 vs 3 identical lots, s = 0.5, θ = 1.5·s: SE = 0.5·√(2/3), 90 % CI ±0.870 > 0.75."""
    lots = [9.5, 10.0, 10.5]
    r = stats.tost(lots, lots, margin=0.75)
    assert r.se == pytest.approx(0.5 * math.sqrt(2 / 3))
    assert r.t_critical == pytest.approx(2.131847, abs=1e-6)
    assert r.ci_upper == pytest.approx(0.870323, abs=1e-6)
    assert not r.equivalent


def test_tost_welch_equals_pooled_for_equal_n_and_variance():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0]
    rp, rw = stats.tost(a, b, 5.0), stats.tost(a, b, 5.0, pooled=False)
    assert rw.se == pytest.approx(rp.se)
    assert rw.df == pytest.approx(rp.df)
    assert not rw.pooled


def test_tost_rejects_bad_args():
    with pytest.raises(ValueError):
        stats.tost([1.0], [1.0, 2.0], 1.0)
    with pytest.raises(ValueError):
        stats.tost([1.0, 2.0], [1.0, 2.0], 0.0)
    with pytest.raises(ValueError):
        stats.tost([1.0, 2.0], [1.0, 2.0], 1.0, alpha=0.5)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("n", [1, 0, -3])
def test_tolerance_factor_rejects_n_below_2(n):
    with pytest.raises(ValueError):
        stats.tolerance_factor(n, 0.95, 0.95)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 5.0},
        {"n": True},
        {"coverage": 1.0},
        {"coverage": 0.0},
        {"confidence": 1.2},
        {"sides": 3},
        {"method": "bogus"},
        {"sides": 1, "method": "howe"},
        {"df": 0},
    ],
)
def test_tolerance_factor_rejects_bad_args(kwargs):
    args = {"n": 5, "coverage": 0.95, "confidence": 0.95} | kwargs
    with pytest.raises(ValueError):
        stats.tolerance_factor(**args)


def test_small_helpers_reject_bad_args():
    for call in (
        lambda: stats.minmax_expected_coverage(1),
        lambda: stats.success_run_lots(1.0, 0.95),
        lambda: stats.prediction_factor(1),
        lambda: stats.quality_range([1.0]),
        lambda: stats.mean_k_sd_expected_coverage(3, -1.0),
    ):
        with pytest.raises(ValueError):
            call()


def test_import_does_not_load_scipy_or_numpy():
    """Performance constraint: `import cmcflex.stats` must not import SciPy/NumPy eagerly."""
    root = Path(stats.__file__).resolve().parents[1]
    code = (
        "import sys, cmcflex.stats; "
        "print(any(m == 'scipy' or m.startswith(('scipy.', 'numpy')) for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- pure-Python distributions


_Q_GRID = [1e-300, 1e-100, 1e-20, 1e-10, 1e-6, 1e-3, 0.01, 0.05, 0.25, 0.3, 0.4999, 0.5, 0.5001,
           0.7, 0.9, 0.95, 0.99, 0.999, 1 - 1e-6, 1 - 1e-10, 1 - 1e-15]
_DF_GRID = [0.3, 0.5, 1.0, 2.0, 3.0, 7.5, 10.0, 29.0, 100.0, 1000.0, 1e4, 1e5]
_REL = 1e-10


def _close(a: float, b: float, rel: float = _REL) -> bool:
    return a == b or abs(a - b) <= rel * abs(b)


def test_norm_ppf_and_cdf_agree_with_scipy():
    sp = pytest.importorskip("scipy.special")
    for q in _Q_GRID:
        assert _close(stats.norm_ppf(q), float(sp.ndtri(q))), q
    for x in [-37.5, -30.0, -8.0, -1.0, -1e-8, 0.0, 1e-8, 0.5, 3.0, 8.0, 30.0]:
        assert _close(stats.norm_cdf(x), float(sp.ndtr(x))), x


def test_chi2_ppf_and_cdf_agree_with_scipy():
    sp = pytest.importorskip("scipy.special")
    for df in _DF_GRID:
        for q in _Q_GRID:
            if q <= 0.5:
                expected = 2.0 * float(sp.gammaincinv(df / 2.0, q))
            else:
                expected = 2.0 * float(sp.gammainccinv(df / 2.0, 1.0 - q))
            if not 1e-300 < expected < 1e300:
                continue  # the quantile underflows below the normal doubles
            x = stats.chi2_ppf(q, df)
            assert _close(x, expected), (df, q, x, expected)
            # lower and upper tails of the CDF, each compared on its small side
            if q <= 0.5:
                assert _close(stats.chi2_cdf(x, df), float(sp.chdtr(df, x))), (df, q)
            else:
                assert _close(1.0 - stats.chi2_cdf(x, df), float(sp.chdtrc(df, x)), 1e-9 + 1e-16 / (1 - q)), (df, q)


def test_t_ppf_and_cdf_agree_with_scipy():
    sp = pytest.importorskip("scipy.special")
    for df in _DF_GRID:
        for q in _Q_GRID:
            expected = float(sp.stdtrit(df, q)) if q <= 0.5 else -float(sp.stdtrit(df, 1.0 - q))
            t = stats.t_ppf(q, df)
            small = min(q, 1.0 - q)
            if not (math.isfinite(expected) and _close(float(sp.stdtr(df, -abs(expected))), small, 1e-8)):
                # SciPy's stdtrit fails beyond |t| ~ 1e150 (inf or a wrong value): round trip instead
                if math.isfinite(t):
                    assert _close(stats.t_cdf(-abs(t), df), small, 1e-12), (df, q, t)
                continue
            assert _close(t, expected), (df, q, t, expected)
        for x in [-1e12, -1e3, -40.0, -5.0, -2.0, -0.1, 0.0, 1e-6, 0.7, 3.0, 12.0]:
            assert _close(stats.t_cdf(x, df), float(sp.stdtr(df, x))), (df, x)


def test_pure_functions_keep_published_values():
    """χ²_{0.01;42} (NIST 7.2.6.3) and t_{0.975;10} to full precision."""
    assert stats.chi2_ppf(0.01, 42) == pytest.approx(23.650095, abs=5e-7)
    assert stats.t_ppf(0.975, 10) == pytest.approx(2.228138851986274, rel=1e-13)
    assert stats.t_ppf(0.5, 3) == 0.0 and stats.t_cdf(0.0, 3) == 0.5
    assert stats.t_ppf(1 - 0.975, 10) == -stats.t_ppf(0.975, 10)


# --------------------------------------------------------------------------- shipped exact table


def _table_sample() -> list[tuple[int, float, float, int]]:
    """72 keys: n = 2 and 1000 plus two pseudo-random n for each (sides, coverage, confidence)."""
    import random

    rng = random.Random(20261125)
    keys = []
    for sides in stats.TABLE_SIDES:
        for p in stats.TABLE_LEVELS:
            for g in stats.TABLE_LEVELS:
                for n in (2, 1000, rng.randint(3, 30), rng.randint(31, 999)):
                    keys.append((sides, p, g, n))
    return keys


def test_table_matches_a_fresh_exact_computation():
    """Table values equal the exact factor computed now (10 significant digits)."""
    keys = _table_sample()
    assert len(keys) >= 60
    for sides, p, g, n in keys:
        tabled = stats._table_factor(n, p, g, sides, n - 1.0)
        fresh = stats._compute_tolerance_factor(n, p, g, sides, "exact", n - 1.0)
        assert tabled is not None
        assert tabled == pytest.approx(fresh, rel=1e-9), (sides, p, g, n)
        assert stats.tolerance_factor(n, p, g, sides) == tabled


def test_table_is_complete_and_decreasing_in_n():
    lo, hi = stats.TABLE_N_RANGE
    for sides in stats.TABLE_SIDES:
        for p in stats.TABLE_LEVELS:
            for g in stats.TABLE_LEVELS:
                ks = stats._table_column(sides, p, g)
                assert ks is not None and len(ks) == hi - lo + 1
                assert all(a > b for a, b in zip(ks, ks[1:])), (sides, p, g)


def test_table_not_used_outside_its_keys():
    assert stats._table_factor(1001, 0.95, 0.95, 2, 1000.0) is None
    assert stats._table_factor(5, 0.975, 0.95, 2, 4.0) is None
    assert stats._table_factor(5, 0.95, 0.95, 2, 8.0) is None  # pooled df override


def test_check_on_sample_dossiers_does_not_import_scipy():
    """`cmcflex check` on the sample dossiers needs no SciPy/NumPy (0.3-0.45 s import)."""
    root = Path(stats.__file__).resolve().parents[1]
    for name in ("aav-bla", "cart-phase2"):
        dossier = root / "sample_dossiers" / name
        if not dossier.is_dir():
            pytest.skip(f"sample dossier {name} absent")
        code = (
            "import sys, runpy\n"
            f"sys.argv = ['cmcflex', 'check', {str(dossier)!r}, '--format', 'json',"
            " '--as-of', '2026-11-25']\n"
            "try:\n    runpy.run_module('cmcflex', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'numpy'))\n"
            "print('HEAVY:' + ','.join(heavy[:5]), file=sys.stderr)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
        assert out.stdout.lstrip().startswith("{"), out.stderr[-2000:]
        assert "HEAVY:\n" in out.stderr, (name, out.stderr[-2000:])


# --------------------------------------------------------------------------- fast summaries


def test_describe_large_samples_match_two_pass():
    import random

    rng = random.Random(7)
    for mu, sd in ((10.0, 2.0), (97.07, 0.0268), (1e9, 1e-3)):  # last one is ill-conditioned
        xs = [rng.gauss(mu, sd) for _ in range(20_000)]
        mean = math.fsum(xs) / len(xs)
        two_pass = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
        s = stats.describe(xs)
        assert s.mean == mean and s.sd == pytest.approx(two_pass, rel=1e-12)
        assert (s.min, s.max) == (min(xs), max(xs))


def test_as_floats_fast_path_keeps_validation():
    big = [1.0] * 10_000
    assert stats.describe(big + [3]).max == 3.0
    assert stats.describe(iter([1, 2.5])).mean == 1.75
    for bad in (big + [True], big + ["2"], big + [math.inf], big + [math.nan], 5):
        with pytest.raises(ValueError):
            stats.describe(bad)


# --------------------------------------------------------------------------- exact factors without SciPy
# The run time needs no SciPy; these tests check the standard-library code against it (the
# `test` extra installs SciPy) and skip when it is absent.

_N_GRID = [2, 3, 4, 5, 7, 10, 15, 20, 30, 43, 60, 100, 250, 500, 1000, 2500, 10_000]
_P_GRID = [0.5, 0.75, 0.9, 0.95, 0.975, 0.99, 0.999]
_G_GRID = [0.5, 0.75, 0.9, 0.95, 0.975, 0.99, 0.999]


def test_one_sided_exact_factor_agrees_with_scipy_noncentral_t_to_1e_9():
    """k1 = t′_{γ;n−1,z_P·√n}/√n over a grid of n, coverage and confidence (SciPy's nctdtrit)."""
    sp = pytest.importorskip("scipy.special")
    for n in _N_GRID:
        for p in _P_GRID:
            for g in _G_GRID:
                delta = float(sp.ndtri(p)) * math.sqrt(n)
                expected = float(sp.nctdtrit(n - 1.0, delta, g)) / math.sqrt(n)
                k = stats._compute_tolerance_factor(n, p, g, 1, "exact", n - 1.0)
                assert _close(k, expected, 1e-9), (n, p, g, k, expected)


def test_nct_cdf_agrees_with_scipy():
    """Noncentral t CDF over df, noncentrality (both signs) and x: absolute error below 1e-12."""
    sp = pytest.importorskip("scipy.special")
    for df in (1.0, 2.0, 3.0, 5.5, 10.0, 42.0, 100.0, 999.0, 5000.0):
        for nc in (-5.0, -1.0, 0.0, 0.3, 1.0, 2.5, 5.0, 10.0, 30.0, 73.6, 150.0):
            for x in (-20.0, -3.0, -0.5, 0.0, 0.2, 1.0, 2.0, 5.0, 10.0, 31.0, 75.0, 100.0, 160.0, 400.0):
                got, expected = stats.nct_cdf(x, df, nc), float(sp.nctdtr(df, nc, x))
                assert 0.0 <= got <= 1.0
                if math.isnan(expected):  # SciPy gives up far in a tail (e.g. df=1, nc=10, x=-3)
                    at_zero = stats.nct_cdf(0.0, df, nc)  # = Φ(−nc)
                    assert (got <= at_zero) if x < 0 else (got >= at_zero), (df, nc, x)
                    continue
                assert abs(got - expected) <= 1e-12, (df, nc, x, got, expected)


def test_nct_ppf_agrees_with_scipy_with_pooled_df_and_negative_noncentrality():
    sp = pytest.importorskip("scipy.special")
    for df in (1.0, 4.0, 8.0, 40.0, 300.0):
        for nc in (-3.0, -0.5, 0.0, 0.5, 3.0, 12.0):
            for q in (0.01, 0.1, 0.5, 0.9, 0.99):
                expected = float(sp.nctdtrit(df, nc, q))
                assert _close(stats.nct_ppf(q, df, nc), expected, 1e-9) or \
                    abs(stats.nct_ppf(q, df, nc) - expected) <= 1e-12, (df, nc, q)


def _scipy_two_sided_k(n: int, coverage: float, confidence: float, nu: float) -> float:
    """The exact two-sided factor by SciPy's adaptive quadrature and root finders (independent of
    the Gauss-Legendre rule cmcflex uses)."""
    sp = pytest.importorskip("scipy.special")
    integrate = pytest.importorskip("scipy.integrate")
    optimize = pytest.importorskip("scipy.optimize")
    z_h = float(sp.ndtri(0.5 * (1.0 + coverage)))
    tail = 1.0 - coverage

    def r(z: float) -> float:
        return optimize.brentq(lambda x: sp.ndtr(-(z + x)) + sp.ndtr(z - x) - tail,
                               0.0, z + z_h + 1.0, xtol=1e-15, rtol=1e-15)

    def coverage_confidence(k: float) -> float:
        def f(u: float) -> float:
            return 2.0 * math.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi) * \
                float(sp.chdtrc(nu, nu * r(u / math.sqrt(n)) ** 2 / (k * k)))
        return integrate.quad(f, 0.0, math.inf, epsabs=1e-15, epsrel=1e-13, limit=200)[0] - confidence

    k0 = stats._howe(n, coverage, confidence, nu)
    return optimize.brentq(coverage_confidence, 0.3 * k0, 3.0 * k0, xtol=1e-14, rtol=1e-14)


@pytest.mark.parametrize(("n", "p", "g", "nu"), [
    (2, 0.90, 0.95, 1.0), (3, 0.75, 0.999, 2.0), (5, 0.999, 0.995, 4.0), (5, 0.95, 0.95, 8.0),
    (12, 0.975, 0.5, 11.0), (43, 0.75, 0.80, 42.0), (250, 0.975, 0.95, 249.0), (1000, 0.99, 0.999, 999.0),
    (3000, 0.90, 0.90, 2999.0),
])
def test_two_sided_exact_factor_agrees_with_scipy_quadrature_to_1e_9(n, p, g, nu):
    expected = _scipy_two_sided_k(n, p, g, nu)
    k = stats._compute_tolerance_factor(n, p, g, 2, "exact", nu)
    assert _close(k, expected, 1e-9), (k, expected)


def test_gauss_legendre_rule_matches_numpy():
    np = pytest.importorskip("numpy")
    nodes, weights = stats._legendre_nodes(stats._GL_POINTS)
    x, w = np.polynomial.legendre.leggauss(stats._GL_POINTS)
    assert max(abs(a - float(b)) for a, b in zip(nodes, x)) <= 1e-14
    assert max(abs(a - float(b)) for a, b in zip(weights, w)) <= 1e-14
    assert math.fsum(weights) == pytest.approx(2.0, abs=1e-14)


def test_factors_outside_the_table_need_no_scipy_or_numpy():
    """A pooled-df two-sided factor and an off-table one-sided factor import neither library."""
    root = Path(stats.__file__).resolve().parents[1]
    code = ("import sys\n"
            "sys.modules['scipy'] = None; sys.modules['numpy'] = None  # importing either fails\n"
            "from cmcflex import stats\n"
            "print(round(stats.tolerance_factor(5, 0.95, 0.95, df=8), 4),"
            " round(stats.tolerance_factor(43, 0.90, 0.975, sides=1), 6))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    k2, k1 = out.stdout.split()
    assert float(k2) == pytest.approx(3.6939, abs=2e-4)  # ISO 16269-6 Annex F, ν = 8
    assert float(k1) > stats.tolerance_factor(43, 0.90, 0.95, sides=1)
