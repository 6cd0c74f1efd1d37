"""Regenerate the report screenshots in docs/images from a sample dossier.

    python tools/make_screenshots.py              # all three
    python tools/make_screenshots.py xlsx html    # some of them

- ``html-report.png``: the HTML report in headless Chromium, 1024 px wide, its top 1180 px.
- ``pdf-report.png``: pages 1, 2 and the last of the PDF report side by side (pdftoppm).
- ``xlsx-report.png``: the Findings sheet of the Excel report as LibreOffice Calc prints it, with
  row and column headings and gridlines, columns A to H (Rule to Line); the other columns and
  sheets are in the workbook itself. The page setup is made in a copy of the workbook, never in
  the report cmcflex writes; so are row heights, estimated here from the text and column widths
  (LibreOffice Calc 7.4 opens the workbook with every row one line high).

Every image is of ``sample_dossiers/cart-phase2`` checked as of 2026-11-25 with a fixed
SOURCE_DATE_EPOCH, so a rerun on the same tools gives the same pictures. Needs Chromium, LibreOffice
(``soffice``), poppler-utils (``pdftoppm``), Pillow, openpyxl, and cmcflex with its ``pdf`` and
``excel`` extras. Nothing here is run by the tests.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
DOSSIER = ROOT / "sample_dossiers" / "cart-phase2"
AS_OF = "2026-11-25"
EPOCH = "1795564800"  # 2026-11-25T00:00:00Z: the report's one timestamp
HTML_SIZE = (1024, 1180)
PDF_DPI, PDF_GAP, PDF_BACKGROUND = 70, 16, (200, 203, 208)
XLSX_DPI, XLSX_COLUMNS, XLSX_MARGIN = 150, "A:H", 12
COLOURS = 128  # a palette image: small, and the reports use few colours
POINTS_PER_WIDTH = 6.8  # DejaVu Sans 11 pt points of text Calc fits per unit of column width (measured)
LINE_POINTS = 15.0  # one line of 11 pt text, as Excel's default row height


def run(*command: str, cwd: Path | None = None) -> None:
    subprocess.run(command, check=True, cwd=cwd, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def reports(folder: Path) -> dict[str, Path]:
    """The HTML, PDF and Excel reports of the sample dossier, written by this checkout's cmcflex."""
    out = {kind: folder / f"report.{kind}" for kind in ("html", "pdf", "xlsx")}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": EPOCH}
    command = [sys.executable, "-m", "cmcflex", "check", str(DOSSIER), "--as-of", AS_OF, "--no-config",
               "--quiet", *(f"-o{kind}:{path}" for kind, path in out.items())]
    subprocess.run(command, env=env, cwd=ROOT, timeout=300, check=False, stdout=subprocess.DEVNULL)
    missing = [str(p) for p in out.values() if not p.is_file()]
    if missing:
        raise SystemExit(f"cmcflex did not write {', '.join(missing)} (are the pdf and excel extras installed?)")
    return out


def save(image: object, name: str) -> None:
    from PIL import Image

    assert isinstance(image, Image.Image)
    path = IMAGES / name
    image.convert("RGB").quantize(COLOURS, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {image.size[0]}x{image.size[1]}, {path.stat().st_size // 1024} KiB")


def html_image(report: Path, work: Path) -> None:
    from PIL import Image

    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        raise SystemExit("no Chromium or Chrome on PATH")
    shot = work / "html.png"
    run(browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--window-size={HTML_SIZE[0]},{HTML_SIZE[1]}", f"--screenshot={shot}", report.as_uri())
    save(Image.open(shot), "html-report.png")


def pdf_image(report: Path, work: Path) -> None:
    from PIL import Image

    pages = int(next(line.split()[1] for line in subprocess.run(
        ["pdfinfo", str(report)], capture_output=True, text=True, check=True).stdout.splitlines()
        if line.startswith("Pages:")))
    shots = []
    for n in (1, 2, pages):
        run("pdftoppm", "-r", str(PDF_DPI), "-f", str(n), "-l", str(n), "-png", "-singlefile", str(report),
            str(work / f"page{n}"))
        shots.append(Image.open(work / f"page{n}.png").convert("RGB"))
    width = sum(s.width for s in shots) + PDF_GAP * (len(shots) + 1)
    height = max(s.height for s in shots) + 2 * PDF_GAP
    sheet = Image.new("RGB", (width, height), PDF_BACKGROUND)
    x = PDF_GAP
    for s in shots:
        sheet.paste(s, (x, PDF_GAP))
        x += s.width + PDF_GAP
    save(sheet, "pdf-report.png")


def _lines(text: str, width_points: float, font: object) -> int:
    """Lines a wrapped cell needs: its paragraphs word-wrapped to the column's width."""
    total = 0
    for paragraph in text.split("\n"):
        line, count = "", 1
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and font.getlength(candidate) > width_points:  # type: ignore[attr-defined]
                line, count = word, count + 1
            else:
                line = candidate
        total += count
    return total


def findings_sheet(report: Path, out: Path) -> None:
    """A copy of the workbook holding only the Findings sheet, laid out to print columns A to H
    on one landscape page, with headings, gridlines and rows as high as their shown wrapped text."""
    import openpyxl
    from openpyxl.worksheet.properties import PageSetupProperties
    from PIL import ImageFont

    font = ImageFont.truetype("DejaVuSans.ttf", 11)  # 11 pt in points at 72 dpi: lengths in points
    book = openpyxl.load_workbook(report)
    for name in book.sheetnames:
        if name != "Findings":
            del book[name]
    sheet = book["Findings"]
    first, last = XLSX_COLUMNS.split(":")
    sheet.print_area = f"{first}1:{last}{sheet.max_row}"
    widths = {letter: dim.width for letter, dim in sheet.column_dimensions.items()}
    shown = sheet[XLSX_COLUMNS]
    for row in sheet.iter_rows(min_row=2, max_col=len(shown)):
        lines = 1
        for cell in row:
            if isinstance(cell.value, str) and cell.alignment.wrap_text:
                width = widths.get(cell.column_letter, 8.43) * POINTS_PER_WIDTH
                lines = max(lines, _lines(cell.value, width, font))
        sheet.row_dimensions[row[0].row].height = math.ceil(lines * LINE_POINTS)
    setup = sheet.page_setup
    setup.orientation, setup.paperSize = "landscape", sheet.PAPERSIZE_A4
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    setup.fitToWidth, setup.fitToHeight = 1, 0
    sheet.print_options.gridLines = sheet.print_options.headings = True
    for side in ("left", "right", "top", "bottom", "header", "footer"):
        setattr(sheet.page_margins, side, 0.2)
    sheet.oddHeader.center.text = sheet.oddFooter.center.text = ""
    book.save(out)


def xlsx_image(report: Path, work: Path) -> None:
    from PIL import Image, ImageChops

    if shutil.which("soffice") is None:
        raise SystemExit("no soffice (LibreOffice) on PATH")
    copy = work / "findings.xlsx"
    findings_sheet(report, copy)
    profile = work / "soffice-profile"  # a profile of its own: no clash with a running LibreOffice
    run("soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
        "--outdir", str(work), str(copy))
    run("pdftoppm", "-r", str(XLSX_DPI), "-f", "1", "-l", "1", "-png", "-singlefile", str(work / "findings.pdf"),
        str(work / "findings"))
    page = Image.open(work / "findings.png").convert("RGB")
    box = ImageChops.difference(page, Image.new("RGB", page.size, "white")).getbbox()
    assert box is not None, "the Findings page is blank"
    left, top, right, bottom = box
    m = XLSX_MARGIN
    page = page.crop((max(left - m, 0), max(top - m, 0), min(right + m, page.width), min(bottom + m, page.height)))
    save(page, "xlsx-report.png")


MAKERS = {"html": html_image, "pdf": pdf_image, "xlsx": xlsx_image}


def main(argv: list[str]) -> None:
    wanted = argv or list(MAKERS)
    unknown = [w for w in wanted if w not in MAKERS]
    if unknown:
        raise SystemExit(f"unknown image {', '.join(unknown)}; choose from {', '.join(MAKERS)}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        made = reports(work)
        for name in wanted:
            MAKERS[name](made[name], work)


if __name__ == "__main__":
    main(sys.argv[1:])
