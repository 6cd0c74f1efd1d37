"""The console entry point end to end, in a process of its own: exit code, report, files written."""

from __future__ import annotations

import json
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


def test_the_console_script_is_the_program_entry() -> None:
    import tomllib

    project = tomllib.loads((SAMPLES.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"]["cmcflex"] == "cmcflex.__main__:main"
