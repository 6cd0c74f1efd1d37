"""Without the ``fast`` extra (pyarrow, NumPy) large lots files are read by the exact reader alone,
with the same findings; the core install needs neither library, nor SciPy."""

from __future__ import annotations

import ast
import datetime as dt
import sys
import tomllib
from pathlib import Path

import pytest

from cmcflex.dossier import loader

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_dossiers"


def _report(sample: str) -> dict[str, object]:
    from cmcflex.api import build_report

    dossier = loader.load_dossier(SAMPLES / sample)
    report = build_report(dossier, phase=None, target=None, as_of=dt.date(2026, 11, 25), path_label=sample)
    return report.model_dump(mode="json")


@pytest.mark.parametrize("missing", ["pyarrow", "numpy"])
@pytest.mark.parametrize("sample", ["aav-bla", "cart-phase2"])
def test_large_lots_files_without_the_fast_extra_give_the_same_report(
    monkeypatch: pytest.MonkeyPatch, sample: str, missing: str
) -> None:
    """Every lots file counts as large; with pyarrow or NumPy missing the exact reader reads it."""
    monkeypatch.setattr(loader, "FAST_MIN_BYTES", 1 << 62)
    expected = _report(sample)
    monkeypatch.setattr(loader, "FAST_MIN_BYTES", 0)
    monkeypatch.delitem(sys.modules, "cmcflex.dossier.lots_arrow", raising=False)
    monkeypatch.setitem(sys.modules, missing, None)  # `import <missing>` raises ImportError
    assert loader._fast_lots_reader(loader.LotTable()) is None
    assert _report(sample) == expected and expected["findings"]


def _imported_roots(path: Path) -> set[str]:
    """Top-level names of every module a source file imports (at any depth of the file)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_arrow_module_imports_the_fast_extra_and_nothing_imports_scipy() -> None:
    heavy = {"scipy", "numpy", "pyarrow"}
    users = {str(p.relative_to(ROOT)): _imported_roots(p) & heavy for p in sorted((ROOT / "cmcflex").rglob("*.py"))}
    assert {p: used for p, used in users.items() if used} == {
        "cmcflex/dossier/lots_arrow.py": {"numpy", "pyarrow"}
    }


def test_core_dependencies_are_the_four_the_checks_need() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(reqs: list[str]) -> set[str]:
        return {r.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("~")[0].strip().lower()
                for r in reqs}

    assert names(project["dependencies"]) == {"typer", "rich", "pydantic", "pyyaml"}
    extras = project["optional-dependencies"]
    assert names(extras["fast"]) == {"pyarrow", "numpy"}
    assert "scipy" in names(extras["test"])
