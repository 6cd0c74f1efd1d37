"""Regression dossiers: clean records written the way companies write them report nothing above info.

Each folder under tests/dossiers/clean/ is a small dossier a CMC reviewer would call clean for its
phase, written sparsely (optional fields left out, free-text justifications, ids only where the
company has them, spreadsheet-style CSV exports, history across specification versions). The
bundled sample sample_dossiers/edited-hsc-bla/ is written the same way. A finding above info on
any of them is a false gap: the check runs through the command line, as a user would run it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmcflex.cli import app

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "tests" / "dossiers" / "clean"
SAMPLE = ROOT / "sample_dossiers" / "edited-hsc-bla"
AS_OF = "2026-12-01"


def _cases() -> list[object]:
    folders = sorted(p for p in CLEAN.iterdir() if (p / "dossier.yaml").is_file()) + [SAMPLE]
    return [pytest.param(folder, id=folder.name) for folder in folders]


runner = CliRunner()


@pytest.fixture(autouse=True)
def _outside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty folder so no project configuration changes the check."""
    monkeypatch.chdir(tmp_path)


def test_there_are_clean_dossiers_across_phases_and_modalities() -> None:
    import yaml

    seen = {(d["phase"], d["product"]["modality"])
            for d in (yaml.safe_load((p / "dossier.yaml").read_text(encoding="utf-8"))
                      for p in CLEAN.iterdir() if (p / "dossier.yaml").is_file())}
    assert len(seen) >= 6
    assert {"phase_1", "phase_2", "phase_3", "bla", "post_approval"} <= {phase for phase, _ in seen}
    assert {"car_t_autologous", "aav", "allogeneic_cell", "gene_modified_hsc"} <= {m for _, m in seen}


@pytest.mark.parametrize("folder", _cases())
def test_clean_dossier_reports_nothing_above_info(folder: Path) -> None:
    result = runner.invoke(app, ["check", str(folder), "--as-of", AS_OF, "--format", "json"])
    report = json.loads(result.stdout)
    above_info = [f"{f['severity']} {f['rule']} {f.get('record')}: {f['message']}"
                  for f in report["findings"] if f["severity"] != "info"]
    assert above_info == []
    assert report["verdict"] == "pass" and result.exit_code == 0
    text = runner.invoke(app, ["check", str(folder), "--as-of", AS_OF])
    assert text.exit_code == 0 and "Traceback" not in text.stdout
