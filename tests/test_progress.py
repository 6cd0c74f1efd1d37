"""Progress on standard error for long runs, only on a terminal; ``--quiet`` keeps the verdict line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import cmcflex.progress
from cmcflex.cli import app
from tests.report.sample import RULES, sample_dossier

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import cmcflex.rules

    monkeypatch.setattr(cmcflex.rules, "REGISTRY", RULES)
    for name in ("CMCFLEX_FAIL_ON", "CMCFLEX_SELECT", "CMCFLEX_IGNORE", "CMCFLEX_SEVERITY",
                 "CMCFLEX_WAIVERS", "CMCFLEX_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b", "c"):
        sample_dossier(tmp_path / "lot" / name)
    return tmp_path


def _terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Standard error as a terminal: progress is drawn into the returned buffer."""
    screen = io.StringIO()
    monkeypatch.setattr(cmcflex.progress, "stderr_console",
                        lambda: Console(file=screen, force_terminal=True, width=80))
    return screen


def check(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["check", *args, "--as-of", "2026-11-25"])


def test_portfolio_shows_progress_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = _terminal(monkeypatch)
    result = check("lot")
    assert result.exit_code == 1
    assert "Checking dossiers" in screen.getvalue() and "3/3" in screen.getvalue()
    assert "Checking dossiers" not in result.stdout  # never in the report stream


def test_no_progress_when_piped_or_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.StringIO()
    monkeypatch.setattr(cmcflex.progress, "stderr_console", lambda: Console(file=piped, force_terminal=False))
    assert check("lot").exit_code == 1
    assert piped.getvalue() == ""
    screen = _terminal(monkeypatch)
    result = check("lot", "--quiet")
    assert screen.getvalue() == ""
    assert result.stdout == "3 dossiers: 0 pass, 3 fail, 0 not checked · exit 1\n"


def test_large_lots_files_show_a_reading_spinner(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = _terminal(monkeypatch)
    assert check("lot/a").exit_code == 1
    assert screen.getvalue() == ""  # small lot data: nothing to wait for
    monkeypatch.setattr(cmcflex.progress, "LARGE_LOTS_BYTES", 100)
    assert check("lot/a").exit_code == 1
    assert "MiB of lot data" in screen.getvalue()


def test_workbooks_count_as_the_lot_data_they_hold(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    (folder / "lots").mkdir(parents=True)
    (folder / "lots.xlsx").write_bytes(b"x" * 1000)
    (folder / "stability.xlsx").write_bytes(b"x" * 10)
    (folder / "lots" / "more.csv").write_bytes(b"x" * 7)
    (folder / "lots" / "notes.txt").write_bytes(b"x" * 5)
    assert cmcflex.progress.lots_bytes(folder) == 2 * 1010 + 7
    assert cmcflex.progress.lots_bytes(tmp_path / "missing") == 0


def test_quiet_prints_the_verdict_line_only() -> None:
    full = check("lot/a")
    quiet = check("lot/a", "-q")
    assert quiet.exit_code == full.exit_code == 1
    assert quiet.stdout.count("\n") == 1 and len(full.stdout.splitlines()) > 10
    assert quiet.stdout.startswith("FAIL (fails on major and above): 0 blocker · 1 major · 1 minor · 1 info")
    assert quiet.stdout.rstrip().endswith("lot/a")


def test_progress_counts_each_dossier_once(tmp_path: Path) -> None:
    from cmcflex.portfolio import check_portfolio, find_dossiers
    from tests.test_portfolio import OPTIONS

    ticks: list[int] = []
    found = find_dossiers([tmp_path / "lot"])
    for workers in (1, 2):
        ticks.clear()
        check_portfolio(found, OPTIONS, workers=workers, on_done=lambda: ticks.append(1))
        assert len(ticks) == len(found) == 3
