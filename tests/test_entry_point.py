"""The console entry point end to end, in a process of its own: exit code, report, files written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dossiers"


def test_a_check_in_its_own_process_exits_with_its_code_and_writes_everything(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "cmcflex", "check", str(SAMPLES / "cart-ppq-unjustified"), "--as-of", "2026-11-25",
         "-o", f"json:{report}"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    assert "PPQ-002" in done.stdout and done.stdout.split()[-2:] == ["rules", "run"]  # the summary came last
    findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
    assert {"PPQ-002", "PPQ-005"} <= {f["rule"] for f in findings}


def test_a_bad_dossier_in_its_own_process_exits_2_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "dossier.yaml").write_text("product: [unclosed\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cmcflex", "check", "d"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 2
    assert "dossier.yaml:" in done.stderr and "Traceback" not in done.stderr


def test_the_program_tunes_the_garbage_collector_before_the_command_line_starts(monkeypatch) -> None:
    import gc

    import cmcflex.__main__ as program
    import cmcflex.cli

    seen: list[tuple[int, ...]] = []
    monkeypatch.setattr(cmcflex.cli, "main", lambda: seen.append(gc.get_threshold()))
    before = gc.get_threshold()
    try:
        program.main()
    finally:
        gc.set_threshold(*before)
    assert seen == [program.GC_THRESHOLDS]
    assert program.GC_THRESHOLDS[0] > before[0]


def test_the_program_spares_pydantic_the_plugin_search_unless_the_user_asks(monkeypatch) -> None:
    import cmcflex.__main__ as program
    import cmcflex.cli

    seen: list[str | None] = []
    monkeypatch.setattr(cmcflex.cli, "main", lambda: seen.append(os.environ.get("PYDANTIC_DISABLE_PLUGINS")))
    import gc

    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "-")  # records the variable's state, restored afterwards
    monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS")
    thresholds = gc.get_threshold()
    try:
        program.main()
        monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "")  # the user's choice: every plugin
        program.main()
    finally:
        gc.set_threshold(*thresholds)
    assert seen == ["__all__", ""]


def test_the_console_script_is_the_program_entry() -> None:
    import tomllib

    project = tomllib.loads((SAMPLES.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"]["cmcflex"] == "cmcflex.__main__:main"


def test_the_program_freezes_what_is_alive_when_a_command_ends(monkeypatch) -> None:
    """The interpreter's last collections need not walk the models and lot columns a run leaves."""
    import gc

    import pytest

    import cmcflex.cli

    frozen: list[bool] = []
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "__all__")
    monkeypatch.setattr(cmcflex.cli, "_catch_signals", lambda: None)
    monkeypatch.setattr(cmcflex.cli, "app", lambda: sys.exit(1))
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    with pytest.raises(SystemExit) as exit_:
        cmcflex.cli.main()
    assert exit_.value.code == 1 and frozen == [True]


def test_loading_the_command_line_builds_no_dossier_model() -> None:
    """Each model's validator is built when a file of its kind is first read, not at import."""
    code = ("import cmcflex.cli, cmcflex.dossier.models as m\n"
            "built = sorted(n for n, c in vars(m).items() if isinstance(c, type) and issubclass(c, m.Record)"
            " and c.__pydantic_complete__)\n"
            "print(len([c for c in vars(m).values() if isinstance(c, type) and issubclass(c, m.Record)]), built)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=SAMPLES.parent)
    count, built = done.stdout.split(" ", 1)
    assert done.returncode == 0, done.stderr
    assert int(count) > 20 and built.strip() == "[]"
