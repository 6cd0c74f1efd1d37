"""Generate realistic large dossiers for benchmarking (valid per docs/dossier-format.md).

The generated product is an autologous CAR-T in commercial supply (phase ``post_approval``):
every patient gives one lot, so lots.csv grows with the number of patients treated. Lots are
development, pivotal (phase 2), PPQ and commercial; each lot has one row per attribute. Values
are drawn from fixed-seed distributions, mostly within specification, with the occasional
rejected lot, censored endotoxin results and result words for the safety tests.

    python benchmarks/generate.py OUT_DIR --rows 1000000 [--attributes 16] [--seed 1]
    python benchmarks/generate.py OUT_DIR --portfolio 200 --rows 400

Nothing here is imported by cmcflex; the benchmark script imports :func:`generate_dossier`.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

# attribute, canonical test (None = same), unit, method, criterion, value generator
Gen = Callable[[random.Random], str]


def _normal(mean: float, sd: float, fmt: str = "{:.1f}") -> Gen:
    return lambda r: fmt.format(r.gauss(mean, sd))


def _sci(mean: float, sd: float) -> Gen:
    return lambda r: f"{max(r.gauss(mean, sd), mean / 10):.2E}"


def _word(good: str, bad: str, p_bad: float = 0.0) -> Gen:
    return lambda r: bad if r.random() < p_bad else good


def _endotoxin(r: random.Random) -> str:
    return "<0.50" if r.random() < 0.7 else f"{r.uniform(0.5, 2.0):.2f}"


ATTRIBUTES: list[tuple[str, str | None, str | None, str, str, Gen]] = [
    ("sterility", None, None, "M-STER", "No growth", _word("No growth", "Growth")),
    ("mycoplasma", None, None, "M-MYCO", "Negative", _word("Negative", "Positive")),
    ("endotoxin", None, "EU/mL", "M-LAL", "<= 5.0 EU/mL", _endotoxin),
    ("identity", None, None, "M-ID", "Conforms", _word("Conforms", "Does not conform")),
    ("potency", None, "pg/mL", "M-POT", ">= 100 pg/mL", _normal(420, 60, "{:.0f}")),
    ("viability", None, "%", "M-VIAB", ">= 70", _normal(88, 4)),
    ("viable_cell_dose", None, "cells", "M-CC", "1.0E8 - 5.0E8 cells", _sci(2.6e8, 4e7)),
    ("transduction_efficiency", None, "%", "M-FLOW", ">= 15", _normal(42, 7)),
    ("vector_copy_number", None, "copies/cell", "M-VCN", "<= 5.0", _normal(1.9, 0.4, "{:.2f}")),
    ("cd3_purity", None, "%", "M-FLOW", ">= 80", _normal(96, 1.5)),
    ("rcl", "replication_competent_virus", None, "M-RCL", "Not detected", _word("Not detected", "Detected")),
    ("appearance", None, None, "M-APP", "Conforms", _word("Conforms", "Does not conform")),
    ("residual_beads", None, "beads/3E6 cells", "M-BEAD", "<= 100", _normal(12, 4, "{:.0f}")),
    ("ph", None, None, "M-PH", "6.8 - 7.8", _normal(7.3, 0.1, "{:.2f}")),
    ("osmolality", None, "mOsm/kg", "M-OSM", "270 - 340", _normal(300, 8, "{:.0f}")),
    ("volume", None, "mL", "M-VOL", "Report result", _normal(68, 1.5)),
]
COMPACT_COLUMNS = ("lot_id", "material", "use", "process_version", "site", "manufacture_date",
                   "attribute", "value", "disposition")
FULL_COLUMNS = ("lot_id", "material", "use", "process_version", "site", "manufacture_date",
                "starting_material", "attribute", "value", "unit", "method", "disposition")
COLUMN_SETS = {"compact": COMPACT_COLUMNS, "full": FULL_COLUMNS}


def attribute_table(count: int) -> list[tuple[str, str | None, str | None, str, str, Gen]]:
    """The first ``count`` attributes; past the standard list, custom general tests."""
    table = list(ATTRIBUTES[:count])
    for k in range(len(table), count):
        table.append((f"impurity_{k:02d}", None, "%", "M-HPLC", "<= 2.0", _normal(0.6, 0.2, "{:.2f}")))
    return table


def _dossier_yaml(name: str) -> dict[str, Any]:
    return {
        "cmcflex": 1,
        "product": {"name": name, "modality": "car_t_autologous", "route": "intravenous",
                    "indication": "relapsed or refractory large B-cell lymphoma", "orphan": True},
        "phase": "post_approval",
        "pivotal_phase": "phase_2",
        "commercial_process": "v2",
        "shelf_life": {"value": 12, "unit": "months", "storage": "vapor phase of liquid nitrogen"},
        "in_use": {"value": 3, "unit": "hours", "condition": "after thaw, room temperature"},
        "sites": [
            {"id": "SITE-A", "name": "Cell processing center A", "roles": ["drug_product", "testing"],
             "third_party": False, "gmp_regime": "part_211", "commercial": True,
             "inspections": [{"date": "2025-03-10", "type": "pre_license", "outcome": "NAI"}]},
            {"id": "SITE-B", "name": "Cell processing center B", "roles": ["drug_product", "testing"],
             "third_party": True, "gmp_regime": "part_211", "commercial": True,
             "quality_agreement": "QA-2024-011",
             "inspections": [{"date": "2025-09-02", "type": "pre_approval", "outcome": "VAI",
                              "open_observations": 0}]},
            {"id": "SITE-V", "name": "Vector manufacturer", "roles": ["vector"], "third_party": True,
             "gmp_regime": "part_211", "commercial": True, "quality_agreement": "QA-2023-004"},
        ],
    }


def _gmp_yaml() -> dict[str, Any]:
    control = lambda ev: {"status": "in_place", "evidence": ev}  # noqa: E731
    return {
        "quality_unit": {"independent": True, "responsibilities_written": True},
        "controls": {
            "written_procedures": control("SOP-INDEX-07"),
            "batch_records": control("MBR-CART-v4"),
            "personnel_training": control("TRN-MATRIX-2026"),
            "deviation_management": control("SOP-QA-012"),
            "oos_investigation": control("SOP-QC-020"),
            "change_control": control("SOP-QA-015"),
            "equipment_qualification": control("VMP-2025"),
            "supplier_qualification": control("SOP-QA-030"),
            "environmental_monitoring": {"status": "in_place", "evidence": "EM-PROG-3", "trending": True,
                                         "uninvestigated_excursions": 0},
            "data_integrity": {"status": "in_place", "audit_trail": True, "systems_validated": True,
                               "unique_logins": True},
            "chain_of_identity": control("COI-SOP-1"),
        },
        "aseptic_process_simulation": [
            {"date": date, "site": site, "suite": suite, "purpose": purpose, "units": 120, "contaminated": 0,
             "worst_case": True}
            for site, suite in (("SITE-A", "SUITE-1"), ("SITE-B", "SUITE-3"))
            for date, purpose in (("2023-02-06", "initial"), ("2023-02-20", "initial"), ("2023-03-06", "initial"),
                                  ("2026-03-09", "periodic"), ("2026-09-14", "periodic"))
        ],
        "materials": [
            {"name": "Human AB serum", "role": "ancillary", "origin": "human", "grade": "gmp",
             "supplier_qualified": True, "risk_assessment": "RA-009"},
            {"name": "Anti-CD3/CD28 beads", "role": "ancillary", "origin": "recombinant", "grade": "gmp",
             "supplier_qualified": True},
            {"name": "Lentiviral vector", "role": "critical_reagent", "origin": "cell_line", "grade": "gmp",
             "supplier_qualified": True},
        ],
    }


def _specifications_yaml(attrs: list[tuple[str, str | None, str | None, str, str, Gen]]) -> dict[str, Any]:
    tests = []
    for attribute, test, unit, method, criterion, _ in attrs:
        entry: dict[str, Any] = {"attribute": attribute}
        if test:
            entry["test"] = test
        if attribute.startswith("impurity_"):
            entry["category"] = "purity"
        if unit:
            entry["unit"] = unit
        entry["method"] = method
        entry["criterion"] = criterion
        entry["justification"] = {"basis": ["clinical_lots", "safety"],
                                   "text": f"Pivotal lots and safety data support the {attribute} limit."}
        tests.append(entry)
    return {"specifications": [{"material": "drug_product", "version": "4.0", "tests": tests}]}


def _methods_yaml(attrs: list[tuple[str, str | None, str | None, str, str, Gen]]) -> dict[str, Any]:
    ids = sorted({a[3] for a in attrs})
    out = []
    for i in ids:
        entry: dict[str, Any] = {"id": i, "name": f"Method {i}", "status": "validated",
                                 "report": f"VAL-{i}", "quantitative": i not in ("M-ID", "M-APP")}
        if i == "M-POT":
            entry["moa_linked"] = True
        out.append(entry)
    return {"methods": out}


def _ppq_yaml() -> dict[str, Any]:
    return {
        "protocol": {
            "id": "PPQ-PROT-001", "approved_by_quality_unit": True, "site": "SITE-A", "scale": "commercial",
            "lots_planned": 3,
            "lot_count_justification": {"approach": "process_knowledge",
                                        "text": "Pivotal lots made with the commercial process show a capable process.",
                                        "evidence": ["PD-RPT-007"]},
            "starting_material": "patient",
            "starting_material_justification": "Patient apheresis material, as in commercial supply.",
            "concurrent_release": {"planned": True, "rationale": "Each lot is one patient's only dose.",
                                   "lots_meet_release_criteria": True,
                                   "failure_plan": "Distributed lots are assessed under CAPA-PLAN-9."},
            "elements": {k: f"PPQ-PROT-001 s{n}" for n, k in enumerate(
                ("operating_conditions", "data_to_collect", "tests_and_criteria", "sampling_plan",
                 "statistical_methods", "deviation_handling"), start=5)},
            "prerequisites": {k: True for k in (
                "facility_equipment_qualified", "personnel_trained", "material_sources_verified",
                "analytical_methods_validated", "aseptic_simulation_current", "hold_times_validated",
                "shipping_validated", "vector_process_validated")},
        },
        "report": {"id": "PPQ-RPT-001", "status": "complete", "conclusion": "validated", "open_deviations": 0},
        "continued_process_verification": "CPV-PLAN-01",
    }


def _lot_plan(n_lots: int) -> list[tuple[str, str, str, str]]:
    """(use, process_version, site, lot-id prefix) for each lot, in manufacturing order."""
    dev = min(6, max(1, n_lots // 10))
    pivotal = min(60, max(0, (n_lots * 2) // 5))
    ppq = min(3, max(0, n_lots - dev - pivotal))
    plan = [("development", "v1", "SITE-A", "D")] * dev
    plan += [("phase_2", "v2", "SITE-A", "P")] * pivotal
    plan += [("ppq", "v2", "SITE-A", "Q")] * ppq
    for k in range(n_lots - len(plan)):
        plan.append(("commercial", "v2", "SITE-A" if k % 3 else "SITE-B", "C"))
    return plan


def write_lots_csv(path: Path, n_lots: int, attrs: list[Any], seed: int, columns: tuple[str, ...]) -> int:
    """Write lots.csv; returns the number of result rows."""
    rng = random.Random(seed)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(columns) + "\n")
        buffer: list[str] = []
        for k, (use, version, site, prefix) in enumerate(_lot_plan(n_lots)):
            day = k % 3650
            date = f"{2016 + day // 365}-{1 + (day // 28) % 12:02d}-{1 + day % 28:02d}"
            rejected = use == "commercial" and rng.random() < 0.002
            disposition = "not_applicable" if use == "development" else "rejected" if rejected else "released"
            lot = {"lot_id": f"{prefix}{k:07d}", "material": "drug_product", "use": use,
                   "process_version": version, "site": site, "manufacture_date": date,
                   "starting_material": "patient", "disposition": disposition}
            bad = rng.randrange(len(attrs)) if rejected else -1
            for a, (attribute, _test, unit, method, _crit, gen) in enumerate(attrs):
                value = gen(rng)
                if a == bad and attribute == "viability":
                    value = f"{rng.uniform(55, 69):.1f}"
                row = dict(lot, attribute=attribute, value=value, unit=unit or "", method=method)
                buffer.append(",".join(row[c] for c in columns))
                rows += 1
            if len(buffer) >= 20000:
                out.write("\n".join(buffer) + "\n")
                buffer.clear()
        if buffer:
            out.write("\n".join(buffer) + "\n")
    return rows


def _lot_ids(n_lots: int) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for k, (use, _v, _s, prefix) in enumerate(_lot_plan(n_lots)):
        ids.setdefault(use, []).append(f"{prefix}{k:07d}")
    return ids


def _changes_yaml(n_lots: int) -> dict[str, Any]:
    ids = _lot_ids(n_lots)
    return {"changes": [{
        "id": "CHG-001", "title": "Closed automated expansion replaces open static culture", "kind": "process",
        "phase": "phase_2", "risk": "major", "risk_assessment": "RA-031", "from_version": "v1", "to_version": "v2",
        "affected_attributes": ["viability", "transduction_efficiency", "potency"],
        "comparability": {"design": "historical", "pre_lots": ids.get("development", [])[:6],
                          "post_lots": ids.get("phase_2", [])[:6],
                          "attributes": ["viability", "transduction_efficiency", "potency"],
                          "method": "quality_range", "criteria_predefined": True, "conclusion": "comparable"},
    }]}


def write_stability_csv(path: Path, n_lots: int, seed: int) -> None:
    """Long-term stability of three commercial-process lots to 12 months (viability, potency)."""
    rng = random.Random(seed)
    ids = _lot_ids(n_lots)
    lots = (ids.get("ppq", []) + ids.get("phase_2", []))[:3]
    lines = ["lot_id,material,condition,time,time_unit,attribute,value,unit"]
    for lot in lots:
        for month in (0, 3, 6, 9, 12):
            lines.append(f"{lot},drug_product,long_term,{month},months,viability,{rng.gauss(88 - month / 4, 2):.1f},%")
            lines.append(f"{lot},drug_product,long_term,{month},months,potency,{rng.gauss(420, 40):.0f},pg/mL")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def generate_dossier(
    out: Path, rows: int = 10_000, attributes: int = 16, seed: int = 1, name: str = "CART-BENCH",
    columns: str = "compact",
) -> Path:
    """Write one dossier of about ``rows`` lot-result rows (``rows // attributes`` lots) to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    attrs = attribute_table(attributes)
    n_lots = max(1, rows // attributes)
    files = {
        "dossier.yaml": _dossier_yaml(name),
        "gmp.yaml": _gmp_yaml(),
        "specifications.yaml": _specifications_yaml(attrs),
        "methods.yaml": _methods_yaml(attrs),
        "ppq.yaml": _ppq_yaml(),
        "changes.yaml": _changes_yaml(n_lots),
    }
    for file, data in files.items():
        (out / file).write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    write_lots_csv(out / "lots.csv", n_lots, attrs, seed, COLUMN_SETS[columns])
    write_stability_csv(out / "stability.csv", n_lots, seed)
    return out


def generate_portfolio(out: Path, count: int, rows: int = 400, attributes: int = 16) -> list[Path]:
    """``count`` small dossiers under ``out`` (product-001, product-002, ...)."""
    return [generate_dossier(out / f"product-{i:03d}", rows=rows, attributes=attributes, seed=i,
                             name=f"CART-{i:03d}") for i in range(1, count + 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write (a dossier, or a folder of dossiers)")
    parser.add_argument("--rows", type=int, default=10_000, help="lot-result rows per dossier")
    parser.add_argument("--attributes", type=int, default=16, help="attributes per lot")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--columns", choices=sorted(COLUMN_SETS), default="compact",
                        help="compact (~65 bytes a row) or full (every optional column)")
    parser.add_argument("--portfolio", type=int, default=0, metavar="N", help="write N dossiers instead of one")
    args = parser.parse_args(argv)
    if args.portfolio:
        paths = generate_portfolio(args.out, args.portfolio, args.rows, args.attributes)
        print(f"wrote {len(paths)} dossiers under {args.out}")
    else:
        generate_dossier(args.out, args.rows, args.attributes, args.seed, columns=args.columns)
        size = (args.out / "lots.csv").stat().st_size
        print(f"wrote {args.out} (lots.csv {size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
