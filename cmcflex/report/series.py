"""Chart data for the report: lot results of each numeric specification test.

Renderers see only the Report, so the data a chart needs (limits and the latest lot results)
is collected here once, in a compact, format-neutral form. Large dossiers are capped: only the
last ``CAP`` results of each test (in file order) are kept, and the total is stated. Each series
names its lots in chart order (manufacture date, then file order) with whether they went to patients.
"""

from __future__ import annotations

from itertools import compress

from cmcflex.dossier.criteria import NumericCriterion, Result
from cmcflex.dossier.loader import Dossier
from cmcflex.dossier.lots import ABOVE, BELOW, NO_CENSOR, WORD, AttributeColumn, LotTable
from cmcflex.report.model import LotSeries, LotSummary, SeriesLot
from cmcflex.stats import describe

CAP = 200
NON_CLINICAL_USES = ("development", "engineering")
UNRELEASED = ("rejected", "pending")
_CENSOR_TEXT = {NO_CENSOR: "", BELOW: "<", ABOVE: ">"}


def _status(use: str | None, starting_material: str | None, disposition: str | None) -> str:
    if use in NON_CLINICAL_USES or starting_material == "healthy_donor" or disposition == "not_applicable":
        return "non_clinical"
    return "unreleased" if disposition in UNRELEASED else "patient"


def _lots(table: LotTable, indexes: list[int]) -> list[SeriesLot]:
    """The lots at ``indexes`` (lot-table positions), by manufacture date then file order."""
    v, ids = table.lot_values, table.lot_ids
    dates = v["manufacture_date"]
    ordered = sorted(dict.fromkeys(indexes), key=lambda i: (dates[i] is None, dates[i] or "", i))
    return [SeriesLot(id=ids[i], manufactured=dates[i],
                      status=_status(v["use"][i], v["starting_material"][i], v["disposition"][i]))
            for i in ordered]


def summarize(col: AttributeColumn, criterion: NumericCriterion) -> LotSummary:
    """Descriptive statistics of every numeric result of a column, and the lots the criterion rejects.

    Each distinct result is judged once and rows are picked by C loops (``compress``, ``map``), so
    a million rows cost no Python call per row.
    """
    codes = col.censor.tobytes()
    numeric: list[float] = []
    lots: set[int] = set()
    outside: set[int] = set()
    censored = 0
    for kind in (NO_CENSOR, BELOW, ABOVE):
        count = codes.count(bytes([kind]))
        if not count:
            continue
        whole = count == len(codes)
        values = list(col.value) if whole else list(compress(col.value, map(kind.__eq__, col.censor)))
        rows = col.lot if whole else list(compress(col.lot, map(kind.__eq__, col.censor)))
        lots.update(rows)
        if kind == NO_CENSOR:
            numeric = values
        else:
            censored += count
        censor = _CENSOR_TEXT[kind]
        rejected = {v for v in set(values) if criterion.accepts(Result(value=v, censor=censor)) is False}
        if rejected:
            outside.update(compress(rows, map(rejected.__contains__, values)))
    if not numeric:
        return LotSummary(n=0, censored=censored, lots=len(lots), outside=len(outside))
    s = describe(numeric)
    return LotSummary(n=s.n, mean=s.mean, sd=s.sd, min=s.min, max=s.max, censored=censored,
                      lots=len(lots), outside=len(outside))


def lot_series(dossier: Dossier, cap: int = CAP) -> list[LotSeries]:
    """One series per numeric specification test that has lot results, sorted by material, test."""
    if dossier.lots is None:
        return []
    from cmcflex.rules.common import spec_index

    table = dossier.lots
    uses = table.lot_values["use"]
    out = []
    for (material, attribute), ref in sorted(spec_index(dossier).items()):
        criterion = ref.test.criterion
        if not isinstance(criterion, NumericCriterion):
            continue
        col = table.columns.get((material, attribute))
        if col is None:
            continue
        total = len(col.lot) - col.censor.tobytes().count(bytes([WORD]))  # words are not charted
        if not total:
            continue
        latest: list[int] = []  # the last `cap` numeric rows, found from the end
        for k in range(len(col.lot) - 1, -1, -1):
            if col.censor[k] != WORD:
                latest.append(k)
                if len(latest) == cap:
                    break
        rows: list[int] = []
        points: list[tuple[str, float, str]] = []
        censored: list[tuple[str, float, str, str]] = []
        for k in reversed(latest):
            i = col.lot[k]
            rows.append(i)
            lot_id, value, use = table.lot_ids[i], float(col.value[k]), uses[i] or ""
            if col.censor[k] == NO_CENSOR:
                points.append((lot_id, value, use))
            else:
                censored.append((lot_id, value, "<" if col.censor[k] == BELOW else ">", use))
        out.append(LotSeries(
            material=material,
            attribute=attribute,
            unit=ref.test.unit or criterion.unit or next(iter(sorted(col.units)), None),
            criterion=criterion.describe(),
            min=criterion.min,
            max=criterion.max,
            points=points,
            censored=censored,
            total=total,
            cap=cap,
            lots=_lots(table, rows),
            summary=summarize(col, criterion),
        ))
    return out
