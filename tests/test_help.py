"""``--help`` of every command, compared with the snapshots in tests/snapshots/help/.

The pages are laid out by cmcflex.help from the parameters, at a fixed width (COLUMNS=80), so
they do not depend on the terminal or on the typer release. After changing an option on purpose,
update the snapshots and review the difference:

    CMCFLEX_UPDATE_SNAPSHOTS=1 PYTHONPATH=$PWD python -m pytest -q tests/test_help.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmcflex.cli import app

SNAPSHOTS = Path(__file__).parent / "snapshots" / "help"
COMMANDS = ["", "check", "pre-commit", "diff", "rules", "flexibilities", "explain", "init", "schema", "plan"]
runner = CliRunner()


def help_page(command: str) -> str:
    args = [command, "--help"] if command else ["--help"]
    result = runner.invoke(app, args, prog_name="cmcflex", env={"COLUMNS": "80", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_help_matches_its_snapshot(command: str) -> None:
    page = help_page(command)
    snapshot = SNAPSHOTS / f"{command or 'cmcflex'}.txt"
    if os.environ.get("CMCFLEX_UPDATE_SNAPSHOTS"):
        snapshot.write_text(page, encoding="utf-8")
    assert page == snapshot.read_text(encoding="utf-8"), f"update with CMCFLEX_UPDATE_SNAPSHOTS=1 ({__doc__})"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_our_metavars_not_python_types(command: str) -> None:
    page = help_page(command)
    assert not re.search(r"<(bool|str|path|int|list\[[^\]]*\])>|\{\w+\}", page, re.IGNORECASE)
    assert all(len(line) <= 80 for line in page.splitlines())


def test_check_help_names_its_arguments() -> None:
    page = help_page("check")
    assert page.startswith("Usage: cmcflex check [OPTIONS] DOSSIER...\n")
    for shown in ("--phase PHASE", "--fail-on LEVEL", "-o, --output [FORMAT:]FILE", "--sarif-root DIR",
                  "-q, --quiet", "-f, --format FORMAT"):
        assert shown in page


def test_long_choice_lists_wrap_between_words() -> None:
    from cmcflex.cli import ModalityOpt

    words = set(re.findall(r"[a-z_]+", help_page("init")))
    assert {m.value for m in ModalityOpt} <= words  # each modality name whole on its line


def test_rules_table_has_a_legend() -> None:
    result = runner.invoke(app, ["rules"], env={"COLUMNS": "120"})
    assert "B blocker, Ma major, Mi minor, I info, — not applied" in result.stdout
    assert "PA: post-approval" in result.stdout
