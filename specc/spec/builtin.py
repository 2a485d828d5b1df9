"""Built-in specs shipped in ``specc/specs`` (the repository's ``specs/`` folder)."""

from __future__ import annotations

import fnmatch
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


def builtin_path(name: str) -> Path | None:
    p = specs_dir() / f"{name}.yaml"
    return p if p.is_file() else None
