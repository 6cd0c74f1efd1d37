"""The registry of output formats: name → module exposing ``render(report) -> str`` (bytes for PDF).

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
    "pdf": "cmcflex.report.pdf",
}

BINARY = frozenset({"pdf"})  # rendered as bytes; never written to a terminal


def renderer(name: str) -> Callable[[Report], str | bytes]:
    """The render function of a format; KeyError for an unknown name."""
    module = importlib.import_module(FORMATS[name])
    return module.render  # type: ignore[no-any-return]


def render(report: Report, name: str) -> str | bytes:
    return renderer(name)(report)
