"""Write cmcflex/data/tolerance_factors.csv: exact normal tolerance factors for common keys.

One row per (sides, coverage, confidence) with sides in {1, 2} and coverage, confidence in
{0.90, 0.95, 0.99}; the row holds k for n = 2..1000 (ν = n − 1), computed with the exact methods
of :mod:`cmcflex.stats` (two-sided: the Odeh / Krishnamoorthy-Mathew integral;
one-sided: the noncentral t quantile), written with 10 significant digits.
:func:`cmcflex.stats.tolerance_factor` reads this file instead of computing them on each run.

Usage: python tools/make_tolerance_table.py [--check]
  --check  recompute and compare with the shipped file instead of writing it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cmcflex import stats  # noqa: E402

OUT = ROOT / "cmcflex" / "data" / "tolerance_factors.csv"


def rows() -> list[str]:
    """CSV lines: header, then one line per (sides, coverage, confidence)."""
    lo, hi = stats.TABLE_N_RANGE
    lines = ["sides,coverage,confidence," + ",".join(f"n={n}" for n in range(lo, hi + 1))]
    for sides in stats.TABLE_SIDES:
        for coverage in stats.TABLE_LEVELS:
            for confidence in stats.TABLE_LEVELS:
                ks = [
                    stats._compute_tolerance_factor(n, coverage, confidence, sides, "exact", n - 1.0)
                    for n in range(lo, hi + 1)
                ]
                lines.append(
                    f"{sides},{coverage:.2f},{confidence:.2f}," + ",".join(f"{k:.10g}" for k in ks)
                )
                print(f"sides={sides} coverage={coverage} confidence={confidence} done", file=sys.stderr)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped file")
    args = parser.parse_args()
    text = "\n".join(rows()) + "\n"
    if args.check:
        same = OUT.read_text(encoding="ascii") == text
        print("up to date" if same else "differs")
        return 0 if same else 1
    OUT.write_text(text, encoding="ascii")
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
