"""Collect the declarative rule cases: each tests/rules/cases/<RULE-ID>.yaml gives one test per
case and phase (see tests/rules/cases/README.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.rules.rule_cases import CASES_DIR, Case, load_cases, mismatch, run_case

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and file_path.parent == CASES_DIR:
        return RuleCaseFile.from_parent(parent, path=file_path)
    return None


class RuleCaseFile(pytest.File):
    """One rule's case file."""

    def collect(self) -> Iterator[pytest.Item]:
        for case in load_cases(self.path):
            yield RuleCaseItem.from_parent(self, name=case.id, case=case)


class CaseMismatch(AssertionError):
    """The report does not meet the case."""


class RuleCaseItem(pytest.Item):
    """One case at one phase: build its dossier in a temporary folder, check, compare."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        factory: pytest.TempPathFactory = self.config._tmp_path_factory  # type: ignore[attr-defined]
        report = run_case(self.case, factory.mktemp(self.case.rule) / "dossier")
        problem = mismatch(self.case, report)
        if problem is not None:
            raise CaseMismatch(problem)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        """A mismatch shows as the expected and actual findings, without a traceback."""
        if isinstance(excinfo.value, CaseMismatch):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.case.rule} {self.case.id}"
