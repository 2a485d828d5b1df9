"""User-facing errors: SpecError and its renderer.

Every user mistake becomes a :class:`SpecError` holding one or more :class:`Issue` s. Each issue
names the field path (``layers[3].conv2d.filters``), the message, what was received and an
optional hint; the loader attaches ``file:line:col`` from the source map so the renderer can
print a caret excerpt of the offending line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

_MISSING: Any = object()

PathT = tuple[str | int, ...]


def format_path(path: Sequence[str | int]) -> str:
    """Render a path tuple as ``layers[3].conv2d.filters``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class Shown:
    """A received value shown as written, without quotes (``shape (?, 8)``, ``dtype int64``,
    ``shape (4,) from x``); ``full``: never shortened (the shapes of several inputs)."""

    def __init__(self, text: str, full: bool = False) -> None:
        self.text, self.untruncated = text, full

    def __repr__(self) -> str:
        return self.text


def short_repr(value: Any, limit: int = 60) -> str:
    """A compact repr of a received value for error messages (values marked ``untruncated``,
    such as the shapes of several inputs, are shown in full)."""
    text = repr(value)
    if getattr(value, "untruncated", False):
        return text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fmt_shapes(types: Sequence[Any]) -> str:
    """The per-sample shapes of several inputs in order, for a shape error's ``received``:
    ``shapes (4,), (6, 2) int64`` (``?`` marks a dynamic axis; a dtype other than float32 is
    named). ``types`` are :class:`~specc.types.TensorType` s."""
    from .types import fmt_shape

    parts = [fmt_shape(tuple(t.shape)) + ("" if t.dtype == "float32" else f" {t.dtype}")
             for t in types]
    return ("shape " if len(parts) == 1 else "shapes ") + ", ".join(parts)


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str | None:
    """A 'did you mean' hint for an unknown name, or None when nothing is close (``word`` may
    be any value a spec holds where a name belongs, e.g. ``share: 3``)."""
    import difflib  # only when a name is unknown: not on the way of every validation

    word = str(word)
    pool = [str(c) for c in choices]
    lowered = {c.lower(): c for c in pool}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    if not close:
        return None
    names = [lowered[c] for c in close]
    return "did you mean " + " or ".join(f"'{c}'" for c in names) + "?"


@dataclass(frozen=True)
class Issue:
    """One problem in a spec."""

    message: str
    path: PathT = ()
    received: Any = _MISSING
    hint: str | None = None
    file: str | None = None
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based

    @property
    def where(self) -> str:
        parts = [self.file or "<spec>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def text(self) -> str:
        """``file:line:col: path: message (received X)``."""
        head = f"{self.where}: " if self.file or self.line is not None else ""
        if self.path:
            head += format_path(self.path) + ": "
        body = self.message
        if self.received is not _MISSING:
            body += f" (received {short_repr(self.received)})"
        return head + body

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": format_path(self.path),
            "message": self.message,
            "hint": self.hint,
        }
        if self.received is not _MISSING:
            d["received"] = short_repr(self.received, 200)
        return d


class SpecError(Exception):
    """A user mistake: bad spec, bad option, bad data or file. Exit code 2 in the CLI."""

    def __init__(
        self,
        message: str | None = None,
        *,
        path: Sequence[str | int] = (),
        received: Any = _MISSING,
        hint: str | None = None,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        issues: Sequence[Issue] | None = None,
    ) -> None:
        if issues is None:
            if message is None:
                raise TypeError("SpecError needs a message or issues")
            issues = [Issue(message, tuple(path), received, hint, file, line, col)]
        self.issues: list[Issue] = list(issues)
        self.source: str | None = None  # text of the spec file, for caret excerpts
        super().__init__(self.issues[0].message if self.issues else "")

    def __str__(self) -> str:
        return self.render(color=False, excerpts=False)

    # -- building -------------------------------------------------------------------------
    @classmethod
    def collect(cls, errors: Iterable[SpecError]) -> SpecError:
        """Merge several errors into one that reports them all."""
        issues: list[Issue] = []
        source = None
        for err in errors:
            issues.extend(err.issues)
            source = source or err.source
        merged = cls(issues=issues)
        merged.source = source
        return merged

    def prefixed(self, prefix: Sequence[str | int]) -> SpecError:
        """A copy whose issue paths are placed under ``prefix``."""
        new = SpecError(issues=[replace(i, path=tuple(prefix) + i.path) for i in self.issues])
        new.source = self.source
        return new

    def located(self, locate: Any, file: str | None, source: str | None = None) -> SpecError:
        """Fill in file/line/col of issues without one, via ``locate(path) -> (line, col)``."""
        issues = []
        for i in self.issues:
            if i.line is None and locate is not None and i.file in (None, file):
                pos = locate(i.path)
                if pos is not None:
                    i = replace(i, line=pos[0], col=pos[1])
            if i.file is None:
                i = replace(i, file=file)
            issues.append(i)
        new = SpecError(issues=issues)
        new.source = source or self.source
        return new

    # -- rendering ------------------------------------------------------------------------
    def render(self, color: bool = False, excerpts: bool = True) -> str:
        lines_src = self.source.splitlines() if (excerpts and self.source) else None
        out: list[str] = []
        for issue in self.issues:
            text = issue.text()
            out.append(f"[bold red]{_esc(text)}[/]" if color else text)
            if lines_src is not None and issue.line is not None and issue.line <= len(lines_src):
                src_line = lines_src[issue.line - 1]
                gutter = f"{issue.line:>5} | "
                out.append(gutter + (_esc(src_line) if color else src_line))
                caret = " " * (len(gutter) - 2) + "| " + " " * max((issue.col or 1) - 1, 0) + "^"
                out.append(f"[red]{caret}[/]" if color else caret)
            if issue.hint:
                hint = f"  hint: {issue.hint}"
                out.append(f"[cyan]{_esc(hint)}[/]" if color else hint)
        if len(self.issues) > 1:
            out.append(f"{len(self.issues)} errors")
        return "\n".join(out)

    def as_json(self) -> list[dict[str, Any]]:
        return [i.as_dict() for i in self.issues]


def _esc(text: str) -> str:
    return text.replace("[", "\\[")


class InternalError(RuntimeError):
    """A bug in specc or a plugin, not a user mistake. Exit code 1 in the CLI."""
