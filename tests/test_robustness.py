"""Hostile and broken input: located errors and exit code 2, never a crash or a traceback."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmcflex.cli import app
from cmcflex.dossier.errors import DossierError
from cmcflex.dossier.loader import MAX_YAML_BYTES, load_dossier
from cmcflex.dossier.models import YAML_FILES
from tests.helpers import base_dossier_yaml, lot_rows, write_dossier

BASE = "cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: phase_1\n"
runner = CliRunner()


def _problems(path: Path) -> list:
    with pytest.raises(DossierError) as info:
        load_dossier(path)
    return info.value.problems


def test_every_yaml_test_suite_file_in_place_of_every_dossier_yaml_file(shared_dir, tmp_path):
    """The public YAML test suite (spec-invalid and valid-but-not-a-dossier documents)."""
    corpus = sorted((shared_dir / "corpus" / "yaml-test-suite").glob("*/*.yaml"))
    assert len(corpus) > 300
    checked = 0
    for source in corpus:
        data = source.read_bytes()
        for kind in YAML_FILES:
            folder = tmp_path / f"{source.parent.name}-{source.stem}-{kind}"
            folder.mkdir()
            if kind != "dossier.yaml":
                (folder / "dossier.yaml").write_text(BASE)
            (folder / kind).write_bytes(data)
            problems = _problems(folder)
            assert problems, (source, kind)
            assert all(p.file == kind and p.message for p in problems), (source, kind, problems)
            checked += 1
    assert checked == len(corpus) * len(YAML_FILES)


def test_corpus_through_the_command_line_exits_2_without_traceback(shared_dir, tmp_path):
    corpus = sorted((shared_dir / "corpus" / "yaml-test-suite").glob("*/*.yaml"))[::25]
    for source in corpus:
        folder = tmp_path / source.stem
        folder.mkdir()
        (folder / "dossier.yaml").write_bytes(source.read_bytes())
        result = runner.invoke(app, ["check", str(folder)])
        assert result.exit_code == 2, (source, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
        assert "dossier.yaml:" in result.output


HOSTILE = {
    "billion laughs": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi")),
    "python object tag": "quality_unit: !!python/object/apply:os.system ['echo pwned']\n",
    "python name tag": "quality_unit: !!python/name:os.system\n",
    "custom tag": "quality_unit: !include /etc/passwd\n",
    "deep nesting": "quality_unit: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "deep mapping nesting": "quality_unit: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n",
    "duplicate keys": "quality_unit: {independent: true}\ncontrols: {}\nquality_unit: {}\n",
    "merge key": "base: &b {independent: true}\nquality_unit: {<<: *b}\n",
    "two documents": "quality_unit: {}\n---\nquality_unit: {}\n",
    "recursive alias": "quality_unit: &a [*a]\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_yaml_is_a_fast_located_error(name, dossier_dir):
    path = dossier_dir({"gmp.yaml": HOSTILE[name]})
    start = time.perf_counter()
    problems = _problems(path)
    assert time.perf_counter() - start < 2.0
    assert problems and all(p.file == "gmp.yaml" and p.line >= 1 for p in problems)


def test_non_utf8_and_binary_files(dossier_dir):
    path = dossier_dir({"gmp.yaml": None})
    (path / "gmp.yaml").write_bytes(b"quality_unit:\n  independent: tru\xe9\n")
    (problem,) = _problems(path)
    assert (problem.file, problem.line, problem.col) == ("gmp.yaml", 2, 19)
    assert "not UTF-8 text: byte 0xe9 at offset 32" in problem.message
    (path / "gmp.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (problem,) = _problems(path)
    assert "binary file" in problem.message


def test_oversized_yaml_is_refused_before_parsing(dossier_dir):
    path = dossier_dir()
    with (path / "gmp.yaml").open("w") as handle:
        handle.write("# " + "x" * (MAX_YAML_BYTES + 10) + "\n")
    (problem,) = _problems(path)
    assert "limited to 5 MiB" in problem.message


def test_csv_problems_are_located(dossier_dir):
    good = "lot_id,material,use,attribute,value\n"
    cases = {
        "ragged": (good + "L1,drug_product,phase_1,viability\n", 2, "row has 4 fields"),
        "missing column": ("lot_id,material,attribute,value\nL1,dp,viability,8\n", 1, "required column 'use'"),
        "bad number": (good + "L1,drug_product,phase_1,viability,8O.5\n", 2, "cannot read result '8O.5'"),
        "empty": ("", 1, "empty file"),
        "huge field": (good + 'L1,drug_product,phase_1,viability,"' + "9" * 200_000 + '"\n', 2, "CSV"),
    }
    for name, (text, line, message) in cases.items():
        path = dossier_dir({"lots.csv": text})
        problems = _problems(path)
        assert problems[0].file == "lots.csv", name
        assert problems[0].line == line, (name, problems)
        assert message in problems[0].message, (name, problems)


def test_csv_non_utf8(dossier_dir):
    path = dossier_dir()
    (path / "lots.csv").write_bytes(b"lot_id,material,use,attribute,value\nL1,dp,phase_1,v\xe9,1\n")
    (problem,) = _problems(path)
    assert (problem.file, problem.line, problem.col) == ("lots.csv", 2, 16)
    assert "byte 0xe9 at offset 51" in problem.message


@pytest.mark.parametrize("name", ["lots.csv", "stability.csv"])
def test_a_bad_byte_deep_in_a_large_csv_is_located_exactly(dossier_dir, name):
    """The reader decodes blocks ahead of the rows it reads; the bad byte is still named by its own line."""
    path = dossier_dir()
    header = ("lot_id,material,use,attribute,value" if name == "lots.csv"
              else "lot_id,material,condition,time,time_unit,attribute,value")
    row = ("L{k},drug_product,phase_2,viabilit\u00e9,85.{k}" if name == "lots.csv"
           else "L{k},drug_product,long_term,{k},months,viabilit\u00e9,85")
    lines = [header] + [row.format(k=k) for k in range(40_000)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    at = data.index(b"L31234,")
    bad = data[:at] + b"L31234,drug_product\xff" + data[at + len("L31234,drug_product"):]
    (path / name).write_bytes(bad)
    problems = [p for p in _problems(path) if "UTF-8" in p.message]
    assert [(p.file, p.line, p.col) for p in problems] == [(name, 31236, 20)]
    assert f"byte 0xff at offset {at + len('L31234,drug_product')}" in problems[0].message


def test_excel_style_export_is_accepted(dossier_dir):
    path = dossier_dir()
    text = "\ufefflot_id;material;use;attribute;value\r\nL1;drug_product;phase_1;viability;82,5\r\n"
    (path / "lots.csv").write_bytes(text.encode("utf-8"))
    d = load_dossier(path)
    assert d.lots.numeric_values("drug_product", "viability") == [("L1", 82.5)]


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root reads files whatever their mode")
def test_unreadable_file(dossier_dir):  # pragma: no cover - not run as root
    path = dossier_dir({"gmp.yaml": "quality_unit: {}\n"})
    (path / "gmp.yaml").chmod(0)
    (problem,) = _problems(path)
    assert "cannot read file" in problem.message


def test_dossier_path_that_is_missing_or_a_file(tmp_path):
    for target in (tmp_path / "missing", tmp_path / "file.yaml"):
        if target.name == "file.yaml":
            target.write_text(BASE)
        result = runner.invoke(app, ["check", str(target)])
        assert result.exit_code == 2
        assert str(target) in result.output


def test_links_outside_the_dossier_are_refused_unless_followed(dossier_dir, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("lot_id,material,use,attribute,value\nL1,drug_product,phase_1,viability,80\n")
    path = dossier_dir()
    os.symlink(secret, path / "lots.csv")
    result = runner.invoke(app, ["check", str(path), "--as-of", "2026-11-25"])
    assert result.exit_code == 2 and "lots.csv" in result.output and "outside the dossier" in result.output
    result = runner.invoke(app, ["check", str(path), "--follow-links", "--as-of", "2026-11-25"])
    assert result.exit_code in (0, 1)


def test_check_never_writes_into_the_dossier(dossier_dir, tmp_path):
    path = dossier_dir({"lots.csv": lot_rows("L1", "phase_2", {"viability": "80"})})
    before = sorted((p.name, p.stat().st_mtime_ns) for p in path.rglob("*"))
    result = runner.invoke(app, ["check", str(path), "--output", f"json:{path / 'report.json'}"])
    assert result.exit_code == 2 and "inside the dossier folder" in result.output
    out = tmp_path / "out" / "report.json"
    result = runner.invoke(app, ["check", str(path), "--output", f"json:{out}", "--as-of", "2026-11-25"])
    assert result.exit_code in (0, 1) and out.is_file()
    assert sorted((p.name, p.stat().st_mtime_ns) for p in path.rglob("*")) == before


def test_output_is_written_atomically(dossier_dir, tmp_path, monkeypatch):
    """A renderer that fails leaves no half-written report and no temporary file behind."""
    import cmcflex.report.formats as formats

    path = dossier_dir()
    out = tmp_path / "reports" / "r.json"
    out.parent.mkdir()
    out.write_text("previous report\n")

    def broken(_report):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(formats, "renderer", lambda name: broken)
    result = runner.invoke(app, ["check", str(path), "--output", f"json:{out}"])
    assert result.exit_code != 0
    assert out.read_text() == "previous report\n"
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]


def test_internal_error_is_exit_2_with_one_line(dossier_dir, monkeypatch, capsys):
    """An unexpected exception is reported as an internal error, not as 'gaps found'."""
    import cmcflex.api as api
    from cmcflex import cli

    path = dossier_dir()

    def explode(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(api, "build_report", explode)
    monkeypatch.setattr(sys, "argv", ["cmcflex", "check", str(path)])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "internal error" in err and "ZeroDivisionError: boom" in err
    assert "Traceback" not in err
    monkeypatch.setattr(sys, "argv", ["cmcflex", "check", str(path), "--debug"])
    with pytest.raises(ZeroDivisionError):
        cli.main()


def test_console_output_cannot_be_broken_by_dossier_text(dossier_dir):
    nasty = "ABC\x1b[31m[bold red]FAKE[/bold red]\u202e\x07"
    path = dossier_dir(product={"name": nasty, "modality": "aav"})
    result = runner.invoke(app, ["check", str(path), "--as-of", "2026-11-25"])
    assert result.exit_code in (0, 1)
    assert "\x1b[31m" not in result.output and "\x07" not in result.output and "\u202e" not in result.output
    assert "[bold red]FAKE[/bold red]" in result.output  # shown as text, not applied as markup


def test_write_dossier_helper_builds_valid_dossiers(tmp_path):
    path = write_dossier(tmp_path / "d", {"dossier.yaml": base_dossier_yaml()})
    assert load_dossier(path).info.product.name == "TEST-1"


def test_plan_output_cannot_be_broken_by_dossier_text(dossier_dir):
    nasty = "ABC\x1b[31m[bold red]FAKE[/bold red]\u202e\x07"
    path = dossier_dir(product={"name": nasty, "modality": "aav"})
    result = runner.invoke(app, ["plan", str(path), "--as-of", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert "\x1b[31m" not in result.output and "\x07" not in result.output and "\u202e" not in result.output
    assert "[bold red]FAKE[/bold red]" in result.output


def test_load_errors_cannot_carry_terminal_escapes(dossier_dir):
    """A key or lot id with control characters is shown without them in the located error
    (click strips ANSI sequences only when not writing to a terminal, so this checks the text)."""
    path = dossier_dir({"gmp.yaml": 'quality_unit: {"indep\\e[2Jendent": true}\n',
                        "lots.csv": "lot_id,material,use,process_version,attribute,value\n"
                                    "L\x1b[31m1\u202e\x07,drug_product,phase_2,v1,viability,80\n"
                                    "L\x1b[31m1\u202e\x07,drug_product,phase_2,v2,potency,80\n"})
    problems = [str(p) for p in _problems(path)]
    assert any(p.startswith("gmp.yaml:1:") and "unknown key" in p for p in problems)
    assert any(p.startswith("lots.csv:2:1: lot_id:") and "'L<U+001B>[31m1<U+202E><U+0007>' (2 rows" in p
               for p in problems)
    for text in problems:
        assert not any(ch in text for ch in "\x1b\x07\u202e"), text
