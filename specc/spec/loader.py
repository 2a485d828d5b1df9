"""Parse YAML/JSON spec text into plain data plus a map from field paths to source positions.

Only safe YAML: plain scalars, sequences and mappings with the standard tags. Any other tag
(``!!python/object``, custom ``!tags``) is refused, never constructed. Duplicate mapping keys,
which PyYAML silently collapses, are errors. Alias expansion is bounded (no billion laughs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import PathT, SpecError

MAX_BYTES = 8 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

_STD = "tag:yaml.org,2002:"
# libyaml's composer when PyYAML was built with it (3x faster); same safe tag resolution.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
# YAML 1.1 reads `1e-3` (no dot) as a string; users mean a number.
_FLOATISH = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


@dataclass
class Source:
    """Parsed spec data with where each field came from."""

    data: Any
    file: str | None = None
    text: str | None = None
    positions: dict[PathT, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: PathT) -> tuple[int, int] | None:
        """Position of ``path`` or of its nearest located ancestor."""
        path = tuple(path)
        while True:
            pos = self.positions.get(path)
            if pos is not None or not path:
                return pos
            path = path[:-1]

    def error(self, err: SpecError) -> SpecError:
        """``err`` with file, line and column filled in from this source."""
        return err.located(self.locate, self.file, self.text)


def read_source(source: str | Path) -> Source:
    """Read and parse a spec file (``.yaml``, ``.yml`` or ``.json``)."""
    path = Path(source)
    file = str(source)
    if not path.exists():
        raise SpecError(f"spec file '{file}' does not exist", file=file,
                        hint="built-in specs are listed by 'specc list'")
    if path.is_dir():
        raise SpecError(f"'{file}' is a directory, not a spec file", file=file)
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise SpecError(f"spec file is too large ({len(raw)} bytes; limit {MAX_BYTES})", file=file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError("spec file is not UTF-8 text (binary data?)", file=file,
                        received=raw[max(exc.start - 4, 0): exc.start + 4]) from None
    return parse_text(text, file=file, json_mode=path.suffix.lower() == ".json")


def parse_text(text: str, file: str | None = None, json_mode: bool = False) -> Source:
    """Parse spec text. JSON is checked with the json module first, then read for positions."""
    if "\x00" in text:
        raise SpecError("spec file contains NUL bytes (binary data?)", file=file)
    if not text.strip():
        raise SpecError("spec file is empty", file=file, line=1, col=1,
                        hint="a spec is a mapping with at least 'inputs' and 'layers' or 'nodes'")
    if json_mode:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"invalid JSON: {exc.msg}", file=file, line=exc.lineno,
                            col=exc.colno) from None
        try:
            src = _compose(text, file)
        except SpecError:  # valid JSON that YAML cannot read (e.g. tabs): no positions
            return Source(data, file, text)
        src.data = data
        return src
    return _compose(text, file)


def _compose(text: str, file: str | None) -> Source:
    try:
        docs = list(yaml.compose_all(text, Loader=_COMPOSER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = f"invalid YAML: {exc.problem or exc.context}"
        raise SpecError(msg, file=file, line=mark.line + 1 if mark else None,
                        col=mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=file) from None
    docs = [d for d in docs if d is not None]
    if not docs:
        raise SpecError("spec file is empty (only comments)", file=file, line=1, col=1)
    if len(docs) > 1:
        m = docs[1].start_mark
        raise SpecError("spec file holds several YAML documents; one spec per file", file=file,
                        line=m.line + 1, col=m.column + 1)
    builder = _Builder(file)
    data = builder.build(docs[0], (), 0)
    if builder.errors:
        err = SpecError.collect(builder.errors)
        err.source = text
        raise err
    return Source(data, file, text, builder.positions)


class _Builder:
    """Turns a composed YAML node tree into Python data, recording positions."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.positions: dict[PathT, tuple[int, int]] = {}
        self.errors: list[SpecError] = []
        self.count = 0
        self._scalar = yaml.SafeLoader("")

    def _err(self, node: Node, message: str, path: PathT, **kw: Any) -> None:
        m = node.start_mark
        self.errors.append(SpecError(message, path=path, file=self.file, line=m.line + 1,
                                     col=m.column + 1, **kw))

    def build(self, node: Node, path: PathT, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(f"spec is too large or expands too far (over {MAX_NODES} values; "
                            "YAML aliases expanding exponentially?)", file=self.file)
        if depth > MAX_DEPTH:
            raise SpecError(f"spec nests deeper than {MAX_DEPTH} levels (recursive alias?)",
                            file=self.file, path=path)
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, ScalarNode):
            return self._scalar_value(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _STD + "seq":
                self._unsafe(node, path)
                return None
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != _STD + "map":
                self._unsafe(node, path)
                return None
            return self._mapping(node, path, depth)
        self._err(node, "unsupported YAML node", path)  # pragma: no cover
        return None

    def _unsafe(self, node: Node, path: PathT) -> None:
        self._err(node, f"YAML tag '{node.tag}' is not allowed: specs never construct objects",
                  path, hint="remove the tag; only plain values, lists and mappings are allowed")

    def _scalar_value(self, node: ScalarNode, path: PathT) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self._unsafe(node, path)
            return None
        if node.tag == _STD + "timestamp":
            return node.value
        if node.tag == _STD + "str" and node.style is None and _FLOATISH.match(node.value):
            return float(node.value)
        return self._scalar.construct_object(node, deep=True)

    def _mapping(self, node: MappingNode, path: PathT, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STD + "merge":
                self._merge(out, value_node, path, depth)
                continue
            if not isinstance(key_node, ScalarNode):
                self._err(key_node, "mapping keys must be plain scalars", path)
                continue
            key = self._scalar_value(key_node, path)
            if isinstance(key, (int, float, bool)) or key is None:
                key = key_node.value  # keys are names: `1: x` keeps "1"
            if key in seen:
                self._err(key_node, f"duplicate key '{key}' (first defined on line {seen[key]})",
                          path + (key,), hint="YAML would silently keep only the last value")
                continue
            seen[key] = key_node.start_mark.line + 1
            self.positions[path + (key,)] = (key_node.start_mark.line + 1,
                                             key_node.start_mark.column + 1)
            out[key] = self.build(value_node, path + (key,), depth + 1)
        return out

    def _merge(self, out: dict[str, Any], node: Node, path: PathT, depth: int) -> None:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for src in sources:
            if not isinstance(src, MappingNode):
                self._err(src, "'<<' merge takes a mapping or a list of mappings", path)
                continue
            for k, v in self._mapping(src, path, depth + 1).items():
                out.setdefault(k, v)


def data_source(data: dict[str, Any], name: str = "<dict>") -> Source:
    """A Source for a spec given as a Python dict (no positions)."""
    return Source(_plain(data), name, None)


def _plain(value: Any) -> Any:
    """Deep-copy a Python spec into plain dicts/lists, rejecting non-data objects."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise SpecError(f"spec values must be plain data (str, number, bool, list, mapping); got "
                    f"{type(value).__name__}", received=value)


Locator = Callable[[PathT], "tuple[int, int] | None"]
