"""Criteria and results put into the unit of their specification test (see :mod:`cmcflex.dossier.units`).

A test's unit is its ``unit``, else its criterion's. A criterion written in another compatible
unit is converted to it (its text stays as written); an incompatible one is a load problem. A
previous version's criterion is converted likewise, to the unit of today's test of its attribute;
one in an incompatible unit stays as written (:func:`convert_criteria`).
A lots.csv or stability.csv result in another compatible unit is converted; one in an
incompatible unit is recorded as a :class:`UnitExclusion`, which SPEC-013 reports with its rows,
and is taken out of the lot table (a stability point stays, for what is on stability and when,
but is never judged: :func:`cmcflex.rules.common.judge_stability`). A result without a unit is read in the test's unit. Work is
done once per distinct unit string; rows are touched by C loops only where something changes.
"""

from __future__ import annotations

import itertools
import math
import operator
from array import array
from typing import Any, NamedTuple

from cmcflex.dossier.criteria import NumericCriterion, Result
from cmcflex.dossier.errors import Problem
from cmcflex.dossier.lots import WORD, AttributeColumn, LotTable, StabilityPoint
from cmcflex.dossier.models import SpecificationsFile, SpecTest
from cmcflex.dossier.units import factor
from cmcflex.dossier.yaml_source import SourceMap

FILE = "specifications.yaml"
_COLUMNS = ("lot", "value", "censor", "word", "method", "line", "file", "unit")


class UnitExclusion(NamedTuple):
    """Results of one test in one unit that cannot be converted to the test's unit."""

    source: str                            # "lots" or "stability"
    material: str
    attribute: str
    unit: str                              # as written in the file
    test_unit: str                         # the unit of the test (or of the column's first row: see declared)
    declared: bool                         # False when no test states a unit and test_unit is the first row's
    rows: tuple[tuple[str, int, str], ...]  # (file, line, lot id) of each result, in file order
    results: tuple[Result, ...] = ()       # lots: each row's result as written (in ``unit``), beside ``rows``
    methods: tuple[str | None, ...] = ()   # each row's method id, where written, beside ``rows``


def converted(value: float, f: float) -> float:
    """``value * f`` to 12 significant figures: 18 pg/mL is 0.018 ng/mL, not 0.018000000000000002,
    so a result written at a limit in another unit still meets it."""
    if f == 1.0 or math.isnan(value) or value == 0.0:
        return value
    return float(f"{value * f:.12g}")


def test_unit(test: SpecTest) -> str | None:
    """The unit a test's results and limits are read in: its ``unit``, else its criterion's."""
    if test.unit:
        return test.unit
    for c in (test.criterion, test.shelf_life_criterion):
        if isinstance(c, NumericCriterion) and c.unit:
            return c.unit
    return None


def convert_criteria(specs: SpecificationsFile, source: SourceMap | None,
                     problems: list[Problem]) -> SpecificationsFile:
    """Specifications whose numeric criteria are in their test's unit, as lot results are; so are
    the criteria of previous versions, in the unit of the current version's test of the same
    attribute. A test's criterion in an incompatible unit goes to ``problems``; a previous
    version's stays as written: it may have been measured in another unit (a changed method),
    and its lot results in that unit are not in the table either (they are unit exclusions)."""
    new_specs = []
    changed = False
    for i, spec in enumerate(specs.specifications):
        tests = []
        touched = False  # this specification
        units: dict[str, str | None] = {}
        for j, test in enumerate(spec.tests):
            unit = test_unit(test)
            units.setdefault(test.attribute, unit)
            update: dict[str, Any] = {}
            for name in ("criterion", "shelf_life_criterion"):
                c = getattr(test, name)
                new = _in_unit(c, unit)
                if new is None and c is not None:
                    line, col = source.locate(("specifications", i, "tests", j, name)) if source else (0, 0)
                    problems.append(Problem(
                        FILE, line, col, f"specifications[{i}].tests[{j}].{name}",
                        f"the criterion '{c.describe()}' is in '{c.unit}', which cannot be converted to the "
                        f"test's unit '{unit}'; write the limit in '{unit}' (or correct the test's unit)"))
                elif new is not c:
                    update[name] = new
            if update:
                touched = True
                test = test.model_copy(update=update)
            tests.append(test)
        versions = []
        for version in spec.previous_versions:
            old_tests = []
            for old in version.tests:
                new = _in_unit(old.criterion, units.get(old.attribute))
                if new is not None and new is not old.criterion:
                    old = old.model_copy(update={"criterion": new})
                old_tests.append(old)
            if any(a is not b for a, b in zip(old_tests, version.tests)):
                touched = True
                version = version.model_copy(update={"tests": old_tests})
            versions.append(version)
        changed |= touched
        new_specs.append(spec.model_copy(update={"tests": tests, "previous_versions": versions}) if touched
                         else spec)
    return specs.model_copy(update={"specifications": new_specs}) if changed else specs


def _in_unit(c: Any, unit: str | None) -> Any:
    """``c`` with its limits in ``unit`` (its text stays as written); ``c`` itself when there is
    nothing to convert; None when its unit cannot be converted to ``unit``."""
    if not isinstance(c, NumericCriterion) or not c.unit or unit is None or c.unit == unit:
        return c
    f = factor(c.unit, unit)
    if f is None:
        return None
    return c._replace(min=None if c.min is None else converted(c.min, f),
                      max=None if c.max is None else converted(c.max, f), unit=unit, text=c.describe())


def spec_units(specs: SpecificationsFile | None) -> dict[tuple[str, str], str | None]:
    """(material, attribute) -> the unit of its (first) specification test."""
    out: dict[tuple[str, str], str | None] = {}
    for spec in specs.specifications if specs is not None else ():
        for test in spec.tests:
            out.setdefault((spec.material, test.attribute), test_unit(test))
    return out


def convert_lots(table: LotTable, units: dict[tuple[str, str], str | None]) -> list[UnitExclusion]:
    """Put each column into its test's unit (a column whose test, if any, states no unit: into the
    unit of its first result with one); return the results that cannot be."""
    out: list[UnitExclusion] = []
    if not table.units:
        return out
    for key, col in table._columns.items():
        if not col.units:
            continue
        codes = sorted(set(col.unit) - {-1})
        target, declared = units.get(key), True
        if target is None:  # no unit in a specification: the column's first unit stands for it
            first = next(c for c in col.unit if c >= 0)
            target, declared = table.units[first], False
        factors = {c: factor(table.units[c], target) for c in codes}
        bad = {c for c, f in factors.items() if f is None}
        if bad:
            flagged = list(map(operator.and_, map(bad.__contains__, col.unit), map(WORD.__ne__, col.censor)))
            out.extend(_exclude(table, col, flagged, target, declared))
            bad &= set(col.unit)  # result words in those units stay
        scale = {c: f for c, f in factors.items() if f is not None and f != 1.0}
        if scale:
            per_code = {c: 1.0 for c in set(col.unit)}
            per_code.update(scale)
            col.value = array("d", map(converted, col.value, map(per_code.__getitem__, col.unit)))
            if math.inf in col.value or -math.inf in col.value:  # beyond float range in the test's unit
                out.extend(_exclude(table, col, list(map(math.isinf, col.value)), target, declared))
        col.units = {target} if len(bad) < len(codes) else set()
    for key in [k for k, col in table._columns.items() if not len(col)]:
        del table._columns[key]  # every result left out: no column (SPEC-013 reports them)
    return out


def _exclude(table: LotTable, col: AttributeColumn, flagged: list[bool], target: str,
             declared: bool) -> list[UnitExclusion]:
    """Take the flagged rows out of the column; one exclusion per unit, units in name order. Callers
    never flag a result word (``Positive``): it is judged whatever unit it was written with."""
    rows_of: dict[int, list[tuple[str, int, str]]] = {}
    results_of: dict[int, list[Result]] = {}
    methods_of: dict[int, list[str | None]] = {}
    for k in itertools.compress(range(len(col.unit)), flagged):
        found = table.result_at(col.material, col.attribute, k)
        rows_of.setdefault(col.unit[k], []).append((found.file, found.line, found.lot_id))
        results_of.setdefault(col.unit[k], []).append(found.result)
        methods_of.setdefault(col.unit[k], []).append(found.method)
    keep = list(map(operator.not_, flagged))
    for name in _COLUMNS:
        old = getattr(col, name)
        setattr(col, name, array(old.typecode, itertools.compress(old, keep)))
    return [UnitExclusion("lots", col.material, col.attribute, table.units[c], target, declared, tuple(rows),
                          tuple(results_of[c]), tuple(methods_of[c]))
            for c, rows in sorted(rows_of.items(), key=lambda item: table.units[item[0]])]


def convert_stability(points: list[StabilityPoint], units: dict[tuple[str, str], str | None]
                      ) -> tuple[list[StabilityPoint], list[UnitExclusion]]:
    """Stability points in their test's unit, and the points that cannot be put in it: those stay in
    the list as written (they count for what is on stability and when) but are never judged."""
    kept: list[StabilityPoint] = []
    bad: dict[tuple[str, str, str, str, bool], list[tuple[str, int, str]]] = {}
    bad_methods: dict[tuple[str, str, str, str, bool], list[str | None]] = {}
    first: dict[tuple[str, str], str] = {}  # where no test states a unit: the first point's unit
    for p in points:
        if p.unit is not None:
            first.setdefault((p.material, p.attribute), p.unit)
    for p in points:
        key = (p.material, p.attribute)
        declared = units.get(key) is not None
        target = units.get(key) or first.get(key)
        if p.unit is None or target is None:
            kept.append(p)
            continue
        f = factor(p.unit, target)
        value = converted(p.result.value, f) if f is not None and p.result.word is None else None
        if p.result.word is None and (value is None or math.isinf(value)):
            # kept (it shows what is on stability, and when), never judged: see rules.common.judge_stability
            bad.setdefault((p.material, p.attribute, p.unit, target, declared), []).append((p.file, p.line, p.lot_id))
            bad_methods.setdefault((p.material, p.attribute, p.unit, target, declared), []).append(p.method)
        elif value is not None and f != 1.0:
            p = p._replace(result=Result(value=value, censor=p.result.censor), unit=target)
        kept.append(p)
    return kept, [UnitExclusion("stability", m, a, u, t, declared, tuple(rows),
                                methods=tuple(bad_methods[(m, a, u, t, declared)]))
                  for (m, a, u, t, declared), rows in bad.items()]
