"""JSON Schemas of the dossier's YAML files, generated from the pydantic models.

Editors validate and autocomplete dossier files with them (VS Code's YAML extension, i.e.
yaml-language-server, via a ``# yaml-language-server: $schema=...`` line). Pydantic emits JSON
Schema 2020-12; yaml-language-server is most at home with draft-07, so the schemas are converted:
``$defs`` become ``definitions``, a ``$ref`` with sibling keywords is wrapped in ``allOf`` (draft-07
ignores siblings of ``$ref``), and every property keeps a description. The package ships the
generated files in ``cmcflex/schemas``; a test keeps them equal to what the models generate.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
SCHEMA_SUFFIX = ".schema.json"


def file_kinds() -> dict[str, str]:
    """File kind (``dossier``, ``gmp``, ...) -> YAML file name, in the format's order."""
    from cmcflex.dossier.models import YAML_FILES

    return {name.removesuffix(".yaml"): name for name in YAML_FILES}


def kind_of(name: str) -> str | None:
    """The file kind for ``gmp``, ``gmp.yaml`` or ``gmp.schema.json``; None when unknown."""
    kind = name.removesuffix(SCHEMA_SUFFIX).removesuffix(".yaml").removesuffix(".yml")
    return kind if kind in file_kinds() else None


def schema_filename(kind: str) -> str:
    return f"{kind}{SCHEMA_SUFFIX}"


def build_schema(kind: str) -> dict[str, Any]:
    """The draft-07 JSON Schema of one YAML file kind."""
    from cmcflex.dossier.models import YAML_FILES

    name = file_kinds()[kind]
    model = YAML_FILES[name]
    raw = model.model_json_schema(mode="validation", ref_template="#/definitions/{model}")
    definitions = raw.pop("$defs", {})
    body = _convert(raw, in_properties=False)
    out: dict[str, Any] = {
        "$schema": DRAFT_07,
        "$comment": "Generated from the cmcflex models by `cmcflex schema`; do not edit by hand.",
        "title": f"cmcflex {name}",
    }
    body.pop("title", None)
    out.update(body)
    if definitions:
        out["definitions"] = {k: _definition(v) for k, v in sorted(definitions.items())}
    return out


def render(schema: dict[str, Any]) -> str:
    """Stable text of a schema (the form shipped in the package)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def generate_all() -> dict[str, str]:
    """Schema file name -> text, for every YAML file kind."""
    return {schema_filename(kind): render(build_schema(kind)) for kind in file_kinds()}


def shipped_text(kind: str) -> str:
    """The schema shipped inside the package for ``kind``."""
    return (resources.files("cmcflex") / "schemas" / schema_filename(kind)).read_text(encoding="utf-8")


def write_schemas(folder: Path, kinds: list[str] | None = None) -> list[Path]:
    """Write the schemas of ``kinds`` (default: all) into ``folder``; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in kinds or list(file_kinds()):
        path = folder / schema_filename(kind)
        path.write_text(render(build_schema(kind)), encoding="utf-8", newline="\n")
        written.append(path)
    return written


# ---------------------------------------------------------------------------- conversion


def _definition(node: dict[str, Any]) -> dict[str, Any]:
    out = _convert(node, in_properties=False)
    if "enum" in out and "description" not in out:
        out["description"] = "One of: " + ", ".join(str(v) for v in out["enum"])
    return out


def _convert(node: Any, in_properties: bool) -> Any:
    """Convert one 2020-12 schema node (and its children) to draft-07."""
    if isinstance(node, list):
        return [_convert(item, False) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _property(schema) for name, schema in value.items()}
        elif key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/definitions/")
        else:
            out[key] = _convert(value, False)
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    if isinstance(out.get("anyOf"), list):
        out["anyOf"] = _flatten_any_of(out["anyOf"], out)
    return out


def _flatten_any_of(members: list[Any], parent: dict[str, Any]) -> list[Any]:
    """Splice a nested ``anyOf`` (an optional criterion) into its parent, keeping its help."""
    flat: list[Any] = []
    for member in members:
        if isinstance(member, dict) and "anyOf" in member and set(member) <= {"anyOf", "description", "examples"}:
            for key in ("description", "examples"):
                if key in member:
                    parent.setdefault(key, member[key])
            flat.extend(member["anyOf"])
        else:
            flat.append(member)
    return flat


def _property(schema: dict[str, Any]) -> dict[str, Any]:
    out = _convert(schema, in_properties=True)
    out.pop("title", None)  # derived from the key; the description says more
    if "description" not in out:
        inner = [s for s in out.get("anyOf", []) if isinstance(s, dict) and "description" in s]
        if inner:
            out = {"description": inner[0].pop("description"), **out}
    if "description" in out:
        out = {"description": out.pop("description"), **out}
    return out
