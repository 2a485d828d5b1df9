"""Fake plugin distributions for the plugin-framework tests.

A fake distribution is a ``NAME-VERSION.dist-info`` folder (METADATA + entry_points.txt) and its
modules, written into a temporary folder placed on ``sys.path``: ``importlib.metadata`` finds
its entry points exactly as it finds an installed wheel's, without pip and in milliseconds.
Each test gets a fresh, discovering registry, so nothing leaks between tests.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from specc.registry import Registries, isolated

# A well-formed layer kind; {name} and {cls} are filled in.
TOY_KIND = '''
from pydantic import Field

from specc.layers.base import Example, LayerKind, Params


class {cls}Params(Params):
    factor: float = Field(gt=0, description="Multiply the input by this.")


class {cls}(LayerKind):
    """Multiplies the input by a constant factor.

    Example:
        ``- {name}: {{factor: 2.0}}``
    """

    name = "{name}"
    Params = {cls}Params
    examples = (Example("{name}: {{factor: 2.0}}", ((3,),), (3,)),)

    @classmethod
    def infer(cls, p, inputs):
        return inputs[0]

    @classmethod
    def build(cls, p, inputs):
        from torch import nn

        class Scale(nn.Module):
            def forward(self, x):
                return x * p.factor

        return Scale()
'''


def toy_kind(name: str) -> str:
    """Source of a module defining a valid layer kind called ``name``."""
    cls = "".join(part.capitalize() for part in name.split("_"))
    return TOY_KIND.format(name=name, cls=cls)


class FakeSite:
    """A folder on sys.path holding fake installed distributions."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def module(self, dotted: str, source: str) -> None:
        """Write module ``dotted`` (packages get an ``__init__.py``)."""
        parts = dotted.split(".")
        folder = self.root.joinpath(*parts[:-1])
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(1, len(parts)):
            init = self.root.joinpath(*parts[:i], "__init__.py")
            if not init.exists():
                init.write_text("")
        (folder / f"{parts[-1]}.py").write_text(textwrap.dedent(source))

    def dist(self, name: str, version: str = "0.1.0",
             layers: dict[str, str] | None = None, **groups: dict[str, str]) -> None:
        """Declare distribution ``name`` with entry points ``{ep_name: "module:attr"}`` in
        ``specc.layers`` (``layers=``) and other groups (``trainers=``, ...)."""
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        text = ""
        for group, entries in {"layers": layers or {}, **groups}.items():
            if entries:
                text += f"[specc.{group}]\n"
                text += "".join(f"{ep} = {target}\n" for ep, target in entries.items())
        (info / "entry_points.txt").write_text(text)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    """A FakeSite on sys.path; modules imported from it are forgotten afterwards."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("SPECC_PLUGINS", raising=False)
    yield FakeSite(root)
    for name, mod in list(sys.modules.items()):
        if str(getattr(mod, "__file__", None) or "").startswith(str(root)):
            del sys.modules[name]


@pytest.fixture
def registry(site: FakeSite) -> Callable[[], Registries]:
    """registry() -> a fresh registry that discovers entry points (the fake ones included);
    it stays current until the test ends."""
    stack: list[object] = []

    def make() -> Registries:
        importlib.invalidate_caches()
        ctx = isolated(discover=True)
        stack.append(ctx)
        regs = ctx.__enter__()
        regs.ensure_discovered()
        return regs

    yield make
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)  # type: ignore[attr-defined]


@pytest.fixture
def cli(registry: Callable[[], Registries]) -> Callable[..., Result]:
    """cli(*args) -> click Result of ``specc args`` run in-process on a fresh registry."""
    from specc.cli import main

    def run(*args: str) -> Result:
        registry()
        return CliRunner(env={"COLUMNS": "200"}).invoke(main, list(args))

    return run
