"""Property-based fuzzing: dossiers generated from the models, then mutated.

Whatever the input, cmcflex exits 0, 1 or 2, never shows a traceback, and every load error
names a dossier file. CI runs a bounded profile; run a long session with
``HYPOTHESIS_PROFILE=fuzz pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import tempfile
import typing
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from typer.testing import CliRunner

from cmcflex.cli import app
from cmcflex.dossier.lots import DISPOSITIONS, STARTING_MATERIALS, USES
from cmcflex.dossier.models import YAML_FILES
from tests.dossier.test_values import DATE_TEXT, NUMBER_TEXT

runner = CliRunner()
FILES = tuple(YAML_FILES) + ("lots.csv", "stability.csv")
PROBLEM_LINE = re.compile(rf"^({'|'.join(map(re.escape, FILES))}):\d+:\d+: ")
CRITERIA = [">= 70", "≥ 70 %", "<= 5.0 EU/mL", "< 0.5", "NMT 5", "NLT 1.0E8", "1.0E12 - 5.0E12 vg/mL",
            "70 - 130 % of reference", "Report result", "Conforms", "No growth", "Negative",
            "Not detected", {"min": 70, "max": None, "unit": "%"}]
WORDS = ["drug_product", "drug_substance", "SITE-A", "SITE-B", "M-POT", "M-STER", "L-001", "L-002",
         "potency", "viability", "sterility", "v1", "v2"]
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=20), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _strategy(annotation: Any, name: str) -> st.SearchStrategy[Any]:
    """A strategy producing YAML-ready data for one model field."""
    if name in ("criterion", "shelf_life_criterion"):
        return st.sampled_from(CRITERIA)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _strategy(args[0], name)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return st.one_of([_strategy(a, name) for a in args])
    if origin is list:
        return st.lists(_strategy(args[0], name), max_size=3)
    if origin is typing.Literal:
        return st.sampled_from(list(args))
    if annotation is type(None):
        return st.none()
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return model_data(annotation)
        if issubclass(annotation, enum.Enum):
            return st.sampled_from([m.value for m in annotation])
        if annotation is bool:
            return st.booleans()
        if annotation is int:
            return st.integers(0, 40)
        if annotation is float:
            return st.floats(0.1, 1e3)
        if annotation is str:
            return st.one_of(st.sampled_from(WORDS), st.text(max_size=12))
        if annotation is dt.date:  # mostly valid; now and then as people mistype them (tests/dossier/test_values.py)
            valid = st.dates(dt.date(2020, 1, 1), dt.date(2027, 12, 31)).map(dt.date.isoformat)
            return st.one_of(valid, valid, valid, DATE_TEXT)
    return st.sampled_from(CRITERIA)


def model_data(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    required, optional = {}, {}
    for field_name, info in model.model_fields.items():
        strategy = _strategy(info.annotation, field_name)
        (required if info.is_required() else optional)[field_name] = strategy
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def mutated(draw: st.DrawFn, data: Any) -> Any:
    """Replace a value, drop a key or add an unknown key somewhere in ``data``."""
    if isinstance(data, dict) and data:
        key = draw(st.sampled_from(sorted(data)))
        op = draw(st.sampled_from(["replace", "drop", "unknown", "descend"]))
        out = dict(data)
        if op == "replace":
            out[key] = draw(JUNK)
        elif op == "drop":
            del out[key]
        elif op == "unknown":
            out[key + "x"] = draw(JUNK)
        else:
            out[key] = draw(mutated(data[key]))
        return out
    if isinstance(data, list) and data:
        i = draw(st.integers(0, len(data) - 1))
        out_list = list(data)
        out_list[i] = draw(mutated(data[i]))
        return out_list
    return draw(JUNK)


lot_row = st.fixed_dictionaries({
    "lot_id": st.sampled_from(["L-001", "L-002", "L-003", ""]),
    "material": st.sampled_from(["drug_product", "drug_substance"]),
    "use": st.sampled_from(list(USES) + ["phase_9"]),
    "process_version": st.sampled_from(["v1", "v2"]),
    "site": st.sampled_from(["SITE-A", "SITE-B"]),
    "manufacture_date": st.one_of(st.sampled_from(["2025-01-01", "2026-02-03"]), DATE_TEXT),
    "starting_material": st.sampled_from(list(STARTING_MATERIALS)),
    "attribute": st.sampled_from(["potency", "viability", "sterility", "endotoxin"]),
    "value": st.one_of(st.sampled_from(["82.4", "<0.50", ">1E13", "No growth", "Growth", "Negative",
                                        "1.2E12", "abc", ""]), st.text(max_size=8), NUMBER_TEXT),
    "unit": st.sampled_from(["%", "EU/mL", ""]),
    "disposition": st.sampled_from(list(DISPOSITIONS)),
})


def _csv(rows: list[dict[str, str]]) -> str:
    header = list(lot_row.mapped_strategies if hasattr(lot_row, "mapped_strategies") else rows[0]) if rows else []
    header = ["lot_id", "material", "use", "process_version", "site", "manufacture_date",
              "starting_material", "attribute", "value", "unit", "disposition"]
    lines = [",".join(header)]
    for r in rows:
        lines.append(",".join('"' + str(r[h]).replace('"', '""') + '"' for h in header))
    return "\n".join(lines) + "\n"


def _assert_well_behaved(folder: Path) -> None:
    result = runner.invoke(app, ["check", str(folder), "--as-of", "2026-11-25", "--format", "json"])
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines
        for line in lines:
            assert PROBLEM_LINE.match(line) or line.startswith("cmcflex:"), line


@st.composite
def dossiers(draw: st.DrawFn) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, model in YAML_FILES.items():
        if name != "dossier.yaml" and not draw(st.booleans()):
            continue
        data = draw(model_data(model))
        if draw(st.integers(0, 3)) == 0:
            data = draw(mutated(data))
        files[name] = yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")
    if draw(st.booleans()):
        files["lots.csv"] = _csv(draw(st.lists(lot_row, max_size=8))).encode("utf-8")
    return files


@given(dossiers())
def test_generated_and_mutated_dossiers(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        _assert_well_behaved(folder)


@given(dossiers(), st.data())
def test_random_bytes_in_a_dossier_file(files: dict[str, bytes], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(files)))
    content = bytearray(files[name])
    for _ in range(data.draw(st.integers(1, 5))):
        if not content:
            break
        i = data.draw(st.integers(0, len(content) - 1))
        content[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        content = content[: data.draw(st.integers(0, len(content)))]
    files = {**files, name: bytes(content)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for fname, blob in files.items():
            (folder / fname).write_bytes(blob)
        _assert_well_behaved(folder)
