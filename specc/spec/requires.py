"""Checks a spec's ``requires: [dist>=version, ...]`` against installed distributions."""

from __future__ import annotations

import re
from importlib import metadata

from ..errors import SpecError

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:(>=|==|<=|>|<|~=|!=)\s*([^\s<>=!~]\S*))?\s*$")
# A release version as PEP 440 writes it (1, 0.2.1, 2.0rc1, 1.0.post2, 1.1.dev0); each number
# at most 9 digits, so comparing never parses a huge integer.
_VERSION = re.compile(r"\d{1,9}(\.\d{1,9}){0,9}((a|b|rc)\d{1,9})?(\.post\d{1,9})?(\.dev\d{1,9})?")


def _version_tuple(v: str) -> tuple[int, ...]:
    parts = []
    for p in re.split(r"[.+-]", v):
        m = re.match(r"\d+", p)
        parts.append(int(m.group()) if m else 0)
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _satisfies(installed: str, op: str, wanted: str) -> bool:
    a, b = _version_tuple(installed), _version_tuple(wanted)
    return {
        ">=": a >= b, "==": a == b, "<=": a <= b, ">": a > b, "<": a < b, "!=": a != b,
        "~=": a >= b and a[: max(len(b) - 1, 1)] == b[: max(len(b) - 1, 1)],
    }[op]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _load_failure(name: str) -> str | None:
    """Why plugin ``name`` provided nothing at all, or None when it loaded (even in part)."""
    from ..registry import current

    regs = current()
    regs.ensure_discovered()
    for info in regs.plugins.values():
        if _normalize(info.name) == _normalize(name) and info.errors and not info.provides:
            return info.errors[0]
    return None


def check_requirements(requires: list[str]) -> None:
    errors = []
    for i, req in enumerate(requires):
        path = ("requires", i)
        m = _REQ.match(req)
        if not m:
            errors.append(SpecError("a requirement is NAME or NAME>=VERSION", path=path,
                                    received=req))
            continue
        name, op, wanted = m.groups()
        if op and not _VERSION.fullmatch(wanted):
            errors.append(SpecError(f"'{wanted}' is not a version (e.g. 1.2 or 0.3.1)",
                                    path=path, received=req,
                                    hint=f"write NAME{op}VERSION, such as {name}{op}1.0"))
            continue
        if op == "~=" and not re.match(r"\d+\.\d", wanted):
            errors.append(SpecError("'~=' needs a version with at least two parts (~=1.2)",
                                    path=path, received=req))
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            errors.append(SpecError(f"this spec needs plugin '{name}', which is not installed",
                                    path=path, hint=f"pip install '{req.strip()}'" if op else f"pip install {name}"))
            continue
        if op and not _satisfies(installed, op, wanted):
            errors.append(SpecError(f"this spec needs {name}{op}{wanted} but {installed} is "
                                    "installed", path=path, hint=f"pip install -U '{req}'"))
            continue
        reason = _load_failure(name)
        if reason is not None:
            errors.append(SpecError(f"this spec needs plugin '{name}', which is installed but "
                                    f"failed to load: {reason}", path=path,
                                    hint="run 'specc plugins' for details"))
    if errors:
        raise SpecError.collect(errors)
