"""The output formats, in one table: name, renderer module, file extensions, portfolio file name.

The table drives the ``--format`` choices, the format a bare ``--output FILE`` is written in
(:data:`OUTPUT_EXTENSIONS`), the file names of ``--output-dir`` (:data:`SUFFIXES`) and the
renderer registry (:data:`FORMATS`). To add a format, add its module (exposing
``render(report) -> str``, or ``bytes`` for a binary format) and one row here. Modules are imported
only when their format is used, so ``cmcflex --help`` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from cmcflex.report.model import Report


class OutputFormat(NamedTuple):
    name: str
    module: str
    extensions: tuple[str, ...]
    """File-name endings that name this format in ``--output FILE`` (lower case, first preferred);
    none for the text formats, which a plain-text name (:data:`TEXT_EXTENSIONS`) holds."""
    suffix: str
    """The extension of its files in ``--output-dir`` (``<dossier-name>.<suffix>``)."""
    description: str
    binary: bool = False
    """Rendered as bytes: written to a file, never to a terminal."""
    series: bool = True
    """Shows the lot series (``Report.lot_series``: charts, tables, the JSON); a report for
    formats that do not is built without them, which saves reading every result again."""


TABLE: tuple[OutputFormat, ...] = (
    OutputFormat("console", "cmcflex.report.console", (), "txt", "the terminal report, as plain text in a file",
                 series=False),
    OutputFormat("json", "cmcflex.report.json", (".json",), "json", "the whole report, for scripts and diff"),
    OutputFormat("sarif", "cmcflex.report.sarif", (".sarif", ".sarif.json"), "sarif", "SARIF 2.1.0, for code scanning",
                 series=False),
    OutputFormat("junit", "cmcflex.report.junit", (".xml",), "xml", "JUnit XML, one test case per rule",
                 series=False),
    OutputFormat("markdown", "cmcflex.report.markdown", (".md",), "md", "a Markdown summary", series=False),
    OutputFormat("html", "cmcflex.report.html", (".html", ".htm"), "html", "a self-contained HTML page"),
    OutputFormat("github", "cmcflex.report.github", (), "txt", "GitHub Actions workflow commands", series=False),
    OutputFormat("pdf", "cmcflex.report.pdf", (".pdf",), "pdf", "the HTML report on A4 pages, to sign",
                 binary=True),
    OutputFormat("xlsx", "cmcflex.report.xlsx", (".xlsx",), "xlsx", "an Excel workbook", binary=True),
)
FORMATS: dict[str, str] = {f.name: f.module for f in TABLE}
"""Format name → renderer module (the registry)."""
NAMES: tuple[str, ...] = tuple(FORMATS)
SUFFIXES: dict[str, str] = {f.name: f.suffix for f in TABLE}
BINARY = frozenset(f.name for f in TABLE if f.binary)
SERIES = frozenset(f.name for f in TABLE if f.series)
OUTPUT_EXTENSIONS: tuple[tuple[str, str], ...] = tuple(sorted(
    ((ext, f.name) for f in TABLE for ext in f.extensions), key=lambda item: -len(item[0])))
"""(extension, format), longest first so that ``.sarif.json`` wins over ``.json``."""
TEXT_EXTENSIONS = (".txt", ".text", ".log", ".out")
"""Plain-text names hold whichever text format ``--format`` (or ``FORMAT:``) names."""
ALSO_WRITTEN_AS = {"sarif": "json"}
"""A format that may also be written under another format's extension: SARIF is JSON."""
FOREIGN_EXTENSIONS = (".xlsm", ".xls", ".ods", ".csv", ".tsv", ".docx", ".doc", ".odt", ".rtf",
                      ".png", ".jpg", ".jpeg", ".svg", ".zip", ".yaml", ".yml", ".toml")
"""Extensions of documents cmcflex does not write: no report is written under them."""


def extension_format(name: str) -> str | None:
    """The format a file name's extension stands for, if it is one of :data:`OUTPUT_EXTENSIONS`."""
    name = name.lower()
    return next((fmt for ext, fmt in OUTPUT_EXTENSIONS if name.endswith(ext)), None)


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
    return module.render


def render(report: Report, name: str) -> str | bytes:
    return renderer(name)(report)
