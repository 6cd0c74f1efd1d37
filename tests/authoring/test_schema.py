"""JSON Schemas: shipped files equal the models' output, draft-07 valid, described, and samples pass."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmcflex.authoring.schema import DRAFT_07, build_schema, file_kinds, generate_all, shipped_text
from cmcflex.dossier import models
from cmcflex.dossier.yaml_source import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(ROOT.glob("sample_dossiers/*/*.yaml"))
KINDS = list(file_kinds())


def _validator(kind: str) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    return jsonschema.Draft7Validator(build_schema(kind), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _properties(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema in a schema, with a readable path."""
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{path}.{name}", prop
        for key, value in node.items():
            yield from _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _properties(item, path)


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_schema_equals_what_the_models_generate(kind):
    assert shipped_text(kind) == generate_all()[f"{kind}.schema.json"], (
        f"cmcflex/schemas/{kind}.schema.json is stale: run `cmcflex schema --output cmcflex/schemas`"
    )


def test_every_yaml_file_kind_has_a_schema():
    assert KINDS == ["dossier", "gmp", "specifications", "methods", "ppq", "changes", "waivers"]
    shipped = {p.name for p in (ROOT / "cmcflex" / "schemas").glob("*.schema.json")}
    assert shipped == {f"{k}.schema.json" for k in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_draft_07_without_2020_12_keywords(kind):
    jsonschema = pytest.importorskip("jsonschema")
    schema = build_schema(kind)
    assert schema["$schema"] == DRAFT_07
    jsonschema.Draft7Validator.check_schema(schema)
    text = json.dumps(schema)
    assert "$defs" not in text and "prefixItems" not in text
    for path, prop in _properties(schema):
        assert not ("$ref" in prop and len(prop) > 1), f"{path}: draft-07 ignores siblings of $ref"


@pytest.mark.parametrize("kind", KINDS)
def test_every_property_has_a_description(kind):
    undocumented = [path for path, prop in _properties(build_schema(kind)) if not prop.get("description")]
    assert undocumented == []


def test_every_vocabulary_is_an_enum():
    enums = {}
    for kind in KINDS:
        for name, node in build_schema(kind).get("definitions", {}).items():
            if "enum" in node:
                enums[name] = node["enum"]
    assert enums["Modality"] == [m.value for m in models.Modality]
    assert enums["Phase"] == ["phase_1", "phase_2", "phase_3", "bla", "post_approval"]
    vocabularies = {n for n, obj in vars(models).items()
                    if isinstance(obj, type) and issubclass(obj, enum.Enum) and obj.__module__ == models.__name__}
    assert vocabularies <= set(enums), f"vocabularies missing from the schemas: {vocabularies - set(enums)}"


def test_criterion_accepts_text_or_range_and_nothing_else():
    validator = _validator("specifications")

    def errors(criterion: Any) -> int:
        doc = {"specifications": [{"material": "drug_product",
                                   "tests": [{"attribute": "viability", "criterion": criterion}]}]}
        return len(list(validator.iter_errors(doc)))

    assert errors(">= 70 %") == 0
    assert errors({"min": 70, "max": None, "unit": "%"}) == 0
    assert errors({"min": 70, "maximum": 90}) > 0
    assert errors(70) > 0


def test_justification_as_text_or_mapping_valid_and_a_number_rejected():
    validator = _validator("specifications")

    def errors(justification: Any) -> int:
        doc = {"specifications": [{"material": "drug_product", "tests": [
            {"attribute": "ph", "criterion": "7.0 - 7.8", "justification": justification}]}]}
        return len(list(validator.iter_errors(doc)))

    assert errors("Range of the pivotal lots") == 0
    assert errors({"basis": "clinical_lots", "text": "Range of the pivotal lots"}) == 0
    assert errors(7) > 0


def test_single_basis_or_list_both_valid_and_unknown_basis_rejected():
    validator = _validator("specifications")

    def errors(basis: Any) -> int:
        doc = {"specifications": [{"material": "drug_product", "tests": [
            {"attribute": "ph", "criterion": "7.0 - 7.8", "justification": {"basis": basis}}]}]}
        return len(list(validator.iter_errors(doc)))

    assert errors("safety") == 0
    assert errors(["safety", "platform"]) == 0
    assert errors("gut_feeling") > 0


def test_schema_rejects_unknown_keys_and_bad_enums_like_the_loader():
    validator = _validator("dossier")
    doc = {"cmcflex": 1, "product": {"name": "X", "modality": "car_t_autologus"}, "phase": "phase_2",
           "sites": [{"id": "S", "gmp_regim": "part_211"}]}
    messages = sorted(e.message for e in validator.iter_errors(doc))
    assert any("car_t_autologus" in m for m in messages)
    assert any("gmp_regim" in m for m in messages)


@pytest.mark.skipif(not SAMPLES, reason="no sample dossiers yet")
@pytest.mark.parametrize("path", SAMPLES, ids=[f"{p.parent.name}/{p.name}" for p in SAMPLES])
def test_sample_dossier_file_validates_against_its_schema(path):
    kind = path.stem
    if kind not in KINDS:
        pytest.skip(f"{path.name} is not a dossier YAML file")
    data, _ = parse_yaml(path.read_text(encoding="utf-8"), path.name)
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in _validator(kind).iter_errors(data or {})]
    assert errors == []


# ---------------------------------------------------------------------------- the command


def test_cli_prints_one_schema_by_kind_or_file_name():
    from typer.testing import CliRunner

    from cmcflex.cli import app

    runner = CliRunner()
    for arg in ("gmp", "gmp.yaml"):
        result = runner.invoke(app, ["schema", arg])
        assert result.exit_code == 0, result.output
        assert result.output == shipped_text("gmp")
    listing = runner.invoke(app, ["schema"])
    assert listing.exit_code == 0 and "specifications.yaml" in listing.output and "--output" in listing.output
    wrong = runner.invoke(app, ["schema", "specification"])
    assert wrong.exit_code == 2 and "did you mean 'specifications'" in wrong.output


def test_cli_writes_every_schema_to_a_folder(tmp_path):
    from typer.testing import CliRunner

    from cmcflex.cli import app

    result = CliRunner().invoke(app, ["schema", "--output", str(tmp_path / "schemas")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert written == sorted(f"{k}.schema.json" for k in KINDS)
    for kind in KINDS:
        assert (tmp_path / "schemas" / f"{kind}.schema.json").read_text() == shipped_text(kind)
