"""Time cmcflex against the floor it stands on, and print the ratios.

    python benchmarks/run.py                 # everything (about 8-12 minutes on 2 cores)
    python benchmarks/run.py --only a,b      # some of it
    python benchmarks/run.py --rows 200000 --scaling 10000,100000,300000 --portfolio 40 --repeats 3   # a quick look
    python benchmarks/run.py --without-fast  # as if the `fast` extra (pyarrow, NumPy) were not installed
    python benchmarks/run.py --python /tmp/core/bin/python   # another installation (e.g. a core-only venv)

Each measurement runs the command and its baseline alternately (after one warm-up round of each)
and reports medians of wall-clock time. Every measured process is started by a small fresh
launcher process, which times it and reports its maximum resident set size: a child's peak
memory on Linux includes the memory of the process that forked it, so a child of this script
(which holds the generated data) would be charged for it.

(a) ``cmcflex --version``            vs ``python -c "import typer"``                     <= 1.5x
(b) ``cmcflex check`` largest sample  vs ``python -c "import typer, pydantic, yaml, rich.console"``  <= 2.0x
(c) ``cmcflex check`` 1M lot rows     vs a bare ``csv.reader`` pass over its lots.csv
    <= 1.5x with the ``fast`` extra, <= 2.0x without; peak memory <= 250 MiB
(d) time and memory from 10k to 5M rows, sizes run in turn: the cost of one more row must not grow
    (linear); peak memory at 5M rows <= 1 GiB
(e) a portfolio of N small dossiers: one ``cmcflex check DIR`` vs one process per dossier  >= 5x faster

Generated dossiers go to benchmarks/out/ (git-ignored); results also to benchmarks/out/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate_dossier, generate_portfolio  # noqa: E402

PY = sys.executable  # the interpreter of the installation measured (--python)
LINEAR = 1.3  # (d): the cost of a row at the top of the range may exceed that at the bottom by 30 % (noise)
AS_OF = "2026-11-25"
CSV_PASS = (
    "import csv, sys\n"
    "with open(sys.argv[1], newline='', encoding='utf-8') as f:\n"
    "    for row in csv.reader(f):\n"
    "        pass\n"
)


@dataclass
class Sample:
    seconds: float
    mib: float
    cpu: float  # user + system seconds of the process and its children
    code: int


ENV = dict(os.environ)


def bytecode_cache(folder: Path) -> None:
    """Let every measured process cache compiled modules (as an installed package has them),
    under ``folder`` so that nothing is written beside the sources."""
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = str(folder)


# Started afresh for every measured command: runs it, then prints its wall time, peak resident
# set (KiB) and CPU time (itself and its waited-for children), exit code, and, when its first
# argument is 1, the peak of the memory its process tree holds together (KiB; else 0): the
# proportional set sizes (Pss) of the command and its child processes, sampled every 10 ms where
# Linux gives them. The peak resident set is that of the largest single process; a check that
# reads a large lots file with a worker process is two processes, and their sum is what it costs
# the machine. Sampling takes a lock of the measured process (reading its memory map) and slows
# it, so memory is sampled in runs of its own, never in the timed ones.
LAUNCHER = (
    "import os, subprocess, sys, threading, time\n"
    "def pss(pid):\n"
    "    try:\n"
    "        with open(f'/proc/{pid}/smaps_rollup') as f:\n"
    "            return sum(int(line.split()[1]) for line in f if line.startswith('Pss:'))\n"
    "    except (OSError, ValueError, IndexError):\n"
    "        return 0\n"
    "def tree(pid):\n"
    "    pids = [pid]\n"
    "    for p in pids:\n"
    "        try:\n"
    "            with open(f'/proc/{p}/task/{p}/children') as f:\n"
    "                pids += [int(c) for c in f.read().split()]\n"
    "        except OSError:\n"
    "            pass\n"
    "    return pids\n"
    "peak = 0\n"
    "def watch(pid, done):\n"
    "    global peak\n"
    "    while not done.wait(0.01):\n"
    "        peak = max(peak, sum(map(pss, tree(pid))))\n"
    "start = time.perf_counter()\n"
    "proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)\n"
    "done = threading.Event()\n"
    "watcher = threading.Thread(target=watch, args=(proc.pid, done), daemon=True)\n"
    "if sys.argv[1] == '1':\n"
    "    watcher.start()\n"
    "_, status, usage = os.wait4(proc.pid, 0)\n"
    "elapsed = time.perf_counter() - start\n"
    "done.set()\n"
    "if watcher.is_alive():\n"
    "    watcher.join()\n"
    "print(elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status), peak)\n"
)


def run(cmd: Sequence[str], tree: bool = False) -> Sample:
    """Run a command to completion through the launcher; its wall time, peak memory and CPU time
    (with ``tree``, the peak memory is that of its process tree, if larger than the largest
    process's; time that run for nothing: sampling slows it)."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, "1" if tree else "0", *cmd], capture_output=True,
                          cwd=ROOT, env=ENV)
    fields = done.stdout.split()
    code = int(fields[3]) if len(fields) == 5 else -1
    if done.returncode != 0 or code not in (0, 1):
        raise SystemExit(f"benchmark: {' '.join(cmd)} exited {code}:\n{done.stderr.decode(errors='replace')[-2000:]}")
    return Sample(float(fields[0]), max(int(fields[1]), int(fields[4])) / 1024, float(fields[2]), code)


def with_tree_memory(sample: Sample, cmd: Sequence[str]) -> Sample:
    """``sample`` with the peak memory of one more run of ``cmd`` with its process tree sampled, if larger."""
    return Sample(sample.seconds, max(sample.mib, run(cmd, tree=True).mib), sample.cpu, sample.code)


def run_all(cmds: Sequence[Sequence[str]]) -> Sample:
    """Run commands one after another (one process each): the sum of their times."""
    samples = [run(c) for c in cmds]
    return Sample(sum(s.seconds for s in samples), max(s.mib for s in samples),
                  sum(s.cpu for s in samples), max(s.code for s in samples))


def alternate(a: Callable[[], Sample], b: Callable[[], Sample], repeats: int, warmup: bool = True
              ) -> tuple[Sample, Sample]:
    """Medians of ``repeats`` alternating runs of a and b (after a warm-up run of each)."""
    if warmup:
        a(), b()
    xs, ys = [], []
    for _ in range(repeats):
        xs.append(a())
        ys.append(b())
    return median(xs), median(ys)


def round_robin(commands: dict[int, list[str]], repeats: int) -> dict[int, Sample]:
    """Medians of ``repeats`` rounds that run every command once each (after a warm-up round), so
    a change in the machine's load falls on every size alike rather than on one."""
    for cmd in commands.values():
        run(cmd)
    samples: dict[int, list[Sample]] = {key: [] for key in commands}
    for _ in range(repeats):
        for key, cmd in commands.items():
            samples[key].append(run(cmd))
    return {key: median(found) for key, found in samples.items()}


def median(samples: list[Sample]) -> Sample:
    return Sample(statistics.median(s.seconds for s in samples), statistics.median(s.mib for s in samples),
                  statistics.median(s.cpu for s in samples), max(s.code for s in samples))


# ``cmcflex`` with pyarrow (and so the Arrow reader) made unimportable, for --without-fast.
WITHOUT_FAST = ("import sys; sys.modules['pyarrow'] = None; sys.argv[0] = 'cmcflex'; "
                "from cmcflex.__main__ import main; main()")


def cmcflex_command(without_fast: bool = False) -> list[str]:
    """The installed console script of the measured interpreter (what users run), else
    ``python -m cmcflex``; with ``without_fast``, cmcflex with pyarrow blocked."""
    if without_fast:
        return [PY, "-c", WITHOUT_FAST]
    if PY == sys.executable:
        scripts = sysconfig.get_path("scripts")
    else:
        scripts = subprocess.run([PY, "-c", "import sysconfig; print(sysconfig.get_path('scripts'))"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    script = Path(scripts) / "cmcflex"
    if script.is_file():
        return [str(script)]
    found = shutil.which("cmcflex")
    if PY == sys.executable and found and Path(found).read_bytes()[:2] == b"#!" \
            and b"python" in Path(found).read_bytes()[:200]:
        return [found]
    return [PY, "-m", "cmcflex"]


def fast_extra(without_fast: bool) -> str | None:
    """The pyarrow version the measured cmcflex will use for large lots files, or None."""
    if without_fast:
        return None
    found = subprocess.run([PY, "-c", "import numpy, pyarrow; print(pyarrow.__version__)"],
                           capture_output=True, text=True, cwd=ROOT, env=ENV)
    return found.stdout.strip() if found.returncode == 0 else None


def largest_sample() -> Path:
    samples = [p for p in (ROOT / "sample_dossiers").iterdir() if (p / "dossier.yaml").is_file()]
    return max(samples, key=lambda p: (sum(f.stat().st_size for f in p.rglob("*") if f.is_file()), p.name))


def ensure_dossier(out: Path, rows: int) -> Path:
    path = out / f"rows-{rows}"
    stamp = path / ".complete"
    if not stamp.exists():
        shutil.rmtree(path, ignore_errors=True)
        generate_dossier(path, rows=rows)
        stamp.write_text("")
    return path


def ensure_portfolio(out: Path, count: int, rows: int) -> Path:
    path = out / f"portfolio-{count}x{rows}"
    stamp = out / f".portfolio-{count}x{rows}.complete"
    if not stamp.exists():
        shutil.rmtree(path, ignore_errors=True)
        generate_portfolio(path, count, rows=rows)
        stamp.write_text("")
    return path


# ---------------------------------------------------------------------------- the table

ROWS: list[dict[str, object]] = []


def report(key: str, what: str, ours: Sample, base: Sample | None, ratio: float, target: str, ok: bool,
           note: str = "", unit: str = "s") -> None:
    ROWS.append({"key": key, "what": what, "cmcflex_s": round(ours.seconds, 3),
                 "baseline_s": round(base.seconds, 3) if base else None, "ratio": round(ratio, 2),
                 "target": target, "ok": ok, "cmcflex_mib": round(ours.mib, 1),
                 "baseline_mib": round(base.mib, 1) if base else None, "note": note})
    digits = 3 if unit == "s" else 0
    width = 10 - len(unit)
    base_text = f"{base.seconds:{width}.{digits}f} {unit}" if base else " " * 11
    print(f"{key:<4}{what:<52}{ours.seconds:{width}.{digits}f} {unit} {base_text}  {ratio:6.2f}x  {target:<11} "
          f"{'ok' if ok else 'MISSED'}  {note}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="lot-result rows of the large dossier (c)")
    parser.add_argument("--scaling", default="10000,100000,300000,1000000,5000000",
                        help="row counts for (d), comma-separated")
    parser.add_argument("--portfolio", type=int, default=200, help="dossiers in the portfolio (e)")
    parser.add_argument("--portfolio-rows", type=int, default=480, help="rows of each portfolio dossier")
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs per measurement")
    parser.add_argument("--portfolio-repeats", type=int, default=1,
                        help="alternating runs for (e): its baseline alone takes minutes")
    parser.add_argument("--only", default="a,b,c,d,e", help="which measurements, e.g. a,b")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="folder for generated dossiers")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE as it is (every run compiles cmcflex from source)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the installation to measure (its cmcflex, its baselines)")
    parser.add_argument("--without-fast", action="store_true",
                        help="run cmcflex with pyarrow blocked, as without the `fast` extra")
    args = parser.parse_args(argv)
    global PY
    PY = args.python
    only = set(args.only.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.no_bytecode_cache:
        bytecode_cache(args.out / "pycache")
    cmc = cmcflex_command(args.without_fast)
    arrow = fast_extra(args.without_fast)
    shown = "cmcflex (pyarrow blocked)" if args.without_fast else " ".join(cmc)
    version = subprocess.run([PY, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"cmcflex: {shown} · python {version} · {os.cpu_count()} CPUs · "
          f"bytecode cache {'off' if args.no_bytecode_cache else 'on'} · load {os.getloadavg()[0]:.1f} · "
          f"fast extra: {'pyarrow ' + arrow if arrow else 'absent'}", flush=True)
    print(f"{'':<4}{'measurement':<52}{'cmcflex':>11} {'baseline':>11}  {'ratio':>7}  {'target':<11}", flush=True)

    if "a" in only:
        ours, base = alternate(lambda: run([*cmc, "--version"]), lambda: run([PY, "-c", "import typer"]),
                               args.repeats * 2)
        ratio = ours.seconds / base.seconds
        report("(a)", "cmcflex --version vs import typer", ours, base, ratio, "<= 1.5x", ratio <= 1.5)

    if "b" in only:
        sample = largest_sample()
        ours, base = alternate(
            lambda: run([*cmc, "check", str(sample), "--as-of", AS_OF]),
            lambda: run([PY, "-c", "import typer, pydantic, yaml, rich.console"]), args.repeats * 2)
        ratio = ours.seconds / base.seconds
        report("(b)", f"check {sample.name} vs import typer,pydantic,yaml,rich", ours, base, ratio, "<= 2.0x",
               ratio <= 2.0)

    if "c" in only:
        big = ensure_dossier(args.out, args.rows)
        size = (big / "lots.csv").stat().st_size / 1e6
        check = [*cmc, "check", str(big), "--as-of", AS_OF]
        ours, base = alternate(lambda: run(check), lambda: run([PY, "-c", CSV_PASS, str(big / "lots.csv")]),
                               args.repeats)
        ours = with_tree_memory(ours, check)
        ratio = ours.seconds / base.seconds
        limit = 1.5 if arrow else 2.0
        report("(c)", f"check {args.rows:,} rows ({size:.0f} MB) vs csv.reader pass", ours, base, ratio,
               f"<= {limit}x", ratio <= limit, f"CPU {ours.cpu:.2f} s vs {base.cpu:.2f} s")
        report("", "  peak memory (MiB; baseline: csv.reader pass)", Sample(ours.mib, ours.mib, 0, 0),
               Sample(base.mib, base.mib, 0, 0), ours.mib / base.mib, "<= 250 MiB", ours.mib <= 250,
               unit="MiB")

    if "d" in only:
        sizes = sorted(int(s) for s in args.scaling.split(","))
        commands = {rows: [*cmc, "check", str(ensure_dossier(args.out, rows)), "--as-of", AS_OF] for rows in sizes}
        scaling = round_robin(commands, args.repeats)
        scaling = {rows: with_tree_memory(found, commands[rows]) for rows, found in scaling.items()}
        points = []
        for rows in sizes:
            points.append((rows, scaling[rows]))
            print(f"      {rows:>9,} rows  {scaling[rows].seconds:7.3f} s  {scaling[rows].mib:7.1f} MiB"
                  f"  (CPU {scaling[rows].cpu:6.2f} s)", flush=True)
        (r0, s0), (r1, s1), (r2, s2) = points[0], points[-2], points[-1]
        low_t = (s1.seconds - s0.seconds) / (r1 - r0)
        high_t = (s2.seconds - s1.seconds) / (r2 - r1)
        low_m = max((s1.mib - s0.mib) / (r1 - r0), 1e-9)
        high_m = (s2.mib - s1.mib) / (r2 - r1)
        growth_t, growth_m = high_t / low_t, high_m / low_m
        # CPU time is steadier than wall time on a shared machine: shown beside it
        cpu_growth = ((s2.cpu - s1.cpu) / (r2 - r1)) / max((s1.cpu - s0.cpu) / (r1 - r0), 1e-12)
        report("(d)", f"time per extra row, {r1 // 1000:,}k->{r2 // 1000:,}k vs {r0 // 1000:,}k->{r1 // 1000:,}k",
               s2, s1, growth_t, "~1x (<=1.3)", growth_t <= LINEAR,
               f"{high_t * 1e6:.2f} vs {low_t * 1e6:.2f} us/row; CPU time {cpu_growth:.2f}x")
        report("", "  memory per extra row, same intervals", Sample(s2.mib, s2.mib, 0, 0),
               Sample(s1.mib, s1.mib, 0, 0), growth_m, "~1x (<=1.3)", growth_m <= LINEAR,
               f"{high_m * 2**20:.0f} vs {low_m * 2**20:.0f} bytes/row", unit="MiB")
        if r2 >= 5_000_000:
            report("", f"  peak memory at {r2:,} rows", Sample(s2.mib, s2.mib, 0, 0), None, s2.mib / 1024,
                   "<= 1024 MiB", s2.mib <= 1024, f"{s2.seconds:.1f} s", unit="MiB")

    if "e" in only:
        folder = ensure_portfolio(args.out, args.portfolio, args.portfolio_rows)
        each = [[*cmc, "check", str(p), "--as-of", AS_OF] for p in sorted(folder.iterdir()) if p.is_dir()]
        ours, base = alternate(lambda: run([*cmc, "check", str(folder), "--as-of", AS_OF]),
                               lambda: run_all(each), args.portfolio_repeats, warmup=False)
        speedup = base.seconds / ours.seconds
        cores = ours.cpu / ours.seconds
        report("(e)", f"portfolio of {len(each)}: one invocation vs one process each", ours, base, speedup,
               ">= 5x", speedup >= 5, f"{cores:.1f} cores busy")

    name = "results-without-fast.json" if args.without_fast or not arrow else "results.json"
    (args.out / name).write_text(json.dumps(ROWS, indent=2) + "\n")
    missed = [r["key"] or "memory" for r in ROWS if not r["ok"]]
    print("all targets met" if not missed else f"missed: {', '.join(str(m) for m in missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
