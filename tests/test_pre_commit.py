"""The pre-commit hook: `pre-commit try-repo` on a repository holding a dossier checks the dossier a
commit touches, and nothing when no dossier changed.

pre-commit installs this checkout into a fresh virtual environment with pip, from the indexes and
wheel folders pip is configured with (PIP_INDEX_URL, PIP_FIND_LINKS: a local wheel cache works
offline); the test skips, saying why, when that installation cannot be done. It takes about 40 s
(the core install is small); CMCFLEX_SKIP_SLOW_TESTS=1 leaves it out of a quick local run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cmcflex.hooks import changed_dossiers, dossier_of
from tests.helpers import base_dossier_yaml, write_dossier

ROOT = Path(__file__).resolve().parents[1]


def test_changed_files_map_to_their_dossier_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_dossier(tmp_path / "dossiers" / "x", {"dossier.yaml": base_dossier_yaml()})
    (tmp_path / "dossiers" / "x" / "lots").mkdir()
    (tmp_path / "dossiers" / "x" / "lots" / "2026.csv").write_text("lot_id\n", encoding="utf-8")
    (tmp_path / "notes.yaml").write_text("a: 1\n", encoding="utf-8")
    files = [Path("dossiers/x/lots/2026.csv"), Path("notes.yaml"), Path("dossiers/x/dossier.yaml")]
    assert changed_dossiers(files) == [Path("dossiers/x")]
    assert dossier_of(Path("notes.yaml")) is None
    assert dossier_of(Path("dossiers/x")) == Path("dossiers/x")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"})


def _pre_commit() -> list[str]:
    if os.environ.get("CMCFLEX_SKIP_SLOW_TESTS"):
        pytest.skip("CMCFLEX_SKIP_SLOW_TESTS is set: pre-commit would install cmcflex into a fresh "
                    "environment (about 40 s)")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("pre-commit is not installed (pip install -e .[test])")
    return [sys.executable, "-m", "pre_commit"]


def test_try_repo_checks_the_touched_dossier(tmp_path: Path) -> None:
    command = _pre_commit()
    repo = tmp_path / "work"
    repo.mkdir()
    shutil.copytree(ROOT / "sample_dossiers" / "cart-phase2", repo / "dossiers" / "cart")
    (repo / "README.md").write_text("notes\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "PIP_DEFAULT_TIMEOUT": "20", "PIP_RETRIES": "0", "SKIP": ""}
    run = [*command, "try-repo", str(ROOT), "cmcflex", "--verbose"]
    done = subprocess.run([*run, "--files", "dossiers/cart/lots.csv", "README.md"], check=False, cwd=repo,
                          env=env, capture_output=True, text=True, timeout=600)
    if "An unexpected error has occurred" in done.stdout + done.stderr and "pip" in done.stdout + done.stderr:
        log = tmp_path / "cache" / "pre-commit.log"
        reason = log.read_text(encoding="utf-8")[-600:] if log.exists() else done.stdout[-600:]
        pytest.skip(f"pre-commit could not install the hook (no index or wheel cache reachable): {reason}")
    out = done.stdout
    assert done.returncode == 1, out  # the sample has major gaps
    assert "cmcflex (BLA readiness of the changed dossiers)" in out and "Failed" in out
    assert "dossiers/cart" in out and "blocker" in out.lower()
    untouched = subprocess.run([*run, "--files", "README.md"], check=False, cwd=repo, env=env,
                               capture_output=True, text=True, timeout=600)
    assert untouched.returncode == 0, untouched.stdout
    assert "(no files to check)Skipped" in untouched.stdout.replace(".", "")


def test_hook_command_checks_each_touched_dossier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cmcflex.cli import app

    monkeypatch.chdir(tmp_path)
    for name in ("cart", "aav"):
        shutil.copytree(ROOT / "sample_dossiers" / ("cart-phase2" if name == "cart" else "aav-bla"),
                        tmp_path / "dossiers" / name)
    (tmp_path / "ci.yaml").write_text("x: 1\n", encoding="utf-8")
    runner = CliRunner()
    one = runner.invoke(app, ["pre-commit", "dossiers/cart/lots.csv", "dossiers/cart/dossier.yaml", "ci.yaml",
                              "--as-of", "2026-11-25", "--no-config", "-q"])
    assert one.exit_code == 1 and one.stdout.count("\n") == 1 and one.stdout.rstrip().endswith("dossiers/cart")
    both = runner.invoke(app, ["pre-commit", "dossiers/cart/lots.csv", "dossiers/aav/specifications.yaml",
                               "--as-of", "2026-11-25", "--no-config", "-q"])
    assert both.stdout.startswith("2 dossiers:")
    none = runner.invoke(app, ["pre-commit", "ci.yaml", "--no-config"])
    assert none.exit_code == 0 and "no dossier among the changed files" in none.stdout
