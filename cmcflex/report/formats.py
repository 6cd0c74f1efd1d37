"""The registry of output formats: name → module exposing ``render(report) -> str``
(``bytes`` for a binary format: pdf, xlsx).

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
    "xlsx": "cmcflex.report.xlsx",
}
BINARY = frozenset({"pdf", "xlsx"})  # rendered as bytes; never written to a terminal


def unavailable(name: str) -> str | None:
    """Why a format cannot be written here (an optional extra not installed), else None."""
    if name == "xlsx":
        from cmcflex.report.xlsx import EXTRA_HINT, available

        return None if available() else EXTRA_HINT
    if name == "pdf":
        from cmcflex.report.pdf import PdfUnavailable, require

        try:
            require()
        except PdfUnavailable as exc:
            return str(exc)
    return None


def renderer(name: str) -> Callable[[Report], str | bytes]:
    """The render function of a format; KeyError for an unknown name."""
    module = importlib.import_module(FORMATS[name])
    return module.render  # type: ignore[no-any-return]


def render(report: Report, name: str) -> str | bytes:
    return renderer(name)(report)
