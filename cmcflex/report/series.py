"""Chart data for the report: lot results of each numeric specification test.

Renderers see only the Report, so the data a chart needs (limits and the latest lot results)
is collected here once, in a compact, format-neutral form. Large dossiers are capped: only the
last ``CAP`` results of each test (in file order) are kept, and the total is stated. Each series
names its lots in chart order (manufacture date, then file order) with whether they went to patients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmcflex.dossier.criteria import NumericCriterion
from cmcflex.dossier.lots import LotTable
from cmcflex.report.model import LotSeries, LotSummary, SeriesLot
from cmcflex.stats import describe
from cmcflex.vocabulary import Disposition, LotUse, StartingMaterial

if TYPE_CHECKING:
    from cmcflex.views import DossierViews

CAP = 200
NON_CLINICAL_USES = (LotUse.DEVELOPMENT, LotUse.ENGINEERING)
UNRELEASED = (Disposition.REJECTED, Disposition.PENDING)


PATIENT_USES = (LotUse.PHASE_1, LotUse.PHASE_2, LotUse.PHASE_3, LotUse.COMMERCIAL)


def _status(use: str | None, starting_material: str | None, disposition: str | None) -> str:
    """A lot's status in a chart. A healthy-donor lot is non-clinical unless made for patients: the
    lots of an allogeneic (donor-derived) product are healthy-donor lots that patients receive."""
    if (use in NON_CLINICAL_USES or disposition == Disposition.NOT_APPLICABLE
            or (starting_material == StartingMaterial.HEALTHY_DONOR and use not in PATIENT_USES)):
        return "non_clinical"
    return "unreleased" if disposition in UNRELEASED else "patient"


def _lots(table: LotTable, indexes: list[int]) -> list[SeriesLot]:
    """The lots at ``indexes`` (lot-table positions), by manufacture date then file order."""
    ids = table.lot_ids
    dates, uses, starting, dispositions = (table.lot_column(name) for name in
                                           ("manufacture_date", "use", "starting_material", "disposition"))
    ordered = sorted(dict.fromkeys(indexes), key=lambda i: (dates[i] is None, dates[i] or "", i))
    return [SeriesLot(id=ids[i], manufactured=dates[i], status=_status(uses[i], starting[i], dispositions[i]))
            for i in ordered]


def summarize(table: LotTable, material: str, attribute: str, criterion: NumericCriterion) -> LotSummary:
    """Descriptive statistics of every numeric result of a test, and the lots the criterion rejects."""
    found = table.numeric_summary(material, attribute, criterion)
    if not found.values:
        return LotSummary(n=0, censored=found.censored, lots=found.lots, outside=found.outside)
    s = describe(found.values)
    return LotSummary(n=s.n, mean=s.mean, sd=s.sd, min=s.min, max=s.max, censored=found.censored,
                      lots=found.lots, outside=found.outside)


def lot_series(views: DossierViews, cap: int = CAP) -> list[LotSeries]:
    """One series per numeric specification test that has lot results, sorted by material, test."""
    table = views.dossier.lots
    if table is None:
        return []
    uses = table.lot_column("use")
    out = []
    for (material, attribute), ref in sorted(views.spec_index.items()):
        criterion = ref.test.criterion
        if not isinstance(criterion, NumericCriterion):
            continue
        total, chart = table.chart_rows(material, attribute, cap)
        if not total:
            continue
        rows: list[int] = []
        points: list[tuple[str, float, str]] = []
        censored: list[tuple[str, float, str, str]] = []
        for i, value, censor in chart:
            rows.append(i)
            lot_id, use = table.lot_ids[i], uses[i] or ""
            if censor:
                censored.append((lot_id, value, censor, use))
            else:
                points.append((lot_id, value, use))
        out.append(LotSeries(
            material=material,
            attribute=attribute,
            unit=ref.test.unit or criterion.unit or next(iter(sorted(table.units_of(material, attribute))), None),
            criterion=criterion.describe(),
            min=criterion.min,
            max=criterion.max,
            points=points,
            censored=censored,
            total=total,
            cap=cap,
            lots=_lots(table, rows),
            summary=summarize(table, material, attribute, criterion),
        ))
    return out
