"""The output formats, in one table: name, renderer module, file extensions, portfolio file name.

The table drives the ``--format`` choices, the format a bare ``--output FILE`` is written in,
the file names of ``--output-dir`` and the renderer registry. To add a format, add its module
(exposing ``render(report) -> str``) and one row here. Modules are imported only when their format
is used, so ``cmcflex --help`` stays fast.
"""

from __future__ import annotations

import importlib
from pathlib import PurePath
from typing import TYPE_CHECKING, Callable, NamedTuple

if TYPE_CHECKING:
    from cmcflex.report.model import Report


class OutputFormat(NamedTuple):
    name: str
    module: str
    extensions: tuple[str, ...]
    """File-name endings that name this format in ``--output FILE`` (lower case, first preferred)."""
    suffix: str
    """The extension of its files in ``--output-dir`` (``<dossier-name>.<suffix>``)."""
    description: str


TABLE: tuple[OutputFormat, ...] = (
    OutputFormat("console", "cmcflex.report.console", (".txt",), "txt", "the terminal report, as plain text in a file"),
    OutputFormat("json", "cmcflex.report.json", (".json",), "json", "the whole report, for scripts and diff"),
    OutputFormat("sarif", "cmcflex.report.sarif", (".sarif", ".sarif.json"), "sarif", "SARIF 2.1.0, for code scanning"),
    OutputFormat("junit", "cmcflex.report.junit", (".xml",), "xml", "JUnit XML, one test case per rule"),
    OutputFormat("markdown", "cmcflex.report.markdown", (".md",), "md", "a Markdown summary"),
    OutputFormat("html", "cmcflex.report.html", (".html", ".htm"), "html", "a self-contained HTML page"),
    OutputFormat("github", "cmcflex.report.github", (".txt",), "txt", "GitHub Actions workflow commands"),
)
FORMATS: dict[str, str] = {f.name: f.module for f in TABLE}
"""Format name → renderer module (the registry)."""
NAMES: tuple[str, ...] = tuple(FORMATS)
SUFFIXES: dict[str, str] = {f.name: f.suffix for f in TABLE}


class FormatError(ValueError):
    """An output whose format cannot be told, or would be written under another format's extension."""


def renderer(name: str) -> Callable[[Report], str]:
    """The render function of a format; KeyError for an unknown name."""
    module = importlib.import_module(FORMATS[name])
    return module.render  # type: ignore[no-any-return]


def render(report: Report, name: str) -> str:
    return renderer(name)(report)


def _known() -> str:
    return "; ".join(f"{f.name} ({', '.join(f.extensions)})" for f in TABLE)


def named_by(path: str) -> tuple[str, ...]:
    """The formats a file name's extension names (its longest known ending), none if it names none."""
    name = PurePath(path).name.lower()
    endings = [e for f in TABLE for e in f.extensions if name.endswith(e) and len(name) > len(e)]
    if not endings:
        return ()
    longest = max(endings, key=len)
    return tuple(f.name for f in TABLE if longest in f.extensions)


def output_format(path: str, named: str | None, default: str) -> str:
    """The format ``--output`` writes ``path`` in: ``named`` (``FORMAT:FILE``), else the one its
    extension names (``default`` where it names that one among others), else ``default`` for a
    name without an extension. FormatError for a name whose extension names no format, and for
    a format written under another's extension (``json:report.xml``)."""
    formats = named_by(path)
    if named is not None:
        if formats and named not in formats:
            raise FormatError(f"{PurePath(path).name} has the extension of {' or '.join(formats)}, not {named}; "
                              f"name the file by its format ({_known()})")
        return named
    if formats:
        return default if default in formats else formats[0]
    if PurePath(path).suffix:
        raise FormatError(f"the extension {PurePath(path).suffix} names no format; write FORMAT:FILE or use "
                          f"one of: {_known()}")
    return default
