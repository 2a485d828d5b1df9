"""Built-in specs shipped in ``specc/specs`` (the repository's ``specs/`` folder)."""

from __future__ import annotations

import fnmatch
import re
from importlib import resources
from pathlib import Path


def specs_dir() -> Path:
    return Path(str(resources.files("specc") / "specs"))


def builtin_names(pattern: str | None = None) -> list[str]:
    """Names of the built-in specs, optionally filtered by a glob (``'res*'``)."""
    d = specs_dir()
    names = sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []
    if pattern:
        names = [n for n in names if fnmatch.fnmatch(n, pattern)]
    return names


_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def is_builtin_name(name: str) -> bool:
    """Whether ``name`` could name a built-in spec: no path separator, no '..', short."""
    return bool(_NAME.fullmatch(name)) and ".." not in name


def builtin_path(name: str) -> Path | None:
    """The file of built-in spec ``name``; never a file outside the built-in folder."""
    if not is_builtin_name(name):
        return None
    p = specs_dir() / f"{name}.yaml"
    return p if p.is_file() else None
