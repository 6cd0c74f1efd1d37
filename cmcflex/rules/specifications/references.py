"""SPEC-013: tests, lots, sites and methods refer to records that exist.

Readings of the catalogue made here:
- SPEC-013 also reports results (lots.csv, stability.csv) whose unit cannot be converted to their
  test's unit (:mod:`cmcflex.dossier.units`): the loader has left them out of every statistic and
  judgement, and this finding names their rows. A criterion in an incompatible unit is a load error.
  Lot results in the unit of the limit of the previous version their lot was released under (a
  method whose unit changed) are the record of that release: info (SPEC-009 judges them against
  that limit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from cmcflex.dossier.ids import IdIndex, describe_miss, visible
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.rules.base import MA, Area, Context, Gap, I, NotEvaluated, Outcome, by_phase, rule
from cmcflex.rules.citations import NO_CITATION
from cmcflex.rules.common import (
    lot_references,
    misses_in_words,
    release_limit,
    test_record,
    unresolved_lots,
)
from cmcflex.rules.specifications.records import FILE, METHODS, _refs
from cmcflex.rules.specifications.wording import _label, _listing
from cmcflex.views import DossierViews

# ---------------------------------------------------------------------------- SPEC-013


@rule(
    id="SPEC-013",
    slug="references-resolve",
    title="Tests, lots and sites refer to records that exist",
    area=Area.SPEC,
    severity=by_phase(MA, MA, MA, MA, MA),
    cites=(NO_CITATION,),
    remedy="Correct the id to one that exists (the finding suggests the closest), or add the missing "
    "record: the method to methods.yaml, the site to dossier.yaml, the test to the specification.",
    why="A reference that points nowhere silently drops data from every check that follows it: an "
    "attribute outside the specification is never judged, an unknown method is never assessed.",
    grading="An id that points nowhere takes the rule's grade; a test that names no method is info "
    "(not shown), and so are lot results in the unit of the previous specification version their lot was "
    "released under, results by another method than the test's in a unit of their own (a replaced "
    "assay), and lot or stability results of an attribute no specification covers unless it is a slip "
    "of one that does (one edit away, or but for case).",
    ctd=("3.2.S.4.1", "3.2.S.4.4", "3.2.P.5.1", "3.2.P.5.4"),
)
def references_resolve(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    method_ids = [m.id for m in d.methods.methods] if d.methods is not None else []
    if d.methods is None and any(r.test.method for r in _refs(ctx.views)):
        yield NotEvaluated(f"{METHODS} is missing, so method ids cannot be resolved")
    for ref in _refs(ctx.views):
        mid = ref.test.method
        if mid is None:
            yield Gap(f"Test {_label(ref)} names no method, so which method tests it is not shown.", ref.at,
                      record=ref.record, data={"method": None}, severity=I,
                      remedy=f"Name the method of {_label(ref)} (`method`: an id in {METHODS}).")
        elif d.methods is not None and mid not in method_ids:
            yield Gap(f"Test {_label(ref)} names method '{visible(mid)}', which {METHODS} does not list"
                      f"{_did_you_mean(mid, method_ids)}.", ref.at, record=ref.record,
                      data={"method": mid, "suggestion": _closest(mid, method_ids)})
    yield from _unit_exclusions(d, ctx)
    yield from _stability_attributes(d, ctx.views)
    yield from _stability_methods(d, method_ids)
    if d.lots is None:
        return
    yield from _lot_references(d, ctx.views, method_ids)


UNIT_ROWS_LISTED = 10  # lines named in a unit finding's message (the data lists them all, up to 200)


def _unit_exclusions(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    """Results in a unit that cannot be converted to their test's unit: once per test and file kind
    (lots, stability), with their units and rows. The loader has already left them out of every
    statistic and judgement. Lot results in the unit of the limit of the previous specification
    version their lot was released under (a method whose unit changed) are the record of that
    release, not a wrong unit: info."""
    index = ctx.views.spec_index
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for ex in d.unit_exclusions:
        groups.setdefault((ex.source, ex.material, ex.attribute), []).append(ex)
    versions = ctx.views.release_versions(ctx.current) if any(s == "lots" for s, _, _ in groups) else {}
    for (source, material, attribute), found in sorted(groups.items()):
        ref = index.get((material, attribute))
        rows = sorted((r, ex.unit, ex.methods[k] if k < len(ex.methods) else None)
                      for ex in found for k, r in enumerate(ex.rows))
        released_in: dict[tuple[str, str], list[tuple[tuple[str, int, str], str]]] = {}
        by_method: dict[str, list[tuple[tuple[str, int, str], str]]] = {}
        wrong = []
        test_method = ref.test.method if ref is not None else None
        for where, unit, method in rows:
            row = (where, unit)
            under = release_limit(versions.get(where[2]), ref, unit) if source == "lots" else None
            if under is not None:
                released_in.setdefault((under[0], under[1].describe()), []).append(row)
            elif method and test_method and method != test_method:
                by_method.setdefault(method, []).append(row)  # a replaced assay's result, in its own unit
            else:
                wrong.append(row)
        record = ref.record if ref else test_record(material, attribute)
        bridging = ("Where the unit changed with the method, the bridging of the two methods belongs with the "
                    "method's validation (methods.yaml).")
        for method, kept in sorted(by_method.items()):
            yield _record_of_its_own(
                source, f"{material}/{attribute}", kept,
                f" by method {method}, not the test's method {test_method}: results of that method in its own "
                "unit, left out of today's statistics and judgements",
                f"{record} (method {method})", f"None needed for another method's results. {bridging}",
                {"method": method, "test_method": test_method})
        for (version, limit), kept in sorted(released_in.items()):
            many = len(kept) != 1
            yield _record_of_its_own(
                source, f"{material}/{attribute}", kept,
                f", the unit of the limit '{limit}' of specification version {version}, under which "
                f"{'their lots were' if many else 'its lot was'} released; {'they are' if many else 'it is'} the "
                "record of that release, left out of today's statistics and judged against that limit (SPEC-009)",
                f"{record} (version {version})", f"None needed for the release record. {bridging}",
                {"version": version, "limit": limit})
        if not wrong:
            continue
        n, where, written = _rows_text(wrong)
        units = _unit_counts(wrong)
        first = found[0]
        unit_words = (f"the test's unit '{first.test_unit}'" if first.declared else
                      f"'{first.test_unit}', the unit of the first result (no specification test states one)")
        yield Gap(f"{n} result{'s' if n != 1 else ''} of {material}/{attribute} ({where}) {'are' if n != 1 else 'is'}"
                  f" in {written}, which cannot be converted to {unit_words}; "
                  f"{'they are' if n != 1 else 'it is'} left out of every statistic and judgement.",
                  Location(wrong[0][0][0], wrong[0][0][1]), record=record,
                  remedy=UNIT_REMEDY,
                  data={"source": source, "unit": wrong[0][1], "units": dict(list(units.items())[:50]),
                        "test_unit": first.test_unit, "test_unit_declared": first.declared, "results": n,
                        "rows": [{"file": f, "line": line, "lot": lot, "unit": u}
                                 for (f, line, lot), u in wrong[:200]]})


def _record_of_its_own(source: str, label: str, kept: list[tuple[tuple[str, int, str], str]],
                       said: str, record: str, remedy: str, extra: dict[str, Any]) -> Gap:
    """SPEC-013's info note on results in a unit of their own that are another record's (a previous
    version's release, a replaced method's): ``said`` says whose, after the unit."""
    n, where, written = _rows_text(kept)
    return Gap(f"{n} result{'s' if n != 1 else ''} of {label} ({where}) {'are' if n != 1 else 'is'} in "
               f"{written}{said}.", Location(kept[0][0][0], kept[0][0][1]), record=record, severity=I,
               remedy=remedy,
               data={"source": source, **extra, "results": n,
                     "rows": [{"file": f, "line": line, "lot": lot, "unit": u} for (f, line, lot), u in kept[:200]]})


def _unit_counts(rows: list[tuple[tuple[str, int, str], str]]) -> dict[str, int]:
    units: dict[str, int] = {}
    for _, u in rows:
        units[u] = units.get(u, 0) + 1
    return units


def _rows_text(rows: list[tuple[tuple[str, int, str], str]]) -> tuple[int, str, str]:
    """How many rows, where they are (the lines in the first file, and the other files), and their units."""
    units = _unit_counts(rows)
    file = rows[0][0][0]
    lines = [str(r[1]) for r, _ in rows if r[0] == file]
    n = len(rows)
    shown = ", ".join(lines[:UNIT_ROWS_LISTED]) + (f" and {n - UNIT_ROWS_LISTED} more"
                                                    if n > UNIT_ROWS_LISTED else "")
    other_files = sorted({r[0] for r, _ in rows} - {file})
    where = f"{file} line{'s' if n > 1 else ''} {shown}" + (
        f" (and in {', '.join(other_files)})" if other_files else "")
    written = _listing([f"'{u}'" + (f" ({c})" if len(units) > 1 else "") for u, c in units.items()])
    return n, where, written


UNIT_REMEDY = ("Report the results in the test's unit or in one convertible to it (cmcflex converts "
               "prefixes and multipliers such as ng/mL to pg/mL or x10^6 cells to cells), or correct the unit "
               "written; a number in another unit would be judged against the wrong limit.")


def _closest(word: str, choices: Iterable[str]) -> str | None:
    """The id ``word`` was meant to be: equal but for case, spaces or invisible characters, else
    one edit away, else the closest spelling (see :class:`cmcflex.dossier.ids.IdIndex`)."""
    return IdIndex(choices).suggest([word])[word]


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    best = _closest(word, choices)
    return f" (did you mean '{visible(best)}'?)" if best else ""


def _lot_references(d: Dossier, views: DossierViews, method_ids: list[str]) -> Iterator[Outcome]:
    table = d.lots
    assert table is not None
    index = views.spec_index
    if d.specifications is None:
        yield NotEvaluated(f"{FILE} is missing, so lots.csv attributes cannot be matched to tests")
    else:
        spec_materials = sorted({m for m, _ in index})
        unknown_material: dict[str, list[tuple[str, int, str]]] = {}
        for material, attribute, results, (file, line) in table.tested():
            if (material, attribute) in index:
                continue
            if material not in spec_materials:
                unknown_material.setdefault(material, []).append((file, line, attribute))
                continue
            attrs = sorted(a for m, a in index if m == material)
            typo = IdIndex(attrs).typo_of(attribute) if attrs else None
            data = {"material": material, "attribute": attribute, "suggestion": typo or _closest(attribute, attrs),
                    "results": results}
            if typo is not None:  # a slip of a test's attribute: its results are never judged
                yield Gap(f"{d.lots_file} has results for {material}/{attribute}, which no {material} specification "
                          f"test covers (did you mean '{visible(typo)}'?).", Location(file, line),
                          record=test_record(material, attribute), data=data)
                continue
            yield Gap(f"{d.lots_file} has results for {material}/{attribute}, which no {material} specification "
                      f"test covers{_did_you_mean(attribute, attrs)}: characterisation results, reported with the "
                      "batch analyses, are judged by no limit.", Location(file, line),
                      record=test_record(material, attribute), data=data, severity=I,
                      remedy=(f"Nothing to do for characterisation results; if {attribute} is a release test, "
                              f"add it to the {material} specification, or write it as the specification names it."))
        for material in sorted(unknown_material):
            rows = sorted(unknown_material[material], key=lambda r: (r[0], r[1]))
            file, line, _ = rows[0]
            yield Gap(f"{d.lots_file} has results for material '{material}', which no specification covers"
                      f"{_did_you_mean(material, spec_materials)}.", Location(file, line),
                      record=f"material {material}",
                      data={"material": material, "attributes": sorted(r[2] for r in rows),
                            "suggestion": _closest(material, spec_materials)})
    site_ids = [s.id for s in d.info.sites]
    sites = table.lot_column("site")
    for site in sorted({x for x in sites if x} - set(site_ids)):
        li = sites.index(site)  # the first lot naming it
        yield Gap(f"{d.lots_file} names site '{visible(site)}', which dossier.yaml does not list"
                  f"{_did_you_mean(site, site_ids)}.", Location(*table.lot_location(li)),
                  record=f"site {site}", data={"site": site, "suggestion": _closest(site, site_ids)})
    if d.methods is not None:
        first = table.methods_not_in(set(method_ids))
        for name in sorted(first):
            yield Gap(f"{d.lots_file} names method '{visible(name)}', which {METHODS} does not list"
                      f"{_did_you_mean(name, method_ids)}.", Location(*first[name]), record=f"method {name}",
                      data={"method": name, "suggestion": _closest(name, method_ids)})
    for ref in lot_references(d):
        misses = unresolved_lots(views, ref.ids)
        if not misses:
            continue
        item = ref.ids.index(next(iter(misses)))
        yield Gap(f"{ref.what} names lot{'s' if len(misses) > 1 else ''} {misses_in_words(misses)}, absent "
                  f"from {d.lots_file}; lot ids must match {d.lots_file} exactly (case, spaces and invisible characters "
                  "included), or the lot is left out of every check that uses the list.",
                  d.where(ref.file, *ref.path, item), record=ref.record,
                  remedy=f"Write each lot id exactly as {d.lots_file} has it (the finding names the closest lot "
                  f"id), or add the lot's results to {d.lots_file}.",
                  data={"file": ref.file, "field": ".".join(str(p) for p in ref.path),
                        "missing_lots": list(misses), "suggestions": misses})
    yield from _stability_near_misses(d, views)


def _stability_methods(d: Dossier, method_ids: list[str]) -> Iterator[Outcome]:
    """stability.csv method ids methods.yaml does not list, once each at its first row."""
    if not d.stability or d.methods is None:
        return
    first: dict[str, tuple[str, int]] = {}
    for point in d.stability:
        if point.method and point.method not in method_ids:
            first.setdefault(point.method, (point.file, point.line))
    for name, where in first.items():
        yield Gap(f"{d.stability_file} names method '{visible(name)}', which {METHODS} does not list"
                  f"{_did_you_mean(name, method_ids)}.", Location(*where), record=f"method {name}",
                  data={"method": name, "suggestion": _closest(name, method_ids)})


def _stability_attributes(d: Dossier, views: DossierViews) -> Iterator[Outcome]:
    """stability.csv attributes no specification test covers: no stability rule judges their
    results. A slip of a test's attribute (one edit away, or but for case) drops data silently
    and takes the rule's grade; another attribute may be stability-only, and is info."""
    if not d.stability or d.specifications is None:
        return
    index = views.spec_index
    first: dict[tuple[str, str], tuple[str, int]] = {}
    for point in d.stability:
        if (point.material, point.attribute) not in index:
            first.setdefault((point.material, point.attribute), (point.file, point.line))
    for (material, attribute), where in first.items():
        attrs = sorted(a for m, a in index if m == material)
        typo = IdIndex(attrs).typo_of(attribute) if attrs else None
        covered = f"no {material} specification test covers" if attrs else "no specification covers"
        data = {"material": material, "attribute": attribute, "suggestion": typo or _closest(attribute, attrs)}
        if typo is not None:
            yield Gap(f"{d.stability_file} has results for {material}/{attribute}, which {covered} (did you mean "
                      f"'{visible(typo)}'?), so no stability rule judges them.", Location(*where),
                      record=test_record(material, attribute), data=data,
                      remedy=f"Write the attribute in {d.stability_file} exactly as the specification names it.")
            continue
        yield Gap(f"{d.stability_file} has results for {material}/{attribute}, which {covered}"
                  f"{_did_you_mean(attribute, attrs)}, so no rule judges them against a limit.", Location(*where),
                  record=test_record(material, attribute), data=data, severity=I,
                  remedy=(f"Nothing to do for a stability-only attribute; if it is a specification test, write "
                          f"it in {d.stability_file} as the specification names it, or add the test."))


def _stability_near_misses(d: Dossier, views: DossierViews) -> Iterator[Outcome]:
    """stability.csv lot ids that lots.csv holds only in another case or with other invisible
    characters: the stability rules would not find the lot's process. (A stability lot absent from
    lots.csv altogether may be a stability-only lot, and is not reported.)"""
    table = d.lots
    if table is None or not d.stability:
        return
    first: dict[str, tuple[str, int]] = {}
    for point in d.stability:
        if point.lot_id not in table.index:
            first.setdefault(point.lot_id, (point.file, point.line))
    if not first:
        return  # every stability lot is in lots.csv: no need to index the lot ids
    index = views.lot_id_index
    for lot_id, where in first.items():
        meant = index.same_but_spelling(lot_id)
        if meant is None:
            continue
        yield Gap(f"{d.stability_file} names lot {describe_miss(lot_id, meant)}, which {d.lots_file} does not hold as "
                  "written, so the stability rules cannot tell the lot's process.", Location(*where),
                  record=f"lot {visible(lot_id)}",
                  remedy=f"Write the lot id in {d.stability_file} exactly as {d.lots_file} has it.",
                  data={"file": where[0], "lot": lot_id, "suggestion": meant})
