"""Safe YAML parsing that keeps the line and column of every key and value.

Only YAML's core scalar types are built (strings, numbers, booleans, nulls, dates as text);
any tag that would construct an object is refused. Aliases are followed but bounded, duplicate
keys are errors, and nesting depth is limited, so hostile files fail fast with a located error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from cmcflex.dossier.errors import Problem

try:  # the C parser is several times faster; fall back to pure Python where absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_NODES = 200_000
MAX_DEPTH = 64

_STR = "tag:yaml.org,2002:str"
_ALLOWED_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

Path = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Where each value and key of one YAML file stands (1-based line and column)."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

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


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.map = SourceMap(file)
        self.count = 0

    def fail(self, node: yaml.Node, message: str, path: Path = ()) -> YamlProblem:
        mark = node.start_mark
        return YamlProblem(
            Problem(self.file, mark.line + 1, mark.column + 1, _dotted(path), message)
        )

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node,
                f"more than {MAX_NODES:,} values (alias expansion or an oversized file); "
                "a dossier file is never this large",
                path,
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels", path)
        self.map.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise self.fail(node, f"tag {node.tag!r} is not allowed", path)
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                raise self.fail(node, f"tag {node.tag!r} is not allowed", path)
            return self.mapping(node, path, depth)
        raise self.fail(node, "unsupported YAML node", path)  # pragma: no cover

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(key_node, "merge keys (<<) are not supported in a dossier", path)
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "a key must be a plain word, not a list or mapping", path)
            key = self.scalar(key_node, path)
            if not isinstance(key, (str, int, float, bool)) or isinstance(key, bool):
                key = str(key_node.value)
            key = str(key)
            if key in out:
                first = self.map.keys.get(path + (key,), (0, 0))[0]
                raise self.fail(
                    key_node,
                    f"duplicate key '{key}' (first at line {first}); the data would be ambiguous",
                    path + (key,),
                )
            self.map.keys[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, path + (key,), depth + 1)
        return out

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        tag = node.tag
        if tag not in _ALLOWED_SCALAR_TAGS:
            raise self.fail(node, f"tag {tag!r} is not allowed (dossier files hold plain data)", path)
        if tag in (_STR, "tag:yaml.org,2002:timestamp"):
            return node.value  # dates stay text; the models parse ISO 8601 themselves
        try:
            return _CONSTRUCTOR.construct_object(node, deep=False)
        except Exception as exc:  # noqa: BLE001 - any construction failure is bad input
            raise self.fail(node, f"cannot read value {node.value!r}: {exc}", path) from None


_CONSTRUCTOR = yaml.SafeLoader("")  # only its scalar constructors are used


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data plus the position of every value."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        raise YamlProblem(Problem(file, line, col, "", f"invalid YAML: {message}")) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Problem(file, 1, 1, "", f"invalid YAML: {exc}")) from None
    except RecursionError:
        raise YamlProblem(Problem(file, 1, 1, "", f"nesting deeper than {MAX_DEPTH} levels")) from None
    builder = _Builder(file)
    if node is None:
        return None, builder.map
    try:
        data = builder.build(node, (), 0)
    except RecursionError:
        raise YamlProblem(Problem(file, 1, 1, "", f"nesting deeper than {MAX_DEPTH} levels")) from None
    return data, builder.map
