"""The leaf vocabulary: ordered enums, the lot vocabularies, and imports that run one way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cmcflex.dossier.lots import DISPOSITIONS, STARTING_MATERIALS, USES
from cmcflex.phases import PHASES, Phase
from cmcflex.vocabulary import Area, Disposition, LotUse, Severity, StartingMaterial

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dossiers"
LOADED = "import sys; print(sorted(m for m in sys.modules if m.startswith('cmcflex')))"


def _modules_after(code: str, cwd: Path) -> list[str]:
    """The cmcflex modules loaded in a fresh interpreter after running ``code``."""
    done = subprocess.run([sys.executable, "-c", f"{code}\n{LOADED}"], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_severities_and_phases_order_as_declared() -> None:
    assert sorted([Severity.BLOCKER, Severity.INFO, Severity.MAJOR, Severity.MINOR]) == list(Severity)
    assert [s.rank for s in Severity] == [0, 1, 2, 3]
    assert Severity.MAJOR >= Severity.MAJOR > Severity.MINOR and Severity.INFO <= Severity.MINOR < Severity.BLOCKER
    assert sorted([Phase.BLA, Phase.PHASE_1, Phase.POST_APPROVAL, Phase.PHASE_3, Phase.PHASE_2]) == list(PHASES)
    assert Phase.BLA > Phase.PHASE_3 and not Phase.BLA < Phase.PHASE_3 and Phase.PHASE_1 <= Phase.PHASE_1


def test_a_severity_and_a_phase_do_not_compare() -> None:
    with pytest.raises(TypeError):
        _ = Severity.BLOCKER < Phase.BLA  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = Phase.BLA >= Severity.INFO  # type: ignore[operator]


def test_phase_keeps_reading_case_variants_and_severity_does_not() -> None:
    assert Phase("BLA") is Phase.BLA and Phase.PHASE_3.label == "phase 3 / pivotal"
    with pytest.raises(ValueError):
        Severity("Major")


def test_lot_vocabularies_are_the_enums_values_in_order() -> None:
    assert USES == ("development", "engineering", "phase_1", "phase_2", "phase_3", "ppq", "commercial")
    assert USES == tuple(u.value for u in LotUse)
    assert DISPOSITIONS == tuple(d.value for d in Disposition)
    assert STARTING_MATERIALS == tuple(s.value for s in StartingMaterial)
    assert LotUse("PPQ") is LotUse.PPQ and Disposition.RELEASED == "released"


def test_areas_keep_their_titles() -> None:
    assert [a.value for a in Area] == ["GMP", "SPEC", "PPQ", "CMP", "STAB", "FLEX"]
    assert Area.STAB.title == "Stability" and Area.FLEX.title == "Use of the CMC flexibilities"


def test_the_report_model_loads_no_rule_module(tmp_path: Path) -> None:
    loaded = _modules_after("import cmcflex.report.model, cmcflex.report.common", tmp_path)
    assert "cmcflex.report.model" in loaded
    assert [m for m in loaded if m.startswith("cmcflex.rules")] == []


def test_a_diff_of_two_json_reports_loads_no_rule_module(tmp_path: Path) -> None:
    for name, as_of in (("old.json", "2026-11-25"), ("new.json", "2026-12-25")):
        done = subprocess.run([sys.executable, "-m", "cmcflex", "check", str(SAMPLES / "cart-phase2"),
                               "--as-of", as_of, "-o", f"json:{name}"],
                              capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
        assert done.returncode in (0, 1), done.stderr
    code = ("from cmcflex.cli import app\n"
            "try:\n    app(['diff', 'old.json', 'new.json', '--format', 'json', '-o', 'diff.json'])\n"
            "except SystemExit as exc:\n    assert exc.code in (0, 1), exc.code")
    loaded = _modules_after(code, tmp_path)
    assert json.loads((tmp_path / "diff.json").read_text(encoding="utf-8"))["counts"]  # the diff ran
    assert "cmcflex.diff" in loaded
    assert [m for m in loaded if m.startswith("cmcflex.rules")] == []


def test_no_report_module_imports_a_rule_module() -> None:
    """The data flow runs load → rules → report → render: the report package reads rule outputs
    and views, never the rules themselves (not even lazily, inside a function)."""
    import re
    from pathlib import Path

    import cmcflex.report

    folder = Path(cmcflex.report.__file__).parent
    offenders = [f"{path.name}:{n}" for path in sorted(folder.glob("*.py"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if re.match(r"\s*(from cmcflex\.rules\b|import cmcflex\.rules\b|from cmcflex import rules\b)", line)]
    assert offenders == []
