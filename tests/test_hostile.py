"""Hostile inputs and environments: output paths, signals, many or huge lot files, pool workers."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmcflex.dossier.lots import MAX_COLUMNS, LotTable, read_lots_csv

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_dossiers" / "cart-phase2"
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX files and signals")


def _run(*args: str, cwd: Path, timeout: float = 120, extra_env: dict[str, str] | None = None,
         **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("CMCFLEX_CONFIG", "CMCFLEX_WAIVERS", "CMCFLEX_SELECT", "CMCFLEX_IGNORE", "CMCFLEX_SEVERITY",
                 "CMCFLEX_FAIL_ON"):
        env.pop(name, None)
    env.update(extra_env or {})
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
    table._lot_values = {k: _CountingList() for k in table._lot_values}
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
    column = table._columns[("dp", "viability")]
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


# ---------------------------------------------------------------------------- dossier text is inert

HOSTILE = "X\n::error::pwned \x1b[31mred\x9b2J \u202eevil\u2066 https://e.vil/x ##[group]g"
COMMAND_LINE = re.compile(r"^\s*(::|##\[)")
UNSAFE = re.compile(r"[\x1b\x80-\x9f\u202a-\u202e\u2066-\u2069]")


def _hostile_dossier(root: Path, product: str = HOSTILE) -> Path:
    import shutil

    import yaml

    shutil.copytree(SAMPLE, root)
    data = yaml.safe_load((root / "dossier.yaml").read_text())
    data["product"]["name"] = product
    (root / "dossier.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return root


def _assert_inert(text: str, commands_allowed: bool = False) -> None:
    assert not UNSAFE.search(text), repr(UNSAFE.search(text))
    for line in text.splitlines():
        if commands_allowed and re.match(r"::(error|warning|notice) (file|title)=", line):
            continue
        assert not COMMAND_LINE.match(line), line


@pytest.mark.parametrize("fmt", ["console", "json", "sarif", "junit", "markdown", "html", "github"])
def test_every_format_keeps_dossier_text_inert(tmp_path: Path, fmt: str) -> None:
    _hostile_dossier(tmp_path / "d")
    done = _run("check", "d", "--no-config", "--as-of", "2026-03-10", "-f", fmt, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    _assert_inert(done.stdout, commands_allowed=fmt == "github")
    if fmt in ("json", "sarif"):
        json.loads(done.stdout)  # escaped, not removed: still the same JSON values
    if fmt == "json":
        assert json.loads(done.stdout)["dossier"]["product"] == HOSTILE


def test_portfolio_summary_keeps_dossier_text_inert(tmp_path: Path) -> None:
    _hostile_dossier(tmp_path / "p" / "a")
    _hostile_dossier(tmp_path / "p" / "b")
    done = _run("check", "p", "--no-config", "--as-of", "2026-03-10", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    _assert_inert(done.stdout)
    assert len(done.stdout.splitlines()) == 5  # header, rule, two rows, totals: no line breaks added


def test_diff_warning_and_load_errors_keep_dossier_text_inert(tmp_path: Path) -> None:
    _hostile_dossier(tmp_path / "old")
    _hostile_dossier(tmp_path / "new", product="\x1b]8;;https://e.vil\x07Y\n::warning::z")
    done = _run("diff", "old", "new", "--no-config", "--as-of", "2026-03-10", cwd=tmp_path)
    assert "two different products" in done.stderr
    _assert_inert(done.stderr)
    _assert_inert(done.stdout)
    bad = tmp_path / "bad"
    _hostile_dossier(bad)
    (bad / "gmp.yaml").write_text('"\\e[2J::error::k\\u202e": 1\n' + (bad / "gmp.yaml").read_text())
    done = _run("check", "bad", "--no-config", cwd=tmp_path)
    assert done.returncode == 2
    _assert_inert(done.stderr)
    assert "gmp.yaml:1:" in done.stderr


def test_markdown_does_not_autolink_dossier_addresses() -> None:
    from cmcflex.report.markdown import md

    assert md("see https://e.vil/a and www.e.vil.") == "see `https://e.vil/a` and `www.e.vil`."


@pytest.mark.parametrize("justification", ["\u200b\u200b", "\ufeff \u2060", "\u3164", "\u202e\u0301"])
def test_a_justification_of_invisible_characters_is_blank(tmp_path: Path, justification: str) -> None:
    import yaml

    dossier = _hostile_dossier(tmp_path / "d", product="P")
    waivers = {"waivers": [{"rule": "PPQ-006", "justification": justification, "approved_by": "QA"}]}
    (dossier / "waivers.yaml").write_text(yaml.safe_dump(waivers, allow_unicode=True))
    done = _run("check", "d", "--no-config", cwd=tmp_path)
    assert done.returncode == 2 and "needs a justification" in done.stderr


@given(st.text(alphabet=st.characters(codec="utf-8", categories=("Cc", "Cf", "Zl", "Zp", "Zs", "Ll", "Po")),
               max_size=40)
       | st.lists(st.sampled_from(["::", "##[", "\n", "\x1b[", "\u202e", "\x9b", "a", " ", "\udcff"]),
                  max_size=12).map("".join))
def test_clean_leaves_no_control_no_line_break_and_no_command(text: str) -> None:
    from cmcflex.report.text import clean

    out = clean(text)
    assert "\n" not in out and "::" not in out and "##[" not in out
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]", out)
    out.encode("utf-8")  # writable, whatever bytes a file name held


# ---------------------------------------------------------------------------- configuration

CONFIG = 'select = ["PPQ", "SPEC"]\nignore = ["PPQ-006"]\n[severity]\nPPQ-005 = "minor"\n'


@POSIX
@pytest.mark.parametrize("how", ["--config", "--waivers", "CMCFLEX_CONFIG", "CMCFLEX_WAIVERS"])
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "folder"])
def test_config_and_waivers_accept_only_regular_files(tmp_path: Path, how: str, kind: str) -> None:
    target = {"/dev/zero": "/dev/zero", "fifo": str(tmp_path / "fifo"), "folder": str(tmp_path)}[kind]
    if kind == "fifo":
        os.mkfifo(target)
    args, env = ([how, target], {}) if how.startswith("--") else ([], {how: target})
    started = time.monotonic()
    done = _run("check", str(SAMPLE), *args, cwd=tmp_path, extra_env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 30


def test_a_large_waivers_file_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "w.yaml"
    with open(big, "wb") as f:
        f.truncate(6 * 1024 * 1024)
    done = _check("--waivers", str(big), cwd=tmp_path)
    assert done.returncode == 2 and "the limit is 5,242,880" in done.stderr


def test_a_configuration_inside_the_dossier_is_refused(tmp_path: Path) -> None:
    dossier = _hostile_dossier(tmp_path / "d", product="P")
    (dossier / "cmcflex.toml").write_text('ignore = ["PPQ", "SPEC", "GMP", "CMP"]\n')
    done = _run("check", ".", cwd=dossier)
    assert done.returncode == 2 and "inside the dossier folder" in done.stderr
    assert _run("check", ".", "--no-config", cwd=dossier).returncode == 1


@POSIX
def test_a_configuration_others_can_write_is_refused_unless_named(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    config = work / "cmcflex.toml"
    config.write_text(CONFIG)
    config.chmod(0o666)
    done = _run("check", str(SAMPLE), "--as-of", "2026-03-10", cwd=work)
    assert done.returncode == 2 and "anyone can write it" in done.stderr
    assert _run("check", str(SAMPLE), "--as-of", "2026-03-10", "--config", str(config), cwd=work).returncode == 1
    config.chmod(0o644)
    work.chmod(0o777)  # others could replace the file
    try:
        done = _run("check", str(SAMPLE), "--as-of", "2026-03-10", cwd=work)
        assert done.returncode == 2 and "folder anyone can write" in done.stderr
    finally:
        work.chmod(0o755)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_configuration_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    config = work / "cmcflex.toml"
    config.write_text(CONFIG)
    os.chown(config, 54321, -1)
    done = _run("check", str(SAMPLE), "--as-of", "2026-03-10", cwd=work)
    assert done.returncode == 2 and "belongs to another user" in done.stderr
    os.chown(config, os.geteuid(), -1)
    os.chown(work, 54321, -1)
    done = _run("check", str(SAMPLE), "--as-of", "2026-03-10", cwd=work)
    assert done.returncode == 2 and "in a folder of another user" in done.stderr
    assert _run("check", str(SAMPLE), "--as-of", "2026-03-10", "--config", str(config), cwd=work).returncode == 1


@pytest.mark.parametrize("fmt", ["console", "json", "sarif", "junit", "markdown", "html", "github"])
def test_the_configuration_in_force_shows_in_every_format(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "team.toml").write_text(CONFIG)
    done = _run("check", str(SAMPLE), "--as-of", "2026-03-10", "--config", "team.toml", "-f", fmt, cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    for shown in ("team.toml", "PPQ-006", "PPQ-005"):
        assert shown in done.stdout, (fmt, shown)
    if fmt == "json":
        assert json.loads(done.stdout)["configuration"] == {"file": "team.toml", "select": ["PPQ", "SPEC"],
                                                             "ignore": ["PPQ-006"]}
    plain = _run("check", str(SAMPLE), "--as-of", "2026-03-10", "--no-config", "-f", fmt, cwd=tmp_path)
    if fmt not in ("json", "sarif", "junit"):
        assert "none (defaults)" in plain.stdout


# ---------------------------------------------------------------------------- filesystem


def _copy(dest: Path) -> Path:
    import shutil

    shutil.copytree(SAMPLE, dest)
    return dest


@POSIX
def test_a_lots_folder_that_loops_is_a_located_error(tmp_path: Path) -> None:
    dossier = _copy(tmp_path / "d")
    (dossier / "lots").symlink_to("lots2")
    (dossier / "lots2").symlink_to("lots")
    done = _run("check", "d", "--no-config", cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert "lots/:0:0: -: cannot list the lots folder: a loop of symbolic links" in done.stderr


@POSIX
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root lists folders whatever their mode")
def test_a_lots_folder_that_cannot_be_listed_is_a_located_error(tmp_path: Path) -> None:
    dossier = _copy(tmp_path / "d")
    (dossier / "lots").mkdir()
    (dossier / "lots").chmod(0o300)
    try:
        done = _run("check", "d", "--no-config", cwd=tmp_path)
    finally:
        (dossier / "lots").chmod(0o755)
    assert done.returncode == 2 and "cannot list the lots folder" in done.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="file names as bytes")
def test_a_lot_file_name_that_is_not_utf8_is_reported_safely(tmp_path: Path) -> None:
    dossier = _copy(tmp_path / "d")
    (dossier / "lots").mkdir()
    os.rename(dossier / "lots.csv", os.path.join(os.fsencode(dossier / "lots"), b"b\xff\x1b.csv"))
    done = _run("check", "d", "--no-config", cwd=tmp_path)
    assert done.returncode == 2
    assert "lots/b\\xff\ufffd.csv:0:0: -: the file name is not UTF-8 text" in done.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="file names as bytes")
@pytest.mark.parametrize("fmt", ["console", "json", "sarif", "junit", "markdown", "html", "github"])
def test_a_dossier_folder_name_that_is_not_utf8_renders_in_every_format(tmp_path: Path, fmt: str) -> None:
    _copy(Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"p\xff"))))
    done = subprocess.run([sys.executable, "-m", "cmcflex", "check", b"p\xff", "--no-config", "--as-of",
                           "2026-03-10", "-f", fmt], cwd=tmp_path, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 1, done.stderr
    text = done.stdout.decode("utf-8")  # valid UTF-8, whatever the folder's name
    if fmt not in ("junit", "markdown"):  # these do not name the folder
        assert "p\\xff" in text or "p\\\\xff" in text or "p/xff" in text


@POSIX
def test_portfolio_does_not_follow_a_link_out_of_the_portfolio(tmp_path: Path) -> None:
    _copy(tmp_path / "port" / "a")
    _copy(tmp_path / "elsewhere")
    (tmp_path / "port" / "b").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "port" / "c").symlink_to("a")  # inside the portfolio: followed
    done = _run("check", "port", "--no-config", "--as-of", "2026-03-10", "-f", "json", cwd=tmp_path)
    outcomes = {o["dossier"]: o for o in json.loads(done.stdout)}
    assert done.returncode == 2
    assert outcomes["port/b"]["verdict"] is None and "--follow-links" in outcomes["port/b"]["error"]
    assert outcomes["port/a"]["verdict"] == outcomes["port/c"]["verdict"] == "fail"
    done = _run("check", "port", "--no-config", "--as-of", "2026-03-10", "-f", "json", "--follow-links",
                cwd=tmp_path)
    assert done.returncode == 1 and all(o["verdict"] == "fail" for o in json.loads(done.stdout))


@POSIX
@pytest.mark.parametrize("command", ["check", "diff", "plan"])
@pytest.mark.parametrize("shape", ["loop", "long-name", "long-path"])
def test_link_loops_and_long_paths_are_located_errors(tmp_path: Path, command: str, shape: str) -> None:
    if shape == "loop":
        (tmp_path / "l1").symlink_to("l2")
        (tmp_path / "l2").symlink_to("l1")
        path = "l1"
    else:
        path = "a" * 300 if shape == "long-name" else "/".join(["abcdefgh"] * 600)
    args = [command, path, *([str(SAMPLE)] if command == "diff" else []), "--no-config"]
    done = _run(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert "loop of symbolic links" in done.stderr or "too long" in done.stderr


# ---------------------------------------------------------------------------- generated hostile names

NAMES = (st.text(alphabet=st.characters(codec="utf-8", categories=("Cc", "Cf", "Zl", "Zp", "Zs", "Lu", "Po", "Sm")),
                 max_size=30)
         | st.lists(st.sampled_from(["::error::x", "\n", "\r\n", "##[group]", "\x1b]8;;http://e.vil\x07",
                                     "\u202e", "\u2066", "\x9b31m", "\u2028", "https://e.vil", "@team", "`", "<b>",
                                     "\udcff", " "]), max_size=8).map("".join))


def _base_report():  # type: ignore[no-untyped-def]
    import datetime as dt
    from functools import lru_cache

    @lru_cache(maxsize=1)
    def build():  # type: ignore[no-untyped-def]
        import tempfile

        from cmcflex.api import build_report
        from cmcflex.dossier.loader import load_dossier
        from tests.report.sample import RULES, sample_dossier

        with tempfile.TemporaryDirectory() as tmp:  # small: every format renders fast
            dossier = load_dossier(sample_dossier(Path(tmp) / "d"))
        return build_report(dossier, as_of=dt.date(2026, 11, 25), path_label="d", rules=list(RULES))

    return build()


_BASE = _base_report


@settings(max_examples=30)
@given(product=NAMES, message=NAMES, record=NAMES, path=NAMES)
def test_generated_names_stay_inert_in_every_format(product: str, message: str, record: str, path: str) -> None:
    from cmcflex.portfolio import DossierOutcome, summary_text
    from cmcflex.report.formats import renderer

    base = _BASE()
    first = base.findings[0].model_copy(update={"message": message, "record": record or None})
    report = base.model_copy(update={
        "dossier": base.dossier.model_copy(update={"product": product, "path": path}),
        "findings": [first, *base.findings[1:]],
    })
    for fmt in ("console", "json", "sarif", "junit", "markdown", "html", "github"):
        text = renderer(fmt)(report)
        text.encode("utf-8")
        _assert_inert(text, commands_allowed=fmt == "github")
    summary = summary_text([DossierOutcome(path, 2, product=product, error=message, problems=(record,))])
    _assert_inert(summary)
