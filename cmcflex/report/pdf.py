"""The HTML report as a PDF, laid out by WeasyPrint (the optional extra ``cmcflex[pdf]``).

WeasyPrint implements CSS paged media (page margin boxes, page counters, fragmentation), so the
PDF is the printed HTML report: running header, page numbers, whole finding cards and charts, and
the sign-off block. It needs the Pango system library; when WeasyPrint or Pango is missing,
:func:`require` raises :class:`PdfUnavailable` with a message that says how to install them.
Nothing is fetched while rendering: the report is self-contained and every URL is refused.
"""

from __future__ import annotations

from typing import Any, NoReturn

from cmcflex.report import html
from cmcflex.report.model import Report

INSTALL_HINT = 'pip install ".[pdf]" in the cmcflex sources (or pipx install ".[pdf]")'


class PdfUnavailable(Exception):
    """PDF output cannot be written here; the message names what to install."""


def _weasyprint() -> Any:
    try:
        import weasyprint
    except ImportError:
        raise PdfUnavailable(f"PDF output needs the optional extra cmcflex[pdf] (WeasyPrint): "
                             f"{INSTALL_HINT}") from None
    except OSError as exc:  # WeasyPrint is installed but the Pango system library is not
        raise PdfUnavailable(f"PDF output needs the Pango system library, which WeasyPrint could not "
                             f"load ({exc}); install Pango (Debian/Ubuntu: apt-get install "
                             f"libpango-1.0-0 libpangoft2-1.0-0), see "
                             f"https://doc.courtbouillon.org/weasyprint/stable/first_steps.html") from None
    return weasyprint


def require() -> None:
    """Raise :class:`PdfUnavailable` unless a PDF can be written here."""
    _weasyprint()


def _refuse_fetch(url: str, *args: object, **kwargs: object) -> NoReturn:
    raise ValueError(f"the report loads nothing ({url!r})")


def _no_fetching(weasyprint: Any) -> Any:
    """A URL fetcher that refuses every URL: a URLFetcher allowing no protocol where WeasyPrint
    has that class, else a function (what earlier versions take)."""
    fetcher = getattr(weasyprint.urls, "URLFetcher", None)
    return _refuse_fetch if fetcher is None else fetcher(allowed_protocols=())


def render(report: Report) -> bytes:
    """The HTML report (:func:`cmcflex.report.html.render`) laid out on A4 pages, as PDF bytes."""
    weasyprint = _weasyprint()
    document = weasyprint.HTML(string=html.render(report), url_fetcher=_no_fetching(weasyprint))
    return document.write_pdf()
