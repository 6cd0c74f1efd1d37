"""Hostile inputs and environments: output paths, signals, many or huge lot files, pool workers."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from cmcflex.dossier.lots import MAX_COLUMNS, LotTable, read_lots_csv

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_dossiers" / "cart-phase2"
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX files and signals")


def _run(*args: str, cwd: Path, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("CMCFLEX_CONFIG", "CMCFLEX_WAIVERS", "CMCFLEX_SELECT", "CMCFLEX_IGNORE", "CMCFLEX_SEVERITY",
                 "CMCFLEX_FAIL_ON"):
        env.pop(name, None)
    if "stdout" not in kwargs:
        kwargs["capture_output"] = True
    return subprocess.run([sys.executable, "-m", "cmcflex", *args], cwd=cwd, env=env, text=True,
                          timeout=timeout, **kwargs)  # type: ignore[call-overload]


def _check(*args: str, cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return _run("check", str(SAMPLE), "--as-of", "2026-03-10", "--no-config", *args, cwd=cwd, **kwargs)


# ---------------------------------------------------------------------------- output paths


def test_json_to_dash_is_standard_output_alone(tmp_path: Path) -> None:
    done = _check("-o", "json:-", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["verdict"] == "fail"  # JSON only: the console report is not mixed in
    assert not list(tmp_path.iterdir())


@POSIX
def test_dev_stdout_is_written_through_the_stream_not_replaced(tmp_path: Path) -> None:
    if not Path("/dev/stdout").exists():
        pytest.skip("no /dev/stdout")
    target = tmp_path / "captured.json"
    with open(target, "w") as out:
        done = _check("-o", "json:/dev/stdout", cwd=tmp_path, stdout=out, stderr=subprocess.PIPE)
    assert done.returncode == 1, done.stderr
    assert json.loads(target.read_text())["verdict"] == "fail"
    assert Path("/dev/stdout").is_symlink() or Path("/dev/stdout").is_char_device()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@POSIX
def test_a_device_is_written_in_place(tmp_path: Path) -> None:
    before = os.stat("/dev/null")
    done = _check("-o", "json:/dev/null", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    after = os.stat("/dev/null")
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


@POSIX
def test_a_pipe_is_written_in_place_and_one_nobody_reads_is_an_error(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done = _check("-o", f"json:{fifo}", cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "nobody reads" in done.stderr
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    time.sleep(0.2)
    done = _check("-o", f"json:{fifo}", cwd=tmp_path, timeout=60)
    reader.join(30)
    assert done.returncode == 1, done.stderr
    assert json.loads(received[0])["verdict"] == "fail"
    assert fifo.is_fifo()


@POSIX
def test_a_link_to_a_report_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    assert _check("-o", "json:link.json", cwd=tmp_path).returncode == 1
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "real.json").read_text())["verdict"] == "fail"


@POSIX
@pytest.mark.parametrize("name, says", [("loop", "loop of symbolic links"), ("x" * 300 + ".json", "too long")])
def test_unwritable_output_paths_are_errors_not_tracebacks(tmp_path: Path, name: str, says: str) -> None:
    if name == "loop":
        (tmp_path / "loop").symlink_to("loop2")
        (tmp_path / "loop2").symlink_to("loop")
    done = _check("-o", f"json:{name}", cwd=tmp_path)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def test_output_into_the_dossier_is_refused(tmp_path: Path) -> None:
    import shutil

    dossier = tmp_path / "d"
    shutil.copytree(SAMPLE, dossier)
    done = _run("check", str(dossier), "--no-config", "-o", f"json:{dossier}/r.json", cwd=tmp_path)
    assert done.returncode == 2 and "inside the dossier" in done.stderr
    assert not (dossier / "r.json").exists()


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             error: type[BaseException]) -> None:
    import cmcflex.outputs

    def fail(*args: object) -> None:
        raise error("stop")

    monkeypatch.setattr(cmcflex.outputs.os, "replace", fail)
    with pytest.raises(error):
        cmcflex.outputs.write_output(tmp_path / "r.json", "{}")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- signals


@POSIX
@pytest.mark.parametrize("signum, says", [(signal.SIGINT, "cmcflex: interrupted"),
                                          (signal.SIGTERM, "cmcflex: terminated (SIGTERM)")])
def test_a_signal_ends_with_the_project_message_and_exit_2(tmp_path: Path, signum: int, says: str) -> None:
    script = textwrap.dedent(f"""
        import os, sys
        import cmcflex.cli as cli
        def slow_write(path, text):
            os.kill(os.getpid(), {int(signum)})
        cli._write = slow_write
        sys.argv = ["cmcflex", "check", {str(SAMPLE)!r}, "--no-config", "-o", "json:r.json"]
        cli.main()
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith(says) and "Aborted" not in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and /proc")
def test_pool_workers_die_with_a_killed_main_process(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import os, sys, time
        from cmcflex.portfolio import _bind_to_parent, _context
        with _context().Pool(2, initializer=_bind_to_parent, initargs=(os.getpid(),)) as pool:
            pool.map_async(time.sleep, [60, 60])
            time.sleep(0.5)
            print(" ".join(str(p.pid) for p in pool._pool), flush=True)
            time.sleep(60)
    """)
    main = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert main.stdout is not None
    workers = [int(p) for p in main.stdout.readline().split()]
    assert len(workers) == 2
    main.kill()
    main.wait()

    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX"
        except (OSError, IndexError):
            return False

    deadline = time.monotonic() + 10
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(alive, workers))


# ---------------------------------------------------------------------------- lots files


class _CountingList(list):  # type: ignore[type-arg]
    reads = 0

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        _CountingList.reads += 1
        return super().__getitem__(i)


def test_many_lot_files_read_in_linear_time() -> None:
    table = LotTable()
    table.lot_values = {k: _CountingList() for k in table.lot_values}
    n = 400
    for i in range(n):
        problems: list = []
        read_lots_csv(io.StringIO(f"lot_id,material,use,attribute,value\nL{i},dp,phase_2,viability,90\n"
                                  f"L{i},dp,phase_2,potency,1\n"), f"lots/{i}.csv", table, problems)
        assert problems == []
    assert len(table) == n
    # each file reads the lot-level values of its own lots, not of every lot read before it
    assert _CountingList.reads < 20 * n


def test_more_lot_files_than_a_short_integer_counts() -> None:
    table = LotTable()
    table.files.extend(f"lots/{i}.csv" for i in range(40_000))
    problems: list = []
    read_lots_csv(io.StringIO("lot_id,material,use,attribute,value\nL1,dp,phase_2,viability,90\n"),
                  "lots/last.csv", table, problems)
    assert problems == []
    assert table.lot("L1").file == "lots/last.csv"  # type: ignore[union-attr]
    column = table.columns[("dp", "viability")]
    assert [table.files[i] for i in column.file] == ["lots/last.csv"]


def test_a_huge_header_is_refused_quickly() -> None:
    header = ",".join(f"lot{i}" for i in range(MAX_COLUMNS + 5))
    problems: list = []
    started = time.perf_counter()
    read_lots_csv(io.StringIO(header + "\n"), "lots.csv", LotTable(), problems)
    assert time.perf_counter() - started < 5
    assert len(problems) == 1 and "more than 10,000 columns" in str(problems[0])


def test_the_closest_name_search_of_a_wide_header_is_bounded_and_still_helps() -> None:
    names = ["lot_idd", "material", "use", "attribute", "value"] + [f"lot{i}" for i in range(MAX_COLUMNS - 10)]
    problems: list = []
    started = time.perf_counter()
    read_lots_csv(io.StringIO(",".join(names) + "\n"), "lots.csv", LotTable(), problems)
    assert time.perf_counter() - started < 5
    assert len(problems) == 1 and "did you mean 'lot_idd'" in str(problems[0])
