"""Every nameable thing is a registry entry: the groups, their checks, lazy discovery, and a
guard that every kind, regime, dataset and entry class in the package has its entry point."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import specc
from specc.data.base import Dataset
from specc.entries import BASES, Loss, Metric
from specc.layers.base import LayerKind
from specc.registry import (
    GROUPS,
    RegistryError,
    abstract,
    current,
    is_abstract,
    isolated,
    register_loss,
    register_metric,
)
from specc.train.regime import Regime

ROOT = Path(__file__).resolve().parent.parent
BASE_OF = {"layers": LayerKind, "trainers": Regime, "datasets": Dataset, **BASES}


def _entry_points() -> dict[str, set[str]]:
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    return {group: set(eps.get(f"specc.{group}", {}).values()) for group in GROUPS}


def _package_classes() -> list[tuple[str, str, type]]:
    """(module, attribute, class) for every class defined in a specc module."""
    found = []
    for info in pkgutil.walk_packages(specc.__path__, "specc."):
        if ".plugin_scaffold" in info.name:
            continue
        module = importlib.import_module(info.name)
        for attr, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                found.append((module.__name__, attr, obj))
    return found


def test_every_kind_regime_dataset_and_entry_class_has_an_entry_point():
    """A class missing from pyproject.toml would be invisible (and silently untested): each
    one is registered, or marked as a base with @abstract."""
    registered = _entry_points()
    missing = [f"specc.{group}: {module}:{attr}" for module, attr, cls in _package_classes()
               for group, base in BASE_OF.items()
               if issubclass(cls, base) and not is_abstract(cls)
               and f"{module}:{attr}" not in registered[group]]
    assert not missing, "add these to pyproject.toml's entry points (or mark them @abstract):\n" \
        + "\n".join(missing)


def test_every_entry_point_names_its_entry_and_loads():
    """The entry-point name is the entry's own name, and every built-in loads."""
    regs = current()
    regs.ensure_discovered()
    assert regs.plugins["specc"].ok, regs.plugins["specc"].errors
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    for group in BASES:
        for name, target in eps[f"specc.{group}"].items():
            module, attr = target.split(":")
            cls = getattr(importlib.import_module(module), attr)
            assert cls.name == name and regs[group].get(name) is cls, target
            assert cls.Params.model_config.get("extra") == "forbid", target
            assert cls.doc, f"{target} has no doc line"


def test_groups_have_properties_and_public_decorators():
    regs = current()
    for group in GROUPS:
        assert getattr(regs, group) is regs[group]
        singular = regs[group].what
        if group not in ("layers", "trainers", "datasets", "backends"):
            assert callable(getattr(specc, f"register_{singular}"))
            assert f"register_{singular}" in specc.__all__


def test_abstract_marker_is_not_inherited():
    @abstract
    class Base(Loss):
        pass

    class Concrete(Base):
        name = "concrete"

    assert is_abstract(Base) and not is_abstract(Concrete)


def test_register_decorators_and_duplicates_in_code():
    with isolated() as regs:
        @register_metric
        class Zero(Metric):
            """Always zero."""
            name = "zero"
            mode = "min"

        assert regs.metrics.get("zero") is Zero and Zero.doc == "Always zero."
        with pytest.raises(RegistryError, match="duplicate metric name 'zero'"):
            @register_metric
            class Zero2(Metric):
                name = "zero"
        with pytest.raises(RegistryError, match="is not a loss: it must subclass"):
            register_loss(type("Fake", (), {"name": "fake"}))


def test_validating_without_train_imports_neither_torch_nor_training():
    code = ("import sys\nfrom specc.assembled import load\n"
            "load({'specc': 1, 'inputs': {'x': [4]}, 'layers': [{'dense': {'units': 3, "
            "'activation': 'leaky_relu', 'kernel_initializer': {'normal': {'std': 0.375}}}}]})\n"
            "heavy = [m for m in sys.modules if m == 'torch' or m.startswith('specc.train')]\n"
            "assert not heavy, heavy\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
