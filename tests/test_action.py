"""The GitHub Action (action.yml): its inputs reach the check, and its check step, run here with the
environment GitHub gives it, annotates, writes SARIF and the job summary, and exits as check does."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "action-check.sh"


@pytest.fixture(scope="module")
def action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_action_is_composite_with_its_inputs_and_outputs(action: dict) -> None:
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {"dossiers", "fail-on", "target", "sarif-info", "output-dir"}
    assert action["inputs"]["dossiers"]["required"] is True and action["inputs"]["fail-on"]["default"] == "major"
    assert set(action["outputs"]) >= {"exit-code", "sarif", "markdown", "json"}
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.check.outputs.{name} }}}}"
    assert all(step["shell"] == "bash" for step in action["runs"]["steps"])


def test_every_input_reaches_a_step_through_the_environment(action: dict) -> None:
    steps = action["runs"]["steps"]
    env_values = " ".join(v for step in steps for v in step.get("env", {}).values())
    for name in action["inputs"]:
        assert f"${{{{ inputs.{name} }}}}" in env_values, name
    for step in steps:  # inputs never spliced into a script: no input can run code
        assert "inputs." not in step["run"]
    install = steps[0]["run"]
    assert "pip install" in install and "$CMCFLEX_ACTION_PATH" in install
    assert steps[0]["env"]["CMCFLEX_ACTION_PATH"] == "${{ github.action_path }}"
    script = SCRIPT.read_text(encoding="utf-8")
    for step in steps:
        for var in step.get("env", {}):
            assert var in script or var in step["run"], var


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_check_step_run_as_github_runs_it(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(ROOT / "sample_dossiers" / "cart-phase2", work / "dossiers" / "cart")
    shutil.copytree(ROOT / "sample_dossiers" / "aav-bla", work / "dossiers" / "aav")
    fake = tmp_path / "bin" / "cmcflex"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cmcflex "$@"\n', encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    (work / "out.txt").touch()
    (work / "summary.md").touch()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CMCFLEX_BIN": str(fake), "GITHUB_OUTPUT": "out.txt",
           "GITHUB_STEP_SUMMARY": "summary.md", "CMCFLEX_DOSSIERS": "dossiers/cart\n dossiers/aav ",
           "CMCFLEX_FAIL_ON_INPUT": "blocker", "CMCFLEX_AS_OF": "2026-11-25", "CMCFLEX_TARGET": "",
           "CMCFLEX_SARIF_INFO": "false", "CMCFLEX_OUTPUT_DIR": "reports",
           "CMCFLEX_ACTION_REPOSITORY": "acme/cmcflex", "CMCFLEX_ACTION_REF": "v1",
           "CMCFLEX_SERVER_URL": "https://github.com"}
    done = subprocess.run(["bash", str(SCRIPT)], check=False, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # both samples hold blockers
    verdicts = [l for l in done.stdout.splitlines() if "title=cmcflex verdict::" in l]
    assert len(verdicts) == 2 and done.stdout.startswith("::error title=cmcflex verdict::cmcflex FAIL")
    outputs = dict(line.split("=", 1) for line in (work / "out.txt").read_text().splitlines())
    assert outputs == {"exit-code": "1", "sarif": "reports", "markdown": "reports", "json": "reports"}
    assert (work / "summary.md").read_text(encoding="utf-8").count("## cmcflex: ❌ FAIL") == 2
    run = json.loads((work / "reports" / "cart.sarif").read_text(encoding="utf-8"))["runs"][0]
    assert {r["level"] for r in run["results"]} <= {"error", "warning"}  # info left out by default
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uriBaseId"] == "SRCROOT" and location["uri"].startswith("dossiers/cart/")
    assert run["tool"]["driver"]["rules"][0]["helpUri"].startswith("https://github.com/acme/cmcflex/blob/v1/docs/rules.md#")
    passing = subprocess.run(["bash", str(SCRIPT)], check=False, cwd=work, capture_output=True, text=True, timeout=300,
                             env={**env, "CMCFLEX_DOSSIERS": "dossiers/cart", "CMCFLEX_FAIL_ON_INPUT": "blocker",
                                  "CMCFLEX_SELECT": "PPQ-002", "CMCFLEX_SARIF_INFO": "true"})
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert re.search(r"^sarif=reports/cart\.sarif$", (work / "out.txt").read_text(), re.MULTILINE)
    kept = json.loads((work / "reports" / "cart.sarif").read_text(encoding="utf-8"))["runs"][0]
    assert [r["level"] for r in kept["results"]] == ["note"]  # sarif-info: true keeps info as notes
