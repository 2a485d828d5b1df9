"""Templates for ``specc plugin new``: a plugin package that installs and passes its tests."""

from __future__ import annotations

import importlib.util
import keyword
import re
import sys
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


# names the layer template imports: the kind's class must not hide one of them
_TEMPLATE_NAMES = {"Any", "Field", "Example", "LayerKind", "Params", "TensorType"}


def names(dist: str, kind: str) -> dict[str, str]:
    """Template values for distribution ``dist`` and example layer kind ``kind``.

    Refuses names whose package would be a Python syntax error or hide another module."""
    if len(dist) > 100 or not _DIST.fullmatch(dist):
        raise SpecError("a plugin name is a distribution name: letters, digits, '-', '_', '.'",
                        path=("NAME",), received=dist, hint="e.g. specc plugin new my-layers")
    if len(kind) > 100 or not _KIND.fullmatch(kind):
        raise SpecError("a layer kind name is snake_case", path=("--layer",), received=kind,
                        hint="e.g. gated_dense")
    if keyword.iskeyword(kind):
        raise SpecError("a layer kind name cannot be a Python keyword: it names a module",
                        path=("--layer",), received=kind, hint=f"e.g. {kind}_layer")
    cls = "".join(part.capitalize() for part in kind.split("_"))
    if cls in _TEMPLATE_NAMES or (cls + "Params") in _TEMPLATE_NAMES:
        raise SpecError(f"a layer kind named '{kind}' would hide '{cls}' in its module",
                        path=("--layer",), received=kind, hint=f"e.g. {kind}_layer")
    package = re.sub(r"[-.]+", "_", dist).lower()
    if not package.isidentifier() or keyword.iskeyword(package):
        raise SpecError(f"the package would be named '{package}', which Python cannot import",
                        path=("NAME",), received=dist, hint="e.g. specc plugin new my-layers")
    return {"dist": dist, "package": package, "kind": kind, "cls": cls}


def check_unique(values: dict[str, str]) -> None:
    """Refuse a package that would shadow specc, the standard library or an installed module,
    and a layer kind name that is already taken (built-in or from an installed plugin)."""
    from ..registry import current

    package, kind = values["package"], values["kind"]
    if package == "specc":
        raise SpecError("a plugin package cannot be named like specc itself",
                        path=("NAME",), received=values["dist"], hint="e.g. specc-my-layers")
    if package in sys.stdlib_module_names or package in ("tests", "test") or \
            _installed(package):
        raise SpecError(f"the package '{package}' would shadow an existing module of that name",
                        path=("NAME",), received=values["dist"],
                        hint=f"choose a distinct name, e.g. {values['dist']}-layers")
    layers = current().layers
    canon = layers.canonical(kind)
    if canon is not None:
        owner = layers.provider(canon) or layers.origin(canon)
        what = "a layer kind" if canon == kind else f"an alias of '{canon}'"
        raise SpecError(f"'{kind}' is already {what} (from {owner})", path=("--layer",),
                        received=kind, hint="a plugin's kind needs a name of its own, "
                        "see 'specc layers'")


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return True


def write_plugin(dist: str, dest: Path, kind: str = "gated_dense") -> list[Path]:
    """Write the package for ``dist`` under ``dest``; returns the files written.

    ``dest`` must not exist or be an empty directory; no existing file is ever replaced."""
    values = names(dist, kind)
    check_unique(values)
    if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
        raise SpecError(f"'{dest}' exists and is not empty", path=("--dir",), received=str(dest),
                        hint="choose another --dir, or remove it first")
    here = Path(__file__).parent
    written = []
    try:
        for template, target in FILES.items():
            text = Template((here / template).read_text()).substitute(values)
            path = dest / Template(target).substitute(values)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as f:  # "x": never replace a file
                f.write(text)
            written.append(path)
    except OSError as exc:
        raise SpecError(f"cannot write the plugin package: {exc.strerror or exc}",
                        path=("--dir",), received=str(dest)) from None
    return written

