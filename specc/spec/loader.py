"""Parse YAML/JSON spec text into plain data plus a map from field paths to source positions.

Only safe YAML: plain scalars, sequences and mappings with the standard tags. Any other tag
(``!!python/object``, custom ``!tags``) is refused, never constructed. Duplicate mapping keys,
which PyYAML silently collapses, are errors. Alias and ``<<:`` merge expansion is bounded (no
billion laughs). Numbers follow YAML 1.2: ``010`` is 10, ``0o10`` is 8, ``1:30`` is a string.
JSON goes through the same limits (size, depth, values, duplicate keys, number length).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import PathT, SpecError

MAX_BYTES = 8 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_NUMBER_CHARS = 100  # longer number literals are refused (int() of 4300+ digits fails)

_STD = "tag:yaml.org,2002:"
# libyaml's composer when PyYAML was built with it (3x faster); same safe tag resolution.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
# YAML 1.1 reads `1e-3` (no dot) as a string; users mean a number.
_FLOATISH = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
# YAML 1.2 core schema numbers (1.1's octal `010`, sexagesimal `1:30`, `0b1`, `1_000` are not)
_INT12 = re.compile(r"^[-+]?[0-9]+$")
_OCT12 = re.compile(r"^0o[0-7]+$")
_HEX12 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT12 = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL12 = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"),
              ".nan": float("nan")}
_RESOLVER = yaml.resolver.Resolver()
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


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
    from ..fileio import read_bytes_bounded  # a FIFO or device is refused before reading

    try:
        raw = read_bytes_bounded(path, "spec file", MAX_BYTES, env="SPECC_MAX_SPEC_BYTES")
    except SpecError as err:
        raise SpecError(err.issues[0].message, file=file, hint=err.issues[0].hint) from None
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
        yaml_text = text.replace("\t", " ")  # JSON allows tabs between tokens, YAML not
        try:
            data = load_json_bounded(text, file or "JSON")
        except SpecError as err:
            if err.issues[0].message.startswith("duplicate key"):
                _compose(yaml_text, file)  # raises the same error with its position
            raise
        try:  # positions (and the same checks, located) from reading the JSON as YAML
            src = _compose(yaml_text, file)
        except SpecError:  # valid JSON that YAML cannot read: no positions
            return Source(data, file, text)
        src.data, src.text = data, text
        return src
    return _compose(text, file)


def load_json_bounded(text: str, what: str, *, max_bytes: int = MAX_BYTES,
                      max_depth: int = MAX_DEPTH, max_values: int = MAX_NODES) -> Any:
    """``json.loads`` with limits: size, nesting depth and value count are checked before
    parsing (no RecursionError on deep input), duplicate keys and number literals longer than
    ``MAX_NUMBER_CHARS`` are errors. Every problem is a SpecError naming ``what`` (a file)."""
    if len(text) > max_bytes:
        raise SpecError(f"JSON is too large ({len(text)} characters; limit {max_bytes})",
                        file=what)
    bare = _JSON_STRING.sub('""', text)
    opens = bare.count("[") + bare.count("{")
    if opens + bare.count(",") > max_values:
        raise SpecError(f"JSON holds too many values (over {max_values})", file=what)
    depth = 0
    for i, ch in enumerate(re.sub(r"[^\[\]{}]", "", bare)):
        depth += 1 if ch in "[{" else -1
        if depth > max_depth:
            pos = _nth_bracket(text, i)
            line = text.count("\n", 0, pos) + 1
            raise SpecError(f"JSON nests deeper than {max_depth} levels", file=what, line=line,
                            col=pos - text.rfind("\n", 0, pos))

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                raise SpecError(f"duplicate key '{k}'", file=what,
                                hint="JSON readers would silently keep only the last value")
            out[k] = v
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_int=_json_int,
                          parse_float=_json_float)
    except json.JSONDecodeError as exc:
        raise SpecError(f"invalid JSON: {exc.msg}", file=what, line=exc.lineno,
                        col=exc.colno) from None
    except RecursionError:  # pragma: no cover - the depth scan above comes first
        raise SpecError(f"JSON nests deeper than {max_depth} levels", file=what) from None
    except SpecError as err:  # a number literal too long
        raise SpecError(issues=[replace(i, file=i.file or what) for i in err.issues]) from None


def _nth_bracket(text: str, n: int) -> int:
    """Offset in ``text`` of the ``n``-th bracket outside strings (for error positions)."""
    seen = 0
    for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"|[\[\]{}]', text):
        if m.group().startswith('"'):
            continue
        if seen == n:
            return m.start()
        seen += 1
    return 0  # pragma: no cover


def _number_text(s: str, what: str = "number") -> str:
    if len(s) > MAX_NUMBER_CHARS:
        raise SpecError(f"{what} literal is too long ({len(s)} characters; limit "
                        f"{MAX_NUMBER_CHARS})", received=s[:20] + "...")
    return s


def _json_int(s: str) -> int:
    return int(_number_text(s))


def _json_float(s: str) -> float:
    return float(_number_text(s))


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

    def _tick(self, node: Node, path: PathT, n: int = 1) -> None:
        """Count ``n`` values (built, or visited by a merge) against ``MAX_NODES``."""
        self.count += n
        if self.count > MAX_NODES:
            m = node.start_mark
            raise SpecError(f"spec is too large or expands too far (over {MAX_NODES} values; "
                            "YAML aliases or '<<' merges expanding exponentially?)",
                            file=self.file, path=path, line=m.line + 1, col=m.column + 1)

    def build(self, node: Node, path: PathT, depth: int) -> Any:
        self._tick(node, path)
        if depth > MAX_DEPTH:
            m = node.start_mark
            raise SpecError(f"spec nests deeper than {MAX_DEPTH} levels (recursive alias?)",
                            file=self.file, path=path, line=m.line + 1, col=m.column + 1)
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
        value = node.value
        if node.tag == _STD + "str" and not node.style and len(value) <= MAX_NUMBER_CHARS:
            if _FLOATISH.match(value):
                return float(value)
            if _OCT12.match(value):  # YAML 1.2 octal
                return int(value[2:], 8)
        if node.tag in (_STD + "int", _STD + "float"):
            if len(value) > MAX_NUMBER_CHARS:
                self._err(node, f"number literal is too long ({len(value)} characters; limit "
                          f"{MAX_NUMBER_CHARS})", path, received=value[:20] + "...")
                return None
            implicit = not node.style and \
                _RESOLVER.resolve(ScalarNode, value, (True, False)) == node.tag
            number = _yaml12_number(value, node.tag == _STD + "int", strict=not implicit)
            if number is not None or implicit:
                return value if number is None else number  # YAML 1.1-only forms: strings
        try:
            return self._scalar.construct_object(node, deep=True)
        except (ValueError, KeyError, IndexError, TypeError, yaml.YAMLError):
            name = node.tag[len(_STD):] if node.tag.startswith(_STD) else node.tag
            self._err(node, f"'{value}' is not a valid {name} (YAML tag !!{name})", path,
                      hint="remove the tag or fix the value")
            return None

    def _mapping(self, node: MappingNode, path: PathT, depth: int) -> dict[str, Any]:
        self._tick(node, path)  # merged mappings are visited again: count each visit
        if depth > MAX_DEPTH:
            m = node.start_mark
            raise SpecError(f"spec nests deeper than {MAX_DEPTH} levels (recursive merge?)",
                            file=self.file, path=path, line=m.line + 1, col=m.column + 1)
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
            merged = self._mapping(src, path, depth + 1)
            self._tick(src, path, len(merged))
            for k, v in merged.items():
                out.setdefault(k, v)


def _yaml12_number(value: str, is_int: bool, strict: bool) -> int | float | None:
    """``value`` read as a YAML 1.2 core-schema int (``is_int``) or float; None when it is not
    one. ``strict`` (an explicit ``!!int``/``!!float`` tag) also accepts the other kind's
    spelling (``!!float 3``) and returns None only for invalid text."""
    v = value.strip() if strict else value
    if _INT12.match(v) and (is_int or strict):
        return int(v, 10) if is_int else float(v)
    if _OCT12.match(v) and is_int:
        return int(v[2:], 8)
    if _HEX12.match(v) and is_int:
        return int(v[2:], 16)
    if not is_int and (_FLOAT12.match(v) or v.lower() in _SPECIAL12):
        return _SPECIAL12[v.lower()] if v.lower() in _SPECIAL12 else float(v)
    return None


def parse_value(text: str, what: str = "command line") -> Any:
    """One value typed on the command line (``--set KEY=VALUE``), read like a value in a spec
    file and under the same limits; text that is not valid YAML stays a string."""
    if not text.strip():
        return ""
    if len(text) > MAX_BYTES:
        raise SpecError(f"value is too large ({len(text)} characters; limit {MAX_BYTES})",
                        file=what)
    try:
        return _compose(text, what).data
    except SpecError as err:
        if all(i.message.startswith(("invalid YAML", "spec file holds several"))
               for i in err.issues):
            return text
        raise


def data_source(data: dict[str, Any], name: str = "<dict>") -> Source:
    """A Source for a spec given as a Python dict (no positions); ``name`` says where it came
    from (e.g. a run's ``spec.resolved.yaml``) in error messages."""
    try:
        return Source(_plain(data, 0, [0]), name, None)
    except SpecError as err:
        raise SpecError(issues=[replace(i, file=i.file or name) for i in err.issues]) from None


def _plain(value: Any, depth: int, count: list[int]) -> Any:
    """Deep-copy a Python spec into plain dicts/lists, rejecting non-data objects; depth and
    size are bounded like a spec file's."""
    count[0] += 1
    if count[0] > MAX_NODES:
        raise SpecError(f"spec is too large (over {MAX_NODES} values)")
    if depth > MAX_DEPTH:
        raise SpecError(f"spec nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1, count) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1, count) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise SpecError(f"spec values must be plain data (str, number, bool, list, mapping); got "
                    f"{type(value).__name__}", received=value)

