"""Declarative rule cases: read tests/rules/cases/<RULE-ID>.yaml, build each case's dossier, check it.

The format is described in tests/rules/cases/README.md. A case runs through the public API only
(``load_dossier`` and ``build_report``), so it tests what a user of the library sees.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cmcflex.api import build_report
from cmcflex.dossier.loader import load_dossier
from cmcflex.phases import Phase
from cmcflex.report.model import Finding, Report
from tests.helpers import AS_OF, base_dossier_yaml, lot_rows, write_dossier

CASES_DIR = Path(__file__).resolve().parent / "cases"
_FILE_KEYS = {"rule", "extends", "base", "no_silent_case", "cases"}
_CASE_KEYS = {"name", "phase", "phases", "target", "as_of", "dossier", "silent", "expect", "note"}
_EXPECT_KEYS = {"severity", "message", "record"}


class CaseFormatError(ValueError):
    """A case file that does not follow the format."""


@dataclass(frozen=True)
class Expected:
    """One expected finding: its severity at the case's phase, message substrings, record."""

    severity: str
    message: tuple[str, ...] = ()
    record: str | None = None

    def matches(self, finding: Finding) -> bool:
        return (finding.severity.value == self.severity
                and all(part in finding.message for part in self.message)
                and (self.record is None or finding.record == self.record))

    def __str__(self) -> str:
        record = f" [{self.record}]" if self.record is not None else ""
        return f"{self.severity}{record}: ... {' ... '.join(self.message)} ..."


@dataclass(frozen=True)
class Case:
    """One case at one phase: a pytest item."""

    rule: str
    name: str
    phase: Phase
    files: dict[str, Any]
    target: Phase | None = None
    as_of: dt.date = AS_OF
    expected: tuple[Expected, ...] = field(default=())

    @property
    def silent(self) -> bool:
        return not self.expected

    @property
    def id(self) -> str:
        target = f"->{self.target.value}" if self.target else ""
        return f"{self.name}[{self.phase.value}{target}]"


def deep_merge(base: Any, overlay: Any) -> Any:
    """``overlay`` on ``base``: mappings merge key by key (a null value removes the key), anything
    else is replaced."""
    if not (isinstance(base, dict) and isinstance(overlay, dict)):
        return copy.deepcopy(overlay)
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = deep_merge(merged.get(key), value)
    return merged


def _result(result: Any) -> dict[str, Any]:
    """A compact result: a value, or ``{value, unit, method}`` for the row's own columns."""
    return dict(result) if isinstance(result, dict) else {"value": result}


def _lots_csv(lots: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """lots.csv rows from ``{lot id: {use, results: {attribute: result}, <lot columns>}}``."""
    rows: list[dict[str, Any]] = []
    for lot_id, lot in lots.items():
        if not isinstance(lot, dict) or "use" not in lot:
            raise CaseFormatError(f"{where}: lot {lot_id} needs a use: {lot!r}")
        columns = {k: v for k, v in lot.items() if k not in ("use", "results")}
        for attribute, result in (lot.get("results") or {}).items():
            extra = _result(result)
            row = lot_rows(str(lot_id), str(lot["use"]), {attribute: extra.pop("value", "")}, **columns)[0]
            rows.append({**row, **extra})
    return rows


def _stability_csv(series: dict[str, Any]) -> list[dict[str, Any]]:
    """stability.csv rows from ``{lot id: {times: [..], results: {attribute: result}, condition,
    time_unit}}``: each result at every time point."""
    rows: list[dict[str, Any]] = []
    for lot_id, spec in series.items():
        for time in spec.get("times", []):
            for attribute, result in (spec.get("results") or {}).items():
                rows.append({"lot_id": lot_id, "material": spec.get("material", "drug_product"),
                             "condition": spec.get("condition", "long_term"), "time": time,
                             "time_unit": spec.get("time_unit", "months"), "attribute": attribute,
                             **_result(result)})
    return rows


def _keyed(items: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """``{name: {fields}}`` as the list of records the dossier files hold: ``[{key: name, fields}]``."""
    return [{key: name, **(fields or {})} for name, fields in items.items()]


# Compact keys of a case's dossier: collections keyed by id, so that an overlay changes one record.
def _compact(files: dict[str, Any], where: str) -> dict[str, Any]:
    files = dict(files)
    if "lots" in files:
        files["lots.csv"] = _lots_csv(files.pop("lots"), where)
    if "stability" in files:
        files["stability.csv"] = _stability_csv(files.pop("stability"))
    if "release_tests" in files:  # the drug product specification's tests, by attribute
        spec = {**files.pop("specification", {}), "material": "drug_product",
                "tests": _keyed(files.pop("release_tests"), "attribute")}
        specs = deep_merge({"specifications": []}, files.get("specifications.yaml", {}))
        specs["specifications"] = [spec, *specs["specifications"]]
        files["specifications.yaml"] = specs
    if "methods" in files:
        files["methods.yaml"] = {"methods": _keyed(files.pop("methods"), "id")}
    if "changes" in files:
        files["changes.yaml"] = {"changes": _keyed(files.pop("changes"), "id")}
    return files


def dossier_files(base: dict[str, Any], overlay: dict[str, Any], where: str) -> dict[str, Any]:
    """The files of a case: the shared base dossier.yaml, then the file's ``base``, then the case's
    ``dossier``, merged key by key; then the compact keys become their files."""
    files: dict[str, Any] = deep_merge({"dossier.yaml": base_dossier_yaml()}, base)
    return _compact(deep_merge(files, overlay), where)


def _phases(spec: dict[str, Any], where: str) -> list[Phase]:
    raw = spec.get("phases", spec.get("phase"))
    names = raw if isinstance(raw, list) else [raw]
    try:
        return [Phase(name) for name in names]
    except ValueError:
        raise CaseFormatError(f"{where}: phase(s) must be among {[p.value for p in Phase]}: {raw!r}") from None


def _expected(spec: dict[str, Any], phase: Phase, where: str) -> tuple[Expected, ...]:
    if spec.get("silent") is True:
        if "expect" in spec:
            raise CaseFormatError(f"{where}: a case is either silent or expects findings, not both")
        return ()
    findings = spec.get("expect")
    if not isinstance(findings, list) or not findings:
        raise CaseFormatError(f"{where}: give `silent: true` or a non-empty `expect` list")
    out = []
    for item in findings:
        if not isinstance(item, dict) or "severity" not in item or set(item) - _EXPECT_KEYS:
            raise CaseFormatError(f"{where}: an expected finding has severity, message, record: {item!r}")
        severity = item["severity"]
        if isinstance(severity, dict):  # graded by phase: {phase_1: minor, bla: blocker}
            if phase.value not in severity:
                raise CaseFormatError(f"{where}: no expected severity for {phase.value}")
            severity = severity[phase.value]
        message = item.get("message", ())
        out.append(Expected(str(severity), tuple([message] if isinstance(message, str) else message),
                            item.get("record")))
    return tuple(out)


def load_cases(path: Path) -> list[Case]:
    """Every case of one case file, one per phase it names."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("rule") != path.stem or not isinstance(data.get("cases"), list):
        raise CaseFormatError(f"{path.name}: needs `rule: {path.stem}` and a `cases` list")
    if set(data) - _FILE_KEYS:
        raise CaseFormatError(f"{path.name}: top-level keys are {sorted(_FILE_KEYS)}")
    base = data.get("base") or {}
    if data.get("extends"):  # a base shared by several rules' files, under cases/bases/
        shared = yaml.safe_load((CASES_DIR / "bases" / f"{data['extends']}.yaml").read_text(encoding="utf-8"))
        base = deep_merge(shared, base)
    cases: list[Case] = []
    for spec in data["cases"]:
        where = f"{path.name}: case {spec.get('name')!r}" if isinstance(spec, dict) else path.name
        if not isinstance(spec, dict) or not spec.get("name") or set(spec) - _CASE_KEYS:
            raise CaseFormatError(f"{where}: a case has {sorted(_CASE_KEYS)}")
        files = dossier_files(base, spec.get("dossier") or {}, where)
        target = Phase(spec["target"]) if spec.get("target") else None
        as_of = dt.date.fromisoformat(str(spec["as_of"])) if spec.get("as_of") else AS_OF
        for phase in _phases(spec, where):
            cases.append(Case(path.stem, str(spec["name"]), phase, files, target, as_of,
                              _expected(spec, phase, where)))
    ids = [c.id for c in cases]
    if len(ids) != len(set(ids)):
        raise CaseFormatError(f"{path.name}: case names repeat at a phase: {sorted({i for i in ids if ids.count(i) > 1})}")
    return cases


def case_files() -> list[Path]:
    return sorted(CASES_DIR.glob("*.yaml"))


def no_silent_case(path: Path) -> dict[Phase, str]:
    """The phases at which a rule file declares that no dossier leaves the rule silent, with why
    (e.g. a rule that always writes an info note at phase 1)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    declared = data.get("no_silent_case") or {}
    if not isinstance(declared, dict) or not all(isinstance(v, str) and v.strip() for v in declared.values()):
        raise CaseFormatError(f"{path.name}: no_silent_case maps a phase to the reason")
    return {Phase(phase): reason for phase, reason in declared.items()}


def run_case(case: Case, folder: Path) -> Report:
    """Write the case's dossier, at the case's phase, into ``folder`` and check it through the
    public API."""
    files = deep_merge(case.files, {"dossier.yaml": {"phase": case.phase.value}})
    root = write_dossier(folder, files)
    return build_report(load_dossier(root), target=case.target, as_of=case.as_of)


def _shown(finding: Finding) -> str:
    record = f" [{finding.record}]" if finding.record is not None else ""
    return f"{finding.severity.value}{record}: {finding.message}"


def mismatch(case: Case, report: Report) -> str | None:
    """Why the report does not meet the case, or None when it does.

    A silent case needs the rule evaluated and no finding of it; a firing case needs exactly its
    expected findings of the rule (each matched to its own finding).
    """
    actual = [f for f in report.findings if f.rule == case.rule]
    skipped = [n.reason for n in report.not_evaluated if n.rule == case.rule]
    lines = [f"{case.rule} {case.id}:"]
    if case.silent:
        if not actual and not skipped:
            return None
        lines.append("  expected: silent (evaluated, no finding)")
    else:
        unmatched = list(actual)
        missing = []
        for want in case.expected:
            hit = next((f for f in unmatched if want.matches(f)), None)
            if hit is None:
                missing.append(want)
            else:
                unmatched.remove(hit)
        if not missing and not unmatched:
            return None
        lines.append("  expected:")
        lines += [f"    {want}" for want in case.expected]
        if missing:
            lines.append("  not found:")
            lines += [f"    {want}" for want in missing]
    lines.append("  actual findings:" if actual else "  actual findings: none")
    lines += [f"    {_shown(f)}" for f in actual]
    lines += [f"  not evaluated: {reason}" for reason in skipped]
    return "\n".join(lines)
