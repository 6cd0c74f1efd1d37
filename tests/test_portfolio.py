"""Portfolio mode: many dossiers in one invocation, in order, one failure never aborting the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmcflex.api import build_report
from cmcflex.dossier.loader import load_dossier
from cmcflex.portfolio import (
    PortfolioOptions,
    check_dossier,
    check_portfolio,
    combined_exit_code,
    duplicate_names,
    find_dossiers,
    is_portfolio,
    report_files,
    summary_text,
)
from cmcflex.rules import REGISTRY
from cmcflex.rules.base import Severity
from tests.helpers import AS_OF, base_dossier_yaml, lot_rows, write_dossier

# PPQ-001 (a PPQ protocol exists): a blocker at BLA, not applicable at phase 1
OPTIONS = PortfolioOptions(as_of=AS_OF, formats=("json",), generated_at="2026-11-25T00:00:00Z", rules=("PPQ-001",))


def _clean(root: Path, name: str = "TEST-1") -> Path:
    return write_dossier(root, {"dossier.yaml": base_dossier_yaml(product={"name": name, "modality": "aav"},
                                                                 phase="phase_1")})


def _gappy(root: Path) -> Path:
    rows = lot_rows("L1", "phase_3", {"viability": "50"}) + lot_rows("L2", "ppq", {"viability": "52"})
    return write_dossier(root, {"dossier.yaml": base_dossier_yaml(phase="bla"), "lots.csv": rows})


def _broken(root: Path) -> Path:
    return write_dossier(root, {"dossier.yaml": "cmcflex: 1\nproduct: {name: X, modality: warp_drive}\n"})


@pytest.fixture
def portfolio(tmp_path: Path) -> Path:
    folder = tmp_path / "products"
    _gappy(folder / "b-gappy")
    _clean(folder / "a-clean", "CLEAN-1")
    _broken(folder / "c-broken")
    (folder / "notes").mkdir()  # a folder without dossier.yaml is not a dossier
    return folder


def test_folder_of_dossiers_is_a_portfolio_in_name_order(portfolio: Path) -> None:
    assert is_portfolio([portfolio])
    assert [p.name for p in find_dossiers([portfolio])] == ["a-clean", "b-gappy", "c-broken"]
    assert not is_portfolio([portfolio / "a-clean"])
    assert is_portfolio([portfolio / "a-clean", portfolio / "b-gappy"])
    assert find_dossiers([portfolio / "b-gappy", portfolio / "a-clean"]) == [portfolio / "b-gappy",
                                                                             portfolio / "a-clean"]


def test_empty_or_missing_folder_is_not_a_portfolio(tmp_path: Path) -> None:
    assert not is_portfolio([tmp_path])
    assert not is_portfolio([tmp_path / "missing"])
    assert find_dossiers([tmp_path / "missing"]) == [tmp_path / "missing"]


@pytest.mark.parametrize("workers", [1, 2])
def test_outcomes_in_order_with_combined_exit_code(portfolio: Path, workers: int) -> None:
    outcomes = check_portfolio(find_dossiers([portfolio]), OPTIONS, workers=workers)
    assert [o.name for o in outcomes] == ["a-clean", "b-gappy", "c-broken"]
    clean, gappy, broken = outcomes
    assert (clean.verdict, clean.exit_code, clean.product) == ("pass", 0, "CLEAN-1")
    assert (gappy.verdict, gappy.exit_code, gappy.phase) == ("fail", 1, "bla")
    assert gappy.counts["blocker"] + gappy.counts["major"] > 0
    assert broken.verdict is None and broken.exit_code == 2
    assert any("warp_drive" in p and p.startswith("dossier.yaml:2:") for p in broken.problems)
    assert combined_exit_code(outcomes) == 2
    assert combined_exit_code(outcomes[:2]) == 1
    assert combined_exit_code(outcomes[:1]) == 0


def test_pool_gives_the_same_reports_as_one_process(portfolio: Path) -> None:
    paths = find_dossiers([portfolio])
    assert check_portfolio(paths, OPTIONS, workers=2) == check_portfolio(paths, OPTIONS, workers=1)


def test_report_equals_the_single_dossier_report(portfolio: Path) -> None:
    outcome = check_dossier(portfolio / "b-gappy", OPTIONS)
    single = build_report(load_dossier(portfolio / "b-gappy"), as_of=AS_OF, path_label=str(portfolio / "b-gappy"),
                          generated_at="2026-11-25T00:00:00Z", rules=[REGISTRY.get("PPQ-001")])
    assert json.loads(outcome.reports["json"])["findings"] == json.loads(single.model_dump_json())["findings"]
    assert outcome.counts == single.counts


def test_options_reach_every_dossier(portfolio: Path) -> None:
    paths = [portfolio / "b-gappy"]
    (strict,) = check_portfolio(paths, PortfolioOptions(as_of=AS_OF, fail_on=Severity.INFO))
    (lenient,) = check_portfolio(paths, PortfolioOptions(as_of=AS_OF, fail_on=Severity.BLOCKER, rules=()))
    assert strict.exit_code == 1
    assert (lenient.exit_code, lenient.verdict, sum(lenient.counts[s] for s in ("blocker", "major"))) == (0, "pass", 0)


def test_missing_dossier_is_reported_not_raised(tmp_path: Path) -> None:
    (missing,) = check_portfolio([tmp_path / "nope"], OPTIONS)
    assert missing.exit_code == 2 and "no such dossier folder" in missing.problems[0]


def test_summary_names_each_dossier_and_its_problems(portfolio: Path) -> None:
    outcomes = check_portfolio(find_dossiers([portfolio]), OPTIONS, workers=1)
    text = summary_text(outcomes)
    lines = text.splitlines()
    assert lines[0].split() == ["Dossier", "Product", "Phase", "Verdict", "Blocker", "Major", "Minor", "Info", "Exit"]
    assert any(line.startswith(str(portfolio / "a-clean")) and "PASS" in line and line.endswith("0") for line in lines)
    assert any("c-broken" in line and "ERROR" in line and line.endswith("2") for line in lines)
    assert any("c-broken: could not be loaded" in line for line in lines)
    assert any("warp_drive" in line for line in lines)
    assert lines[-1] == "3 dossiers: 1 pass, 1 fail, 1 not checked · exit 2"


def test_report_files_one_per_dossier_and_format(portfolio: Path, tmp_path: Path) -> None:
    options = PortfolioOptions(as_of=AS_OF, formats=("json", "markdown"), rules=("PPQ-001",))
    outcomes = check_portfolio(find_dossiers([portfolio]), options, workers=1)
    files = report_files(outcomes, tmp_path / "out")
    assert sorted(p.name for p in files) == ["a-clean.json", "a-clean.md", "b-gappy.json", "b-gappy.md"]
    assert json.loads(files[tmp_path / "out" / "b-gappy.json"])["verdict"] == "fail"


def test_duplicate_names_are_found(tmp_path: Path) -> None:
    assert duplicate_names([tmp_path / "x" / "d", tmp_path / "y" / "d", tmp_path / "z"]) == ["d"]


# ---------------------------------------------------------------------------- the command line


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from cmcflex.cli import app

    for name in ("CMCFLEX_FAIL_ON", "CMCFLEX_SELECT", "CMCFLEX_IGNORE", "CMCFLEX_SEVERITY",
                 "CMCFLEX_WAIVERS", "CMCFLEX_CONFIG", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["check", *args, "--as-of", "2026-11-25", "--select", "PPQ-001"])


def test_cli_folder_of_dossiers_prints_summary_and_combined_exit(cli, portfolio: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli(str(portfolio))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["Dossier", "Product", "Phase", "Verdict"]
    assert "phase 1" in lines[2] and "BLA" in lines[3]  # phases as the report writes them
    assert not any("phase_1" in line or " bla " in line for line in lines[2:5])
    assert [line.split()[0] for line in lines[2:5]] == [str(portfolio / n) for n in ("a-clean", "b-gappy", "c-broken")]
    assert "warp_drive" in result.stdout
    assert lines[-1].endswith("exit 2")


def test_cli_several_dossiers_without_broken_one_exits_1(cli, portfolio: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli(str(portfolio / "a-clean"), str(portfolio / "b-gappy")).exit_code == 1
    assert cli(str(portfolio / "a-clean")).exit_code == 0  # one dossier: the single report
    assert "Verdict" in cli(str(portfolio / "a-clean")).stdout


def test_cli_output_dir_writes_one_report_per_dossier(cli, portfolio: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "reports"
    result = cli(str(portfolio), "-f", "sarif", "--output-dir", str(out))
    assert result.exit_code == 2
    assert sorted(p.name for p in out.iterdir()) == ["a-clean.sarif", "b-gappy.sarif"]
    assert json.loads((out / "b-gappy.sarif").read_text())["runs"][0]["results"]


def test_cli_json_summary_and_usage_errors(cli, portfolio: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli(str(portfolio / "a-clean"), str(portfolio / "b-gappy"), "-f", "json")
    data = json.loads(result.stdout)
    assert [(d["verdict"], d["exit_code"]) for d in data] == [("pass", 0), ("fail", 1)]
    single = json.loads(cli(str(portfolio / "b-gappy"), "-f", "json").stdout)
    assert list(data[1]["counts"]) == list(single["counts"])  # same key order as the single report
    assert data[1]["counts"] == single["counts"]
    assert cli(str(portfolio), "-f", "sarif").exit_code == 2  # needs --output-dir
    assert cli(str(portfolio), "-o", "x.json").exit_code == 2  # one file for many dossiers
    inside = cli(str(portfolio), "--output-dir", str(portfolio / "a-clean" / "out"))
    assert inside.exit_code == 2 and not (portfolio / "a-clean" / "out").exists()
