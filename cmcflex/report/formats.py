"""The registry of output formats: name → module exposing ``render(report) -> str``
(``bytes`` for a binary format: xlsx).

Modules are imported only when their format is used, so ``cmcflex --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Callable

from cmcflex.report.model import Report

FORMATS: dict[str, str] = {
    "console": "cmcflex.report.console",
    "json": "cmcflex.report.json",
    "sarif": "cmcflex.report.sarif",
    "junit": "cmcflex.report.junit",
    "markdown": "cmcflex.report.markdown",
    "html": "cmcflex.report.html",
    "github": "cmcflex.report.github",
    "xlsx": "cmcflex.report.xlsx",
}
BINARY = frozenset({"xlsx"})  # written to a file, never to a terminal


def unavailable(name: str) -> str | None:
    """Why a format cannot be written here (an optional extra not installed), else None."""
    if name == "xlsx":
        from cmcflex.report.xlsx import EXTRA_HINT, available

        return None if available() else EXTRA_HINT
    return None


def renderer(name: str) -> Callable[[Report], str]:
    """The render function of a format; KeyError for an unknown name."""
    module = importlib.import_module(FORMATS[name])
    return module.render  # type: ignore[no-any-return]


def render(report: Report, name: str) -> str:
    return renderer(name)(report)
