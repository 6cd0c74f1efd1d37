"""Reading a large lots file on two cores builds exactly the exact reader's table, or declines,
leaving the table empty for the exact reader, which then says what is wrong and where."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import random
import shutil
import signal
import sys
import threading
from array import array
from pathlib import Path

import pytest

from cmcflex.dossier import loader, lots_worker
from cmcflex.dossier import lots as L
from cmcflex.dossier.errors import DossierError
from tests.dossier.test_lots_reader import HEADER, columnar, make_lots_csv, state

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux",
                                reason="the worker process is forked (Linux)")

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dossiers"
EMPTY = state(L.LotTable())


def split_read(path: Path, split: int) -> tuple[bool, L.LotTable]:
    """Read ``path`` with a worker reading from ``split`` on: (taken, table)."""
    table = L.LotTable()
    worker = lots_worker.TailWorker(path, "lots.csv", split)
    try:
        digest = worker.read(table)
    finally:
        worker.cancel()
    if digest is not None:
        assert digest == (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size)
    return digest is not None, table


def line_starts(data: bytes) -> list[int]:
    return [k + 1 for k, b in enumerate(data) if b == ord("\n") and k + 1 < len(data)]


def assert_same_or_declined(tmp_path: Path, text: str | bytes, splits: list[int] | None = None) -> list[bool]:
    """At each split (every line start but the header's by default), the split read builds the
    exact reader's table or declines with the table left empty; which splits were taken."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    path = tmp_path / "lots.csv"
    path.write_bytes(data)
    exact, problems = columnar(data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else data.decode())
    taken = []
    for split in splits if splits is not None else line_starts(data)[1:]:
        ok, table = split_read(path, split)
        if problems:
            assert not ok, "a file with problems to report goes to the exact reader"
        assert state(table) == (state(exact) if ok else EMPTY), f"split at byte {split}"
        taken.append(ok)
    return taken


@pytest.mark.parametrize("seed", range(3))
def test_clean_files_read_the_same_at_every_split(tmp_path: Path, seed: int) -> None:
    """Every line start, lot boundaries and the middle of a lot alike (there the lot is in both parts)."""
    text = make_lots_csv(random.Random(seed), 6, messy=False)
    assert all(assert_same_or_declined(tmp_path, text))


@pytest.mark.parametrize("seed", range(6))
def test_messy_files_match_or_are_declined(tmp_path: Path, seed: int) -> None:
    text = make_lots_csv(random.Random(200 + seed), 25, messy=True)
    data = text.encode()
    assert_same_or_declined(tmp_path, text, line_starts(data)[len(line_starts(data)) // 2:][:3])


def _lines(seed: int = 3, lots: int = 8) -> list[str]:
    return make_lots_csv(random.Random(seed), lots, messy=False).splitlines()


@pytest.mark.parametrize("variant", ["crlf", "bom", "semicolon", "no_final_newline", "blank_lines",
                                     "lots_out_of_order", "methods_in_another_order", "units_only_in_tail"])
def test_variants_read_the_same(tmp_path: Path, variant: str) -> None:
    lines = _lines()
    header, rows = lines[0], lines[1:]
    end = "\n"
    if variant == "crlf":
        end = "\r\n"
    elif variant == "bom":
        header = "\ufeff" + header
    elif variant == "semicolon":
        header, rows = header.replace(",", ";"), [r.replace(",", ";") for r in rows]
    elif variant == "blank_lines":  # lines are still counted: locations stay right after the split
        rows = [r if k % 7 else f"{r}\n" for k, r in enumerate(rows)]
    elif variant == "lots_out_of_order":  # a lot's rows on both sides of the split, far apart
        rows = rows[1::2] + rows[0::2]
    elif variant == "methods_in_another_order":
        rows = rows[: len(rows) // 2] + rows[len(rows) // 2:][::-1]
    elif variant == "units_only_in_tail":
        rows = [r.replace(",%", ",").replace(",cells/uL", ",") if k < len(rows) // 2 else r
                for k, r in enumerate(rows)]
    text = end.join([header, *rows]) + end
    if variant == "no_final_newline":
        text = text[:-1]
    data = text.encode()
    assert all(assert_same_or_declined(tmp_path, data, line_starts(data)[1::5]))


def _edit_tail(tail: str, head: str, what: str) -> str:
    rows = [line.split(",") for line in tail.splitlines()]
    if what == "quote":
        rows[1][4] = '"SITE-B"'
    elif what == "lone carriage return":
        return tail.replace("\n", "\r", 1)
    elif what == "value to report":
        rows[1][HEADER.index("value")] = "lots"
    elif what == "lot-level value differing across the split":  # the head's last lot, on another site
        rows[0][0] = head.splitlines()[-1].split(",")[0]
        rows[0][HEADER.index("site")] = "SITE-Z"
    return "\n".join(",".join(row) for row in rows) + "\n"


@pytest.mark.parametrize("what", ["quote", "lone carriage return", "value to report",
                                  "lot-level value differing across the split"])
def test_what_needs_the_exact_reader_is_declined(tmp_path: Path, what: str) -> None:
    lines = _lines(5, 10)
    text = "\n".join(lines) + "\n"
    split = line_starts(text.encode())[len(lines) // 2]
    head, tail = text[:split], text[split:]
    text = head + _edit_tail(tail, head, what)
    # a quoted site and a lone CR are no problems, but the csv module reads them (and counts lines)
    assert columnar(text)[1] or what in ("quote", "lone carriage return")
    ok, table = split_read(_write(tmp_path, text), split)
    assert not ok and state(table) == EMPTY, what


def test_problems_in_the_head_decline(tmp_path: Path) -> None:
    lines = _lines(6, 10)
    lines[2] = lines[2].replace(",v2,", ",,").replace("2025-", "2025/")
    text = "\n".join(lines) + "\n"
    ok, table = split_read(_write(tmp_path, text), line_starts(text.encode())[len(lines) // 2])
    assert not ok and state(table) == EMPTY


def test_text_that_is_not_utf8_in_the_tail_declines(tmp_path: Path) -> None:
    data = ("\n".join(_lines(7)) + "\n").encode()
    split = line_starts(data)[20]
    data = data[:split + 3] + b"\xff" + data[split + 4:]
    ok, table = split_read(_write(tmp_path, data), split)
    assert not ok and state(table) == EMPTY


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "lots.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_a_worker_that_dies_is_a_decline_and_is_reaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "\n".join(_lines(8)) + "\n"
    path = _write(tmp_path, text)
    monkeypatch.setattr(lots_worker, "_read_tail", lambda *args: os.kill(os.getpid(), signal.SIGKILL))
    ok, table = split_read(path, line_starts(text.encode())[10])
    assert not ok and state(table) == EMPTY
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left behind


def test_a_table_that_cannot_be_taken_over_is_a_decline_and_leaves_nothing_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "\n".join(_lines(13)) + "\n"
    path = _write(tmp_path, text)
    held: list[memoryview] = []

    def broken(packed: object, shared: memoryview) -> L.LotTable:
        held.append(shared[:8])  # a view still held when the shared file is closed
        raise ValueError("cut short")

    monkeypatch.setattr(lots_worker, "_unpack", broken)
    before = len(os.listdir("/proc/self/fd"))
    ok, table = split_read(path, line_starts(text.encode())[10])
    assert not ok and state(table) == EMPTY and held
    held.clear()  # the last view goes: the mapping (and the descriptor it keeps) with it
    import gc

    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == before
    _no_child_left()


def test_cancel_stops_a_worker_that_was_never_read(tmp_path: Path) -> None:
    text = "\n".join(_lines(9)) + "\n"
    worker = lots_worker.TailWorker(_write(tmp_path, text), "lots.csv", line_starts(text.encode())[5])
    worker.cancel()
    worker.cancel()  # twice is harmless
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_no_worker_when_no_process_can_be_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "\n".join(_lines(12, 400)) + "\n")
    monkeypatch.setattr(lots_worker, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(lots_worker, "available", lambda: True)
    monkeypatch.setattr(lots_worker, "_arrow_installed", lambda: False)

    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refuse)
    before = len(os.listdir("/proc/self/fd"))
    assert lots_worker.start(path, "lots.csv") is None
    assert len(os.listdir("/proc/self/fd")) == before  # the pipe is closed again


def test_split_points_fall_between_lots(tmp_path: Path) -> None:
    text = "\n".join(_lines(10, 6)) + "\n"
    path = _write(tmp_path, text)
    data = text.encode()
    for offset in range(len(data.split(b"\n")[0]), len(data) - 200, 97):
        split = lots_worker._lot_start_after(path, offset)
        assert split is not None and split > offset and data[split - 1:split] == b"\n"
        lot_before = data[:split].splitlines()[-1].split(b",")[0]
        lots_after = {line.split(b",")[0] for line in data[split:].splitlines()}
        # the first line of the next lot; the next line where the file's last lot is split
        assert lot_before != data[split:].split(b",")[0] or lots_after == {lot_before}


def test_no_split_point_without_a_readable_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "lot,material\n" + "L1,drug_product\n" * 100)
    assert lots_worker._lot_start_after(path, 500) is None


@pytest.mark.parametrize("typecode", ["i", "q"])
def test_adding_an_offset_in_c_matches_adding_it_in_python(typecode: str) -> None:
    rng = random.Random(1)
    for size in (0, 1, 2, 7, 1000):
        values = array(typecode, (rng.randrange(0, 1 << 20) for _ in range(size)))
        for offset in (0, 1, 12345, (1 << 30)):
            expected = array(typecode, (v + offset for v in values))
            assert lots_worker._plus(values, offset, 1 << 20) == expected
    biggest = array("i", [(1 << 31) - 2, 0])
    assert lots_worker._plus(biggest, 1, 1 << 31) == array("i", [(1 << 31) - 1, 1])


def _round_trip(table: L.LotTable) -> L.LotTable:
    shared = lots_worker._SharedFile()
    try:
        return lots_worker._unpack(lots_worker._pack(table, shared.fd), shared.view())
    finally:
        shared.close()


def test_packing_keeps_every_part_of_a_table() -> None:
    table, problems = columnar(make_lots_csv(random.Random(11), 12, messy=False))
    assert not problems
    assert state(_round_trip(table)) == state(table)
    assert state(_round_trip(L.LotTable())) == EMPTY


def test_the_shared_file_works_without_memfd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "memfd_create")  # an older kernel or platform: an unlinked temporary file
    table, _ = columnar(make_lots_csv(random.Random(12), 5, messy=False))
    assert state(_round_trip(table)) == state(table)


def test_no_worker_beside_other_threads_or_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lots_worker, "enabled", True)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.delitem(sys.modules, "pyarrow", raising=False)
    assert lots_worker.available()
    monkeypatch.setitem(sys.modules, "pyarrow", sys)  # imported: Arrow keeps threads of its own
    assert not lots_worker.available()
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # blocked, as if not installed
    assert lots_worker.available()
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert not lots_worker.available()
    finally:
        release.set()
        thread.join()
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(file=io.StringIO(), force_terminal=True)):  # the spinner's thread
        assert threading.active_count() > 1 and lots_worker.available()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert not lots_worker.available()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(lots_worker, "enabled", False)
    assert not lots_worker.available()


def _load(monkeypatch: pytest.MonkeyPatch, folder: Path, worker: bool) -> tuple[object, object]:
    """A dossier's table and report, with every lots file large, read with or without a worker
    (the core install: pyarrow blocked)."""
    from cmcflex.api import build_report

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setattr(loader, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(lots_worker, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(lots_worker, "available", lambda: worker)
    started: list[bool] = []  # per worker started: whether its split read was taken
    real = lots_worker.TailWorker
    read = real.read

    def recorded(self: lots_worker.TailWorker, table: L.LotTable) -> object:
        digest = read(self, table)
        started.append(digest is not None)
        return digest

    monkeypatch.setattr(real, "read", recorded)
    try:
        dossier = loader.load_dossier(folder)
    except DossierError as exc:
        return [str(p) for p in exc.problems], started
    finally:
        with pytest.raises(ChildProcessError):
            os.waitpid(-1, os.WNOHANG)  # the loader leaves no worker behind, whatever it found
    report = build_report(dossier, as_of=dt.date(2026, 11, 25), path_label=folder.name, generated_at="-")
    assert state(dossier.lots) is not None
    return (state(dossier.lots), report.model_dump(mode="json")), started


@pytest.mark.parametrize("sample", ["aav-bla", "cart-phase2", "edited-hsc-bla"])
def test_samples_load_and_report_the_same_with_a_worker(monkeypatch: pytest.MonkeyPatch, sample: str) -> None:
    expected, started = _load(monkeypatch, SAMPLES / sample, worker=False)
    assert not started
    got, started = _load(monkeypatch, SAMPLES / sample, worker=True)
    assert started == [True] and got == expected  # the split read was taken


def test_a_problem_in_the_tail_is_reported_where_it_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    shutil.copytree(SAMPLES / "aav-bla", folder)
    lines = (folder / "lots.csv").read_text().splitlines()
    at = len(lines) * 3 // 4
    lines[at] = lines[at].replace(lines[at].split(",")[0], " ", 1)
    (folder / "lots.csv").write_text("\n".join(lines) + "\n")
    expected, _ = _load(monkeypatch, folder, worker=False)
    got, started = _load(monkeypatch, folder, worker=True)
    assert started == [False] and got == expected  # declined: the exact reader says where
    assert any(f"lots.csv:{at + 1}:" in p for p in got), got  # type: ignore[union-attr]


# ------------------------------------------------------------------ begun with the program

@pytest.fixture
def early(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A copy of a sample whose lots.csv counts as large, on a machine where a worker may start."""
    from cmcflex.dossier import plain_csv

    folder = tmp_path / "d"
    shutil.copytree(SAMPLES / "aav-bla", folder)
    monkeypatch.setattr(plain_csv, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(lots_worker, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(lots_worker, "available", lambda: True)
    monkeypatch.setattr(lots_worker, "_arrow_installed", lambda: False)
    yield folder
    lots_worker.end_all()


def _no_child_left() -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


@pytest.mark.parametrize(("args", "begun"), [
    (["check", "{d}", "--as-of", "2026-11-25"], True),
    (["check", "--as-of", "2026-11-25", "{d}", "-f", "json"], True),
    (["check", "{d}", "{d}"], False),             # two dossiers: a portfolio
    (["check", "{d}", "--output-dir", "out"], False),
    (["diff", "{d}", "{d}"], False),
    (["check", "{d}/lots.csv"], False),           # not a dossier folder
    ([], False),
])
def test_the_program_begins_a_worker_for_check_of_one_dossier(early: Path, args: list[str], begun: bool) -> None:
    import cmcflex.__main__ as program

    program._read_ahead([a.format(d=early) for a in args])
    assert len(lots_worker._AHEAD) == (1 if begun else 0)
    lots_worker.end_all()
    assert not lots_worker._AHEAD
    _no_child_left()


def test_the_loader_claims_the_worker_begun_for_its_file(early: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cmcflex.__main__ as program

    monkeypatch.setattr(loader, "FAST_MIN_BYTES", 0)
    exact = state(loader.load_dossier(SAMPLES / "aav-bla").lots)  # no worker: a path not begun
    program._read_ahead(["check", str(early)])
    (worker,) = lots_worker._AHEAD.values()
    started = []
    monkeypatch.setattr(lots_worker, "start", lambda *a, **k: started.append(a))  # the loader's own start
    assert state(loader.load_dossier(early).lots) == exact
    assert not started and not lots_worker._AHEAD and worker.pid is None  # claimed, read and reaped
    _no_child_left()


def test_a_worker_on_a_file_changed_since_is_stopped(early: Path) -> None:
    lots_worker.begin(early)
    assert lots_worker._AHEAD
    with open(early / "lots.csv", "a", encoding="utf-8") as f:
        f.write((early / "lots.csv").read_text(encoding="utf-8").splitlines()[-1] + "\n")
    assert lots_worker.claim(early / "lots.csv") is None
    assert not lots_worker._AHEAD
    _no_child_left()


def test_the_program_stops_a_worker_no_loader_claimed(early: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cmcflex.__main__ as program
    import cmcflex.cli

    def usage_error() -> None:
        assert lots_worker._AHEAD  # begun before the command line ran
        raise SystemExit(2)

    import gc

    monkeypatch.setattr(cmcflex.cli, "main", usage_error)
    monkeypatch.setattr(sys, "argv", ["cmcflex", "check", str(early), "--bad-option"])
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "-")  # restored afterwards: the program sets it
    thresholds = gc.get_threshold()
    try:
        with pytest.raises(SystemExit):
            program.main()
    finally:
        gc.set_threshold(*thresholds)  # the program tunes the collector for itself
    assert not lots_worker._AHEAD
    _no_child_left()


def test_portfolio_workers_neither_start_nor_claim_workers(early: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lots_worker.begin(early)
    begun = dict(lots_worker._AHEAD)
    monkeypatch.setattr(lots_worker, "enabled", True)
    lots_worker.disable()  # as a portfolio worker does after its fork
    assert not lots_worker._AHEAD and not lots_worker.enabled
    for worker in begun.values():
        worker.cancel()
    _no_child_left()
