"""Read a dossier folder into a typed :class:`Dossier`, collecting every load problem.

Loading is read-only: files are opened for reading and nothing is written into the folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import stat
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from cmcflex.dossier.dates import EXPECTED as DATE_EXPECTED
from cmcflex.dossier.errors import (
    BOUNDS,
    EXPECTED,
    DossierError,
    Problem,
    allowed_values,
    did_you_mean,
    not_utf8,
    shown,
)
from cmcflex.dossier.lots import LotTable, StabilityPoint, read_lots_csv, read_stability_csv
from cmcflex.dossier.models import (
    ALLOGENEIC_MODALITIES,
    AUTOLOGOUS_MODALITIES,
    YAML_FILES,
    ChangesFile,
    DossierFile,
    GmpFile,
    Method,
    MethodsFile,
    Modality,
    PPQFile,
    Site,
    Specification,
    SpecificationsFile,
    SpecTest,
    WaiversFile,
)
from cmcflex.dossier.plain_csv import FAST_MIN_BYTES, MAX_CSV_BYTES
from cmcflex.dossier.spec_units import UnitExclusion, convert_criteria, convert_lots, convert_stability, spec_units
from cmcflex.dossier.spec_versions import version_problems
from cmcflex.dossier.yaml_source import SourceMap, YamlProblem, parse_yaml
from cmcflex.paths import is_inside, os_reason
from cmcflex.phases import Phase

if TYPE_CHECKING:
    from cmcflex.dossier.lots_worker import TailWorker

MAX_YAML_BYTES = 5 * 1024 * 1024


class Location(NamedTuple):
    """Where a record stands: a dossier file and a 1-based line (0 when not known)."""

    file: str
    line: int = 0


class InputFile(NamedTuple):
    file: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Dossier:
    """A loaded dossier: typed records, lot data, and where each record came from; never changed
    once loaded (derived views live in :class:`cmcflex.views.DossierViews`)."""

    root: Path
    info: DossierFile
    gmp: GmpFile | None = None
    specifications: SpecificationsFile | None = None
    methods: MethodsFile | None = None
    ppq: PPQFile | None = None
    changes: ChangesFile | None = None
    waivers: WaiversFile | None = None
    lots: LotTable | None = None
    stability: list[StabilityPoint] | None = None
    unit_exclusions: list[UnitExclusion] = field(default_factory=list)
    """Results whose unit cannot be converted to their test's unit, left out of ``lots`` and ``stability``."""
    sources: dict[str, SourceMap] = field(default_factory=dict)
    inputs: list[InputFile] = field(default_factory=list)

    # ------------------------------------------------------------ identity

    @property
    def modality(self) -> Modality:
        return self.info.product.modality

    @property
    def autologous(self) -> bool:
        """Patient-derived product (dossier-format.md, autologous modalities)."""
        if self.info.product.autologous is not None:
            return self.info.product.autologous
        return self.modality in AUTOLOGOUS_MODALITIES

    @property
    def allogeneic(self) -> bool:
        """Donor-derived cells: an allogeneic modality, or a cell modality recorded as not
        patient-derived (``product.autologous: false``, e.g. allogeneic CAR-NK as gene_modified_cells)."""
        if self.modality in ALLOGENEIC_MODALITIES:
            return True
        return self.info.product.autologous is False and self.modality in AUTOLOGOUS_MODALITIES

    @cached_property
    def lots_file(self) -> str:
        """The file messages name for the lot data: ``lots.xlsx`` when it was read from that
        workbook, ``lots/*.csv`` when the folder alone holds it, else ``lots.csv`` (which ``lots/*.csv``
        extend, and which names absent lot data)."""
        return _table_file(self, "lots")

    @cached_property
    def stability_file(self) -> str:
        """``stability.xlsx`` when the stability data were read from that workbook, else ``stability.csv``."""
        return _table_file(self, "stability")

    @property
    def pivotal_use(self) -> str:
        """The lots.csv ``use`` value of pivotal lots."""
        return self.info.pivotal_phase.value

    # ------------------------------------------------------------ lookups

    def where(self, file: str, *path: str | int) -> Location:
        """Location of a value in a YAML file, by its key path."""
        source = self.sources.get(file)
        if source is None:
            return Location(file, 0)
        return Location(file, source.locate(tuple(path))[0])

    def site(self, site_id: str | None) -> Site | None:
        return next((s for s in self.info.sites if s.id == site_id), None)

    def method(self, method_id: str | None) -> Method | None:
        if self.methods is None or method_id is None:
            return None
        return next((m for m in self.methods.methods if m.id == method_id), None)

    def spec_tests(self) -> Iterator[tuple[int, int, Specification, SpecTest]]:
        """Every test of every specification, with its indices for locating it."""
        if self.specifications is None:
            return
        for i, spec in enumerate(self.specifications.specifications):
            for j, test in enumerate(spec.tests):
                yield i, j, spec, test

    def pivotal_lot_ids(self, material: str | None = None) -> list[str]:
        if self.lots is None:
            return []
        table, use = self.lots, self.pivotal_use
        return [
            lot_id
            for lot_id, lot_use, lot_material in zip(table.lot_ids, table._lot_values["use"],
                                                     table._lot_values["material"])
            if lot_use == use and (material is None or lot_material == material)
        ]


def _table_file(dossier: Dossier, table: str) -> str:
    workbook, single = f"{table}.xlsx", f"{table}.csv"
    files = {i.file for i in dossier.inputs}
    if workbook in files:
        return workbook
    if single not in files and any(f.startswith(f"{table}/") for f in files):
        return f"{table}/*.csv"  # the lot data are the files of the folder alone
    return single


# ---------------------------------------------------------------------------- reading files


class _HashingReader(io.RawIOBase):
    """A raw binary stream that hashes what passes through it."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self.digest.update(memoryview(buffer)[:n])
            self.size += n
        return n or 0


def _check_file(root: Path, path: Path, rel: str, follow_links: bool, problems: list[Problem]) -> bool:
    if not follow_links and not is_inside(root, path):
        problems.append(Problem(rel, 0, 0, "", "symbolic link leads outside the dossier folder; "
                                "refused (use --follow-links to allow it)"))
        return False
    if not path.is_file():
        problems.append(Problem(rel, 0, 0, "", "not a regular file"))
        return False
    return True


def _field_name(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _known_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` inside ``model`` (for suggestions)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return []
            current = info.annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """Strip Optional, list and Annotated wrappers down to the model type."""
    for _ in range(5):
        origin = typing.get_origin(tp)
        if origin is None:
            return tp
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        tp = models[0] if models else (args[0] if args else tp)
    return tp


def _validation_problems(
    exc: ValidationError, model: type[BaseModel], rel: str, source: SourceMap
) -> list[Problem]:
    """One located problem per wrong value, saying what was expected with an example."""
    groups: dict[tuple[Any, ...], list[ErrorDetails]] = {}
    for err in exc.errors(include_url=False):
        loc, _ = _resolve(model, tuple(err["loc"]))
        groups.setdefault(loc, []).append(err)
    out: list[Problem] = []
    repeats: dict[tuple[str, str], list[Any]] = {}  # (field, bad value) -> [index in out, lines]
    for loc, errs in groups.items():
        _, info = _resolve(model, tuple(errs[0]["loc"]))
        name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "value")
        key = errs[0]["type"] == "extra_forbidden"
        line, col = source.locate(loc, key=key)
        if errs[0]["type"] == "identifier_number":
            message = _number_as_id(errs[0], source.numbers.get(loc))
        else:
            message = _message(model, loc, name, info, errs)
        if errs[0]["type"] == "enum" and isinstance(errs[0].get("input"), str):
            seen = repeats.setdefault((name, errs[0]["input"]), [len(out), []])
            if seen[0] != len(out):  # the same bad value again: one problem says where all are
                seen[1].append(line)
                continue
        out.append(Problem(rel, line, col, _field_name(loc), message))
    for index, lines in repeats.values():
        if lines:
            first = out[index]
            shown_lines = ", ".join(map(str, lines[:10])) + (" and more" if len(lines) > 10 else "")
            out[index] = first._replace(message=f"{first.message} ({len(lines) + 1} places: here and at "
                                                f"line{'s' if len(lines) > 1 else ''} {shown_lines})")
    return out


def _number_as_id(err: ErrorDetails, written: str | None) -> str:
    """An unquoted id YAML read as a number: what it became, and the quoted form to write."""
    number = (err.get("ctx") or {}).get("number", err.get("input"))
    text = written if written is not None else str(number)
    became = "" if written is None or written == str(number) else f" ({written} becomes {number})"
    return (f"an identifier is text, but YAML reads the unquoted {text} as a number{became}; "
            f"put it in quotes: '{text}'")


def _resolve(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    """The key path as written in the file (without pydantic's union tags) and the field found there."""
    current: Any = model
    info: Any = None
    clean: list[Any] = []
    for part in loc:
        if isinstance(part, int):
            clean.append(part)
            continue
        node = _unwrap(current)
        if isinstance(node, type) and issubclass(node, BaseModel):
            clean.append(part)
            info = node.model_fields.get(str(part))
            current = info.annotation if info is not None else None
        # else: a union member's tag ('bool', 'str'), not a key of the file
    return tuple(clean), info


def _message(model: type[BaseModel], loc: tuple[Any, ...], name: str, info: Any,
             errs: list[ErrorDetails]) -> str:
    err = errs[0]
    kind = err["type"]
    got = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        known = _known_fields(model, loc[:-1])
        message = f"unknown key '{loc[-1]}'{did_you_mean(str(loc[-1]), known)}"
        if known and not did_you_mean(str(loc[-1]), known):
            message += f"; known keys: {', '.join(known)}"
        return message
    if kind == "missing":
        return f"required field '{name}' is missing; add it, e.g. {name}: {_example(info) or '...'}"
    enum = _enum_of(info)
    if kind == "enum" and enum is not None:
        return allowed_values(_singular(name) if isinstance(loc[-1], int) else name, got,
                              [str(e.value) for e in enum])
    if kind == "literal_error":
        return f"must be {ctx.get('expected', '?')} (got {shown(got)})"
    if kind in BOUNDS:
        bounds = {k: f"{v:g}" if isinstance(v, float) else v for k, v in ctx.items()}
        return f"must be {BOUNDS[kind].format(**bounds)} (got {shown(got)})"
    if kind == "string_too_short":
        return "must not be empty"
    if len(errs) > 1 and all(e["type"] in EXPECTED for e in errs):
        wanted = list(dict.fromkeys(EXPECTED[e["type"]].replace(" or ", ", ") for e in errs))
        expected = ", ".join(wanted[:-1]) + " or " + wanted[-1]
        return f"expected {expected}{_eg(info)} (got {shown(got)})"
    if kind in EXPECTED:
        expected = EXPECTED[kind]
        if expected == "an ISO date":
            return f"expected an ISO date such as {_example(info) or '2026-03-10'} (got {shown(got)})"
        if expected == "a mapping of keys":
            return f"expected a mapping of keys, e.g. {name}: {_example(info) or '{...}'} (got {shown(got)})"
        if expected == "a list":
            return f"expected a list, e.g. {name}: {_example(info) or '[...]'} (got {shown(got)})"
        return f"expected {expected}{_eg(info)} (got {shown(got)})"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
        if DATE_EXPECTED in message and _example(info):  # the field's own example date
            message = message.replace(DATE_EXPECTED, DATE_EXPECTED.rsplit(" ", 1)[0] + " " + str(_example(info)))
        if isinstance(got, (str, int, float)) and str(got).strip() and str(got) not in message:
            message += f" (got {shown(got)})"
        return message
    return f"{message} (got {shown(got)})"


def _singular(name: str) -> str:
    """``roles`` -> ``role`` for an item of a list field (``basis`` stays)."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") and not name.endswith(("ss", "sis")) else name


def _eg(info: Any) -> str:
    example = _example(info)
    return f", e.g. {example}" if example else ""


_TYPE_EXAMPLES: dict[Any, str] = {bool: "true", int: "3", float: "12", dt.date: "2026-03-10"}


def _example(info: Any, depth: int = 0) -> str | None:
    """An example of a valid value for a field: from its description, enum or type."""
    if info is None:
        return None
    description = info.description or ""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if extra.get("examples"):
        return _yaml_scalar(str(extra["examples"][0]))
    if "e.g. " in description:
        return _first_example(description.split("e.g. ", 1)[1])
    enum = _enum_of(info)
    if enum is not None:
        return str(next(iter(enum)).value)
    if typing.get_origin(info.annotation) is typing.Literal:  # cmcflex: 1
        return _yaml_scalar(str(typing.get_args(info.annotation)[0]))
    node = _unwrap(info.annotation)
    if isinstance(node, type) and issubclass(node, BaseModel) and depth < 1:
        fields = [(n, f) for n, f in node.model_fields.items() if f.is_required()] or list(node.model_fields.items())[:2]
        inner = ", ".join(f"{n}: {_example(f, depth + 1) or '...'}" for n, f in fields)
        text = f"{{{inner}}}"
        return f"[{text}]" if typing.get_origin(info.annotation) is list else text
    if typing.get_origin(info.annotation) is list and node is str:
        return "[...]"
    for tp, example in _TYPE_EXAMPLES.items():
        if node is tp:
            return example
    return None


def _yaml_scalar(text: str) -> str:
    """``text`` as a YAML scalar, quoted when YAML would read it otherwise."""
    if text[:1] in "><!&*#|{[@`'\"%-?:," or ": " in text or " #" in text:
        return "'" + text.replace("'", "''") + "'"
    return text


def _first_example(text: str) -> str:
    """The first example in a description's 'e.g.' text: up to a comma or semicolon at depth 0."""
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "{[(":
            depth += 1
        elif ch in "}])":
            if depth == 0:
                return text[:i].strip()
            depth -= 1
        elif ch in ",;" and depth == 0:
            return text[:i].strip()
    return text.strip()


def _enum_of(info: Any) -> type[Enum] | None:
    node = _unwrap(info.annotation) if info is not None else None
    return node if isinstance(node, type) and issubclass(node, Enum) else None


def _load_yaml(
    root: Path, name: str, follow_links: bool, problems: list[Problem], inputs: list[InputFile],
    sources: dict[str, SourceMap],
) -> Any:
    path = root / name
    if not path.exists() and not path.is_symlink():
        return None
    if not _check_file(root, path, name, follow_links, problems):
        return None
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            problems.append(Problem(name, 0, 0, "", f"file is {size:,} bytes; YAML dossier files are "
                                    f"limited to {MAX_YAML_BYTES // (1024 * 1024)} MiB"))
            return None
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(name, 0, 0, "", f"cannot read file: {exc.strerror or exc}"))
        return None
    inputs.append(InputFile(name, hashlib.sha256(data).hexdigest(), len(data)))
    if b"\x00" in data:
        problems.append(Problem(name, 1, 1, "", "binary file (NUL bytes); expected UTF-8 YAML text"))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(not_utf8(name, [data]) or Problem(name, 1, 1, "", "not UTF-8 text"))
        return None
    try:
        raw, source = parse_yaml(text, name)
    except YamlProblem as exc:
        problems.append(exc.problem)
        return None
    sources[name] = source
    model = YAML_FILES[name]
    if raw is None:
        problems.append(Problem(name, 1, 1, "", "the file holds no data (empty or only comments); "
                                f"fill in its keys ({', '.join(model.model_fields)}) or remove the file"))
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(name, 1, 1, "", f"expected a mapping of keys ({', '.join(model.model_fields)}), "
                                f"found a {type(raw).__name__}"))
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, model, name, source))
        return None


FastReader = Callable[[Path, str], Any]  # (path, shown name) -> the file's digest, or None to decline


def _not_utf8_file(path: Path, rel: str) -> Problem | None:
    """The first byte of a file that is not UTF-8, located (see :func:`not_utf8`)."""
    try:
        with open(path, "rb") as f:
            return not_utf8(rel, iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return None


def _fast_lots_reader(table: LotTable, worker: TailWorker | None = None) -> FastReader | None:
    """The fast path for a large lots file: the split read of ``worker`` when one reads its tail,
    else the Arrow reader when pyarrow is installed."""
    if worker is not None:
        return lambda path, rel: worker.read(table)
    try:
        from cmcflex.dossier.lots_arrow import read_lots_fast
    except ImportError:
        return None
    return lambda path, rel: read_lots_fast(path, rel, table)


def _load_csv(root: Path, rel: str, follow_links: bool, problems: list[Problem],
              inputs: list[InputFile], read: Any, fast: Callable[[], FastReader | None] | None = None) -> Any:
    """Read one CSV file with ``read`` (a text stream), or whole with ``fast()`` when it is large."""
    path = root / rel
    if not _check_file(root, path, rel, follow_links, problems):
        return None
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            problems.append(Problem(rel, 0, 0, "", f"file is {size:,} bytes; the limit is 2 GiB"))
            return None
        reader = fast() if fast is not None and size >= FAST_MIN_BYTES else None
        digest = reader(path, rel) if reader is not None else None
        if digest is not None:
            inputs.append(InputFile(rel, digest.sha256, digest.size))
            return None
        with open(path, "rb") as raw:
            hashing = _HashingReader(raw)
            text = io.TextIOWrapper(io.BufferedReader(hashing, 1 << 20), encoding="utf-8-sig", newline="")
            result = read(text, rel)
            while text.read(1 << 20):  # hash any unread tail (e.g. after an early stop)
                pass
    except UnicodeDecodeError as exc:  # decoded a block ahead of the rows: find the bad byte itself
        problems.append(_not_utf8_file(path, rel) or Problem(rel, 1, 1, "", f"not UTF-8 text ({exc.reason})"))
        return None
    except OSError as exc:
        problems.append(Problem(rel, 0, 0, "", f"cannot read file: {exc.strerror or exc}"))
        return None
    inputs.append(InputFile(rel, hashing.digest.hexdigest(), hashing.size))
    return result


MAX_XLSX_BYTES = 256 * 1024 * 1024
TABLES = ("lots", "stability")  # tables read from NAME.csv or NAME.xlsx (cmcflex.dossier.workbook)


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _load_xlsx(root: Path, rel: str, follow_links: bool, problems: list[Problem],
               inputs: list[InputFile], read: Any, lots: LotTable | None = None) -> Any:
    """Read one .xlsx table like its CSV twin, with ``read`` (see :func:`cmcflex.dossier.workbook.read_table`)."""
    from cmcflex.dossier.workbook import read_table

    path = root / rel
    if not _check_file(root, path, rel, follow_links, problems):
        return None
    try:
        size = path.stat().st_size
        if size > MAX_XLSX_BYTES:
            problems.append(Problem(rel, 0, 0, "", f"file is {size:,} bytes; the limit for a workbook is 256 MiB"))
            return None
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(rel, 0, 0, "", f"cannot read file: {exc.strerror or exc}"))
        return None
    inputs.append(InputFile(rel, hashlib.sha256(data).hexdigest(), len(data)))
    return read_table(data, rel, rel.rsplit(".", 1)[0], problems, read, lots)


def _lots_folder_files(root: Path, problems: list[Problem]) -> list[str]:
    """``lots/*.csv`` (hidden files aside), sorted; a lots folder that cannot be opened or listed
    (a link loop, no permission) and a file name that is not UTF-8 are located problems, never
    "no lot data"."""
    folder = root / "lots"
    try:
        if not stat.S_ISDIR(folder.stat().st_mode):
            return []  # a file named "lots" is not lot data
        names = os.listdir(folder)
    except FileNotFoundError:
        if folder.is_symlink():
            problems.append(Problem("lots/", 0, 0, "", "the lots folder is a link to nothing"))
        return []
    except OSError as exc:
        problems.append(Problem("lots/", 0, 0, "", f"cannot list the lots folder: {os_reason(exc)}"))
        return []
    out = []
    for name in sorted(n for n in names if n.endswith(".csv") and not n.startswith(".")):
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(Problem(f"lots/{name}", 0, 0, "", "the file name is not UTF-8 text; rename the file"))
            continue
        out.append(f"lots/{name}")
    return out


def load_dossier(path: str | os.PathLike[str], follow_links: bool = False) -> Dossier:
    """Load every file of a dossier folder; raise :class:`DossierError` with all problems."""
    root = Path(path)
    label = str(path)
    try:
        is_folder = stat.S_ISDIR(root.stat().st_mode)
    except FileNotFoundError:
        raise DossierError([Problem(label, 0, 0, "", "no such dossier folder")]) from None
    except OSError as exc:
        raise DossierError([Problem(label, 0, 0, "", f"cannot open the dossier folder: {os_reason(exc)}")]) from None
    if not is_folder:
        raise DossierError([Problem(label, 0, 0, "", "not a folder: a dossier is a folder holding dossier.yaml")])
    worker = _start_lots_worker(root)  # reads the tail of a large lots.csv while the rest loads
    try:
        return _read_dossier(root, label, follow_links, worker)
    finally:
        if worker is not None:
            worker.cancel()


def _start_lots_worker(root: Path) -> TailWorker | None:
    """A worker process reading the tail of a large lots.csv (:mod:`cmcflex.dossier.lots_worker`), or None."""
    path = root / "lots.csv"
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or not FAST_MIN_BYTES <= info.st_size <= MAX_CSV_BYTES:
        return None
    from cmcflex.dossier.lots_worker import claim, start

    return claim(path) or start(path, "lots.csv")


def _read_dossier(root: Path, label: str, follow_links: bool, worker: TailWorker | None) -> Dossier:
    """The files of the dossier folder ``root``, read (``worker`` reading the tail of lots.csv)."""
    problems: list[Problem] = []
    inputs: list[InputFile] = []
    sources: dict[str, SourceMap] = {}
    loaded: dict[str, Any] = {}
    if not (root / "dossier.yaml").exists():
        problems.append(Problem("dossier.yaml", 0, 0, "", f"not a dossier: no dossier.yaml in {label}; every "
                                "dossier needs dossier.yaml (cmcflex: 1, product, phase, sites)"))
    for name in YAML_FILES:
        loaded[name] = _load_yaml(root, name, follow_links, problems, inputs, sources)

    for table in TABLES:
        if _present(root / f"{table}.csv") and _present(root / f"{table}.xlsx"):
            problems.append(Problem(f"{table}.xlsx", 0, 0, "", f"both {table}.csv and {table}.xlsx hold the "
                                    f"{table} table; keep one of them"))
    lots: LotTable | None = None
    lot_files = []
    if _present(root / "lots.csv"):
        lot_files.append("lots.csv")
    elif _present(root / "lots.xlsx"):
        lot_files.append("lots.xlsx")
    lot_files += _lots_folder_files(root, problems)
    if lot_files:
        lots = LotTable()
        for rel in lot_files:
            if rel.endswith(".xlsx"):
                _load_xlsx(root, rel, follow_links, problems, inputs,
                           lambda s, r: read_lots_csv(s, r, lots, problems), lots=lots)
                continue
            tail = worker if rel == "lots.csv" else None  # the worker reads lots.csv only
            _load_csv(root, rel, follow_links, problems, inputs, lambda s, r: read_lots_csv(s, r, lots, problems),
                      fast=partial(_fast_lots_reader, lots, tail))
    stability = None
    if _present(root / "stability.csv"):
        stability = _load_csv(root, "stability.csv", follow_links, problems, inputs,
                              lambda s, r: read_stability_csv(s, r, problems))
    elif _present(root / "stability.xlsx"):
        stability = _load_xlsx(root, "stability.xlsx", follow_links, problems, inputs,
                               lambda s, r: read_stability_csv(s, r, problems))
    if loaded["specifications.yaml"] is not None:
        loaded["specifications.yaml"] = convert_criteria(loaded["specifications.yaml"],
                                                         sources.get("specifications.yaml"), problems)
    if not problems:
        problems += version_problems(loaded["specifications.yaml"], lots)
    if problems or loaded["dossier.yaml"] is None:
        raise DossierError(problems)
    units = spec_units(loaded["specifications.yaml"])
    exclusions = convert_lots(lots, units) if lots is not None else []
    if stability is not None:
        stability, excluded = convert_stability(stability, units)
        exclusions += excluded
    return Dossier(
        root=root,
        info=loaded["dossier.yaml"],
        gmp=loaded["gmp.yaml"],
        specifications=loaded["specifications.yaml"],
        methods=loaded["methods.yaml"],
        ppq=loaded["ppq.yaml"],
        changes=loaded["changes.yaml"],
        waivers=loaded["waivers.yaml"],
        lots=lots,
        stability=stability,
        unit_exclusions=exclusions,
        sources=sources,
        inputs=sorted(inputs),
    )


__all__ = ["Dossier", "InputFile", "Location", "Phase", "load_dossier"]
