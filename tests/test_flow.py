"""One-way flow: every module of the package imports only modules of its own or an earlier stage
(DESIGN §1). Imports inside functions count too; plugins reached through the registry are not
imports. There is no list of allowed exceptions: a needed import of a later stage means the code
is in the wrong place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "specc"

# Earlier stages first. A module belongs to the stage of its longest matching prefix.
STAGES: list[tuple[str, ...]] = [
    ("specc", "specc.errors", "specc.types", "specc.limits", "specc.fileio", "specc.figures",
     "specc.registry", "specc.entries", "specc.strict"),
    ("specc.layers",),
    ("specc.spec", "specc.schema_values"),
    ("specc.graph",),
    ("specc.assembled", "specc.forms.spec", "specc.forms.stepping"),
    ("specc.data",),
    ("specc.runs",),
    ("specc.backends", "specc.forms"),
    ("specc.train",),
    ("specc.api", "specc.summarize", "specc.diagram", "specc.viz", "specc.viz_traverse",
     "specc.schema", "specc.sweep", "specc.schema_check", "specc.text_generation",
     "specc.testing", "specc.plugin_scaffold"),
    ("specc.cli",),
]


def stage_of(module: str) -> int:
    """The stage index of a dotted ``specc`` module name (the longest matching prefix)."""
    best, length = None, -1
    for i, prefixes in enumerate(STAGES):
        for p in prefixes:
            inside = module.startswith(p + ".") and p != "specc"  # the package itself: exact
            if (module == p or inside) and len(p) > length:
                best, length = i, len(p)
    if best is None:
        raise AssertionError(f"{module} is in no stage: add it to STAGES in {__file__}")
    return best


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def imports_of(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """Every ``specc`` module a file imports, anywhere in it: (line, dotted name)."""
    name, is_package = _module_name(path, root)
    package = name.split(".") if is_package else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "specc"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "specc":
                continue
            if node.module is None or target == "specc":  # from . import x: x may be a module
                found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


def _target_stage(target: str) -> int:
    # "from specc import __version__" names an attribute of the package, not a module
    while target != "specc" and not _exists(target):
        target = target.rsplit(".", 1)[0]
    return stage_of(target)


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (PACKAGE / rel).is_dir() or (PACKAGE / rel).with_suffix(".py").is_file()


def _violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name, _ = _module_name(path, PACKAGE)
        own = stage_of(name)
        for line, target in imports_of(path):
            if _target_stage(target) > own:
                out.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} (stage {own}) "
                           f"imports {target} (stage {_target_stage(target)})")
    return out


def test_every_import_goes_to_an_earlier_stage():
    problems = _violations()
    assert not problems, "imports of a later stage:\n" + "\n".join(problems)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "specc"
    (pkg / "graph").mkdir(parents=True)
    (pkg / "train").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "train" / "__init__.py").write_text("")
    (pkg / "graph" / "__init__.py").write_text("")
    (pkg / "graph" / "ir.py").write_text(
        "from .. import errors\n"
        "def f():\n"
        "    from ..train import session\n"
        "    import specc.cli.app\n")
    got = imports_of(pkg / "graph" / "ir.py", pkg)
    assert got == [(1, "specc.errors"), (3, "specc.train"), (4, "specc.cli.app")]
    assert [stage_of(t) for _, t in got] == [0, 8, 10]


@pytest.mark.parametrize("name", ["specc.nowhere", "specc.spectre"])
def test_a_module_in_no_stage_is_reported(name):
    with pytest.raises(AssertionError, match="in no stage"):
        stage_of(name)
