"""The registry of output formats: name → module exposing ``render(report) -> str``.

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
}


def renderer(name: str) -> Callable[[Report], str]:
    """The render function of a format; KeyError for an unknown name."""
    module = importlib.import_module(FORMATS[name])
    return module.render  # type: ignore[no-any-return]


def render(report: Report, name: str) -> str:
    return renderer(name)(report)
