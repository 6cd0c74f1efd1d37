"""Safe YAML parsing that keeps the line and column of every key and value.

The document is built from the parser's event stream with an explicit stack (no recursion,
so deep nesting cannot overflow the interpreter or the C stack). Only YAML's core scalar types
are built (strings, numbers, booleans, nulls; dates stay text); any tag that would construct
an object is refused. Aliases are followed but their expansion is bounded, duplicate keys are
errors, and nesting depth is limited, so hostile files fail fast with a located error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from cmcflex.dossier.errors import Problem

try:  # the C parser is several times faster; fall back to pure Python where absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_NODES = 200_000  # values in one file, counting alias expansion
MAX_DEPTH = 64  # nesting levels

_P = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _TIMESTAMP, _MERGE = _P + "str", _P + "map", _P + "seq", _P + "timestamp", _P + "merge"
_INT, _FLOAT = _P + "int", _P + "float"
_NUMBER_TAGS = (_INT, _FLOAT)
_ALLOWED_SCALAR_TAGS = {_STR, _TIMESTAMP, _INT, _FLOAT, _P + "bool", _P + "null"}

Path = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Where each value and key of one YAML file stands (1-based line and column)."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    numbers: dict[Path, str] = field(default_factory=dict)
    """The text as written of each unquoted value read as a number (``0106`` read as 70)."""

    def locate(self, path: Path, key: bool = False) -> tuple[int, int]:
        """Position of ``path``, or of its nearest located ancestor."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def line(self, path: Path) -> int:
        return self.locate(path)[0]


class YamlProblem(Exception):
    """A YAML file that cannot be turned into data."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def dotted(path: Path) -> str:
    """``sites[0].roles`` from ``("sites", 0, "roles")``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_CONSTRUCTOR = yaml.SafeLoader("")  # only its scalar constructors are used


class _Frame:
    """An open mapping or sequence while its events stream in (mutable, one per container)."""

    __slots__ = ("container", "is_list", "path", "anchor", "start_count", "key", "key_pending")

    def __init__(self, container: dict[str, Any] | list[Any], path: Path, anchor: str | None,
                 start_count: int) -> None:
        self.container: Any = container  # the dict or list is_list says (checked once, not per event)
        self.is_list = isinstance(container, list)
        self.path = path
        self.anchor = anchor
        self.start_count = start_count
        self.key: str | None = None
        self.key_pending = True  # mappings: the next value event is a key


class _Builder:
    def __init__(self, file: str, loader: Any):
        self.file = file
        self.loader = loader
        self.map = SourceMap(file)
        self.count = 0
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.documents = 0

    def fail(self, mark: Any, message: str, path: Path = ()) -> YamlProblem:
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        field_name = dotted(path)
        if len(field_name) > 80:
            field_name = field_name[:77] + "..."
        return YamlProblem(Problem(self.file, line, col, field_name, message))

    def _count(self, mark: Any, n: int = 1) -> None:
        self.count += n
        if self.count > MAX_NODES:
            raise self.fail(mark, f"more than {MAX_NODES:,} values (alias expansion or an oversized "
                            "file); a dossier file is never this large", self._path())

    def _path(self) -> Path:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if top.is_list:
            return top.path + (len(top.container),)
        return top.path + ((top.key,) if top.key is not None and not top.key_pending else ())

    def run(self) -> Any:
        get_event = self.loader.get_event
        value_event = self.value_event
        while True:
            event = get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent:  # the common case first: one check, no isinstance chain
                value_event(event)
                continue
            if isinstance(event, yaml.StreamEndEvent):
                return self.root
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise self.fail(event.start_mark, "more than one YAML document in the file "
                                    "(a second '---'); a dossier file holds one document")
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.DocumentEndEvent)):
                continue
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = self.stack.pop()
                if isinstance(frame.container, dict) and not frame.key_pending:  # pragma: no cover
                    raise self.fail(event.start_mark, "mapping ended after a key without a value")
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = (frame.container, self.count - frame.start_count + 1)
                continue
            value_event(event)

    def value_event(self, event: Any) -> None:
        stack = self.stack
        top = stack[-1] if stack else None
        if top is not None and top.key_pending and not top.is_list:
            self.key_event(event, top)
            return
        path = self._path()
        mark = event.start_mark
        self.map.values.setdefault(path, (mark.line + 1, mark.column + 1))
        self._count(mark)
        if len(stack) >= MAX_DEPTH:
            raise self.fail(mark, f"nesting deeper than {MAX_DEPTH} levels", path)
        if isinstance(event, yaml.ScalarEvent):  # the common case first
            value = self.scalar(event, path)
            if event.anchor is not None:
                self.anchors[event.anchor] = (value, 1)
            self.place(value)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise self.fail(mark, f"alias *{event.anchor} refers to no complete anchor "
                                "(undefined or recursive)", path)
            value, size = self.anchors[event.anchor]
            self._count(mark, size)
            self.place(value)
        elif isinstance(event, yaml.MappingStartEvent):
            if event.tag not in (None, "!", _MAP):
                raise self.fail(mark, f"tag {event.tag!r} is not allowed (dossier files hold plain data)", path)
            container: dict[str, Any] = {}
            self.place(container)
            self.stack.append(_Frame(container, path, event.anchor, self.count))
        elif isinstance(event, yaml.SequenceStartEvent):
            if event.tag not in (None, "!", _SEQ):
                raise self.fail(mark, f"tag {event.tag!r} is not allowed (dossier files hold plain data)", path)
            items: list[Any] = []
            self.place(items)
            self.stack.append(_Frame(items, path, event.anchor, self.count))
        else:  # pragma: no cover - the parser yields no other value events
            raise self.fail(mark, f"unexpected YAML event {type(event).__name__}", path)

    def key_event(self, event: Any, top: _Frame) -> None:
        mark = event.start_mark
        if not isinstance(event, yaml.ScalarEvent):
            raise self.fail(mark, "a key must be a plain word, not a list, mapping or alias", top.path)
        tag = self.resolve_tag(event)
        if tag == _MERGE:
            raise self.fail(mark, "merge keys (<<) are not supported in a dossier", top.path)
        if tag not in _ALLOWED_SCALAR_TAGS:
            raise self.fail(mark, f"tag {tag!r} is not allowed (dossier files hold plain data)", top.path)
        key = event.value
        assert isinstance(top.container, dict)
        if key in top.container:
            first = self.map.keys.get(top.path + (key,), (0, 0))[0]
            raise self.fail(mark, f"duplicate key '{key}' (first at line {first}); the data would "
                            "be ambiguous", top.path + (key,))
        self.map.keys[top.path + (key,)] = (mark.line + 1, mark.column + 1)
        top.key = key
        top.key_pending = False
        self._count(mark)

    def place(self, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if top.is_list:
            top.container.append(value)
        else:
            assert top.key is not None
            top.container[top.key] = value
            top.key_pending = True

    def resolve_tag(self, event: Any) -> str:
        tag = event.tag
        if tag is not None and tag != "!":
            return tag
        return self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)

    def scalar(self, event: Any, path: Path) -> Any:
        tag = self.resolve_tag(event)
        if tag not in _ALLOWED_SCALAR_TAGS:
            raise self.fail(event.start_mark, f"tag {tag!r} is not allowed (dossier files hold plain data)", path)
        if tag in (_STR, _TIMESTAMP):
            return event.value  # dates stay text; the models parse ISO 8601 themselves
        if tag in _NUMBER_TAGS:
            self.map.numbers[path] = event.value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = _CONSTRUCTOR.construct_object(node, deep=False)
        except Exception as exc:  # noqa: BLE001 - any construction failure is bad input
            raise self.fail(event.start_mark, f"cannot read value {event.value!r}: {exc}", path) from None
        if tag in (_INT, _FLOAT):
            misread = _misread_number(event.value, value)
            if misread:
                raise self.fail(event.start_mark, misread, path)
        return value


def _misread_number(text: str, value: Any) -> str | None:
    """Why a plain YAML number would not be read as written, or None: YAML 1.1 reads ``1_5`` as
    15, ``1:30`` as 90 (base 60) and ``0106`` as 70 (octal); ``.nan``, ``.inf`` and ``1.0e+999``
    are no finite number."""
    if isinstance(value, float) and not math.isfinite(value):
        return (f"{text!r} is not a finite number (YAML reads it as {value}); write a number, "
                f"or quote it ('{text}') if it is text")
    if "_" in text:
        return (f"YAML reads {text!r} as {value} ('_' is skipped); write {value} if that is meant, "
                f"or quote it ('{text}') if it is text")
    if ":" in text:
        return (f"YAML reads {text!r} as {value} (base 60); write {value} if that is meant, "
                f"or quote it ('{text}') if it is text")
    digits = text.lstrip("+-")
    if isinstance(value, int) and len(digits) > 1 and digits[0] == "0" and digits.isdigit():
        return (f"YAML reads {text!r} as {value} (octal, for the leading 0); quote it ('{text}') if it is "
                f"an id or text, or write {int(text, 10)} if that number is meant")
    return None


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    """A YAML syntax error located where the parser found it; when that is the end of the file (an
    unclosed quote or bracket), where the unclosed construct begins. The other place is named too."""
    problem, context = exc.problem_mark, exc.context_mark
    at_end = problem is not None and "end of stream" in (exc.problem or "")
    mark = context if (at_end and context is not None) or problem is None else problem
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
    other = problem if mark is context else context
    if other is not None and mark is not None and other.line != mark.line:
        if mark is context:
            message += f" (at line {other.line + 1}, the end of the file: it is never closed)"
        elif exc.context:
            what = exc.context.split(" a ", 1)[1] if " a " in exc.context else "construct"
            message += f" (the {what} begins at line {other.line + 1}, column {other.column + 1})"
    return Problem(file, line, col, "", f"invalid YAML: {message}")


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data plus the position of every value."""
    loader = _Loader(text)
    builder = _Builder(file, loader)
    try:
        data = builder.run()
    except yaml.MarkedYAMLError as exc:
        raise YamlProblem(_syntax_problem(exc, file)) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        col = exc.position - (text.rfind("\n", 0, max(exc.position, 0)) + 1) + 1
        raise YamlProblem(Problem(file, line, col, "", f"invalid YAML: {exc.reason} "
                                  f"(character U+{exc.character:04X} is not allowed)"
                                  if isinstance(exc.character, int) else f"invalid YAML: {exc.reason}")) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Problem(file, 1, 1, "", f"invalid YAML: {exc}")) from None
    finally:
        loader.dispose()
    return data, builder.map
