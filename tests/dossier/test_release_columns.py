"""The lot-level release columns (spec_version, exception_pathway, investigation) are read alike by
the row-by-row path, the columnar path and the Arrow fast path, and must agree on every row of a lot."""

from __future__ import annotations

import random

import pytest

from tests.dossier.test_lots_reader import columnar, make_lots_csv, row_by_row, state

RELEASE = ("spec_version", "exception_pathway", "investigation")


def with_release_columns(text: str, seed: int) -> str:
    """The file with the three release columns added; each lot gets its own values, some empty."""
    rng = random.Random(seed)
    lines = text.splitlines()
    out = [lines[0] + "," + ",".join(RELEASE)]
    chosen: dict[str, str] = {}
    for line in lines[1:]:
        lot_id = line.split(",", 1)[0]
        if lot_id not in chosen:
            chosen[lot_id] = ",".join([rng.choice(["2.0", "3.0", ""]),
                                       rng.choice(["expanded_access", "physician_request", ""]),
                                       rng.choice(["INV-0042", ""])])
        out.append(line + "," + chosen[lot_id])
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_release_columns_read_alike_by_both_exact_paths(seed: int) -> None:
    text = with_release_columns(make_lots_csv(random.Random(seed), 40, messy=False), seed)
    fast, fast_problems = columnar(text)
    ref, ref_problems = row_by_row(text)
    assert fast_problems == ref_problems == []
    assert state(fast) == state(ref)
    values = fast._lot_values
    assert set(values["spec_version"]) == {"2.0", "3.0", None}
    assert {"expanded_access", "physician_request", None} == set(values["exception_pathway"])
    lot = fast.lot(fast.lot_ids[0])
    assert lot is not None and (lot.spec_version, lot.exception_pathway, lot.investigation) == (
        values["spec_version"][0], values["exception_pathway"][0], values["investigation"][0])
    assert [x.investigation for x in fast.lots()] == values["investigation"]


def test_release_columns_read_alike_by_the_arrow_path() -> None:
    pytest.importorskip("pyarrow")
    pytest.importorskip("numpy")
    from tests.dossier.test_lots_arrow import fast

    text = with_release_columns(make_lots_csv(random.Random(5), 40, messy=False), 5)
    taken, table = fast(text)
    exact, problems = columnar(text)
    assert taken and problems == []
    assert state(table) == state(exact)


def test_a_lot_whose_rows_disagree_on_its_spec_version_is_located() -> None:
    text = with_release_columns(make_lots_csv(random.Random(9), 3, messy=False), 9)
    lines = text.splitlines()
    fields = lines[2].split(",")
    fields[-3] = "9.9"
    lines[2] = ",".join(fields)
    _, problems = columnar("\n".join(lines) + "\n")
    assert [(p.line, p.field) for p in problems] == [(3, "spec_version")]
    assert "'9.9'" in problems[0].message and "must agree on every row of a lot" in problems[0].message
