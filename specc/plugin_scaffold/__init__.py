"""Templates for ``specc plugin new``: a plugin package that installs and passes its tests."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from ..errors import SpecError

_DIST = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]$")
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")

# template file -> path in the new package ($package and $kind are filled in)
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "package_init.py.tmpl": "$package/__init__.py",
    "layer.py.tmpl": "$package/$kind.py",
    "test_layer.py.tmpl": "tests/test_$kind.py",
}


def names(dist: str, kind: str) -> dict[str, str]:
    """Template values for distribution ``dist`` and example layer kind ``kind``."""
    if not _DIST.match(dist):
        raise SpecError("a plugin name is a distribution name: letters, digits, '-', '_', '.'",
                        received=dist, hint="e.g. specc plugin new my-layers")
    if not _KIND.match(kind):
        raise SpecError("a layer kind name is snake_case", received=kind, hint="e.g. gated_dense")
    package = re.sub(r"[-.]+", "_", dist).lower()
    return {
        "dist": dist,
        "package": package,
        "kind": kind,
        "cls": "".join(part.capitalize() for part in kind.split("_")),
    }


def write_plugin(dist: str, dest: Path, kind: str = "gated_dense") -> list[Path]:
    """Write the package for ``dist`` under ``dest``; returns the files written."""
    values = names(dist, kind)
    here = Path(__file__).parent
    written = []
    for template, target in FILES.items():
        text = Template((here / template).read_text()).substitute(values)
        path = dest / Template(target).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
