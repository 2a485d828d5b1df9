"""A broken or conflicting plugin is reported once, by name, with the reason, and everything
that does not use it keeps working."""

from __future__ import annotations

import pytest

from specc.assembled import load
from specc.errors import SpecError

from .conftest import toy_kind


def _spec(kind: str, **params: object) -> dict:
    return {"specc": 1, "inputs": {"x": [3]}, "layers": [{kind: params} if params else kind]}


def test_broken_import_is_reported_once_and_isolated(site, registry):
    site.module("broken_layers.kinds", "import nonexistent_dependency_xyz\n")
    site.dist("broken-layers", "0.3.0", layers={
        "broken_one": "broken_layers.kinds:One", "broken_two": "broken_layers.kinds:Two"})
    site.module("good_layers", toy_kind("good_scale"))
    site.dist("good-layers", layers={"good_scale": "good_layers:GoodScale"})
    regs = registry()

    info = regs.plugins["broken-layers"]
    assert not info.ok and info.version == "0.3.0"
    assert info.errors == ["cannot import broken_layers.kinds:One: ModuleNotFoundError: "
                           "No module named 'nonexistent_dependency_xyz'"]  # once, not twice
    assert info.broken == {"layers": ["broken_one", "broken_two"]}
    assert regs.plugins["good-layers"].ok
    assert "good_scale" in regs.layers and "dense" in regs.layers

    load(_spec("good_scale", factor=2.0))  # specs not using the broken plugin keep working
    load(_spec("dense", units=2))
    with pytest.raises(SpecError) as exc:
        load(_spec("broken_two"))
    assert "layer 'broken_two' comes from plugin 'broken-layers', which failed to load" \
        in str(exc.value)
    assert "specc plugins" in exc.value.issues[0].hint


def test_exception_and_exit_at_import_are_contained(site, registry):
    site.module("raises_layers", "raise RuntimeError('boom at import')\n")
    site.module("exits_layers", "import sys\nsys.exit(3)\n")
    site.dist("raises-layers", layers={"r": "raises_layers:R"})
    site.dist("exits-layers", layers={"e": "exits_layers:E"})
    regs = registry()
    assert regs.plugins["raises-layers"].errors == [
        "cannot import raises_layers:R: RuntimeError: boom at import"]
    assert regs.plugins["exits-layers"].errors == ["cannot import exits_layers:E: SystemExit: 3"]
    assert "dense" in regs.layers


def test_duplicate_name_across_two_plugins(site, registry):
    site.module("alpha_layers", toy_kind("shared_scale"))
    site.module("beta_layers", toy_kind("shared_scale"))
    site.dist("alpha-layers", layers={"shared_scale": "alpha_layers:SharedScale"})
    site.dist("beta-layers", layers={"shared_scale": "beta_layers:SharedScale"})
    regs = registry()

    # The first by name wins, whatever the sys.path order; the second is told why it lost.
    assert regs.layers.provider("shared_scale") == "alpha-layers"
    assert regs.plugins["alpha-layers"].ok
    assert regs.plugins["beta-layers"].errors == [
        "duplicate layer name 'shared_scale': registered by alpha_layers (alpha-layers) and "
        "again by beta_layers (beta-layers)"]
    assert regs.plugins["beta-layers"].broken == {"layers": ["shared_scale"]}
    load(_spec("shared_scale", factor=1.5))


def test_plugin_cannot_shadow_a_builtin(site, registry):
    site.module("aaa_layers", toy_kind("dense"))
    site.dist("aaa-layers", layers={"dense": "aaa_layers:Dense"})
    regs = registry()
    assert regs.layers.provider("dense") == "specc"
    assert regs.plugins["aaa-layers"].errors == [
        "duplicate layer name 'dense': registered by specc.layers.dense (specc) and again by "
        "aaa_layers (aaa-layers)"]


def test_entry_that_is_not_a_layer_kind(site, registry):
    site.module("odd_layers", "def not_a_kind():\n    pass\n\nclass Named:\n    name = 'Bad-Name'\n")
    site.dist("odd-layers", layers={"not_a_kind": "odd_layers:not_a_kind",
                                    "named": "odd_layers:Named"})
    regs = registry()
    errors = regs.plugins["odd-layers"].errors
    assert errors[0].startswith("odd_layers:not_a_kind is not a layer kind: 'name' must be a "
                                "snake_case string (received None); 'Params' must be a pydantic")
    assert errors[1].startswith("odd_layers:Named is not a layer kind: 'name' must be a "
                                "snake_case string (received 'Bad-Name')")
    with pytest.raises(SpecError, match="comes from plugin 'odd-layers', which failed to load"):
        load(_spec("not_a_kind"))


def test_spec_cannot_name_an_import_path(site, registry, tmp_path):
    sentinel = tmp_path / "imported"
    site.module("evil_module", f"open({str(sentinel)!r}, 'w').close()\n"
                               "class Kind:\n    name = 'evil'\n")
    registry()
    for op in ("evil_module:Kind", "evil_module.Kind", "os.system"):
        with pytest.raises(SpecError) as exc:
            load({"specc": 1, "inputs": {"x": [3]}, "nodes": {"y": {"op": op, "in": "x"}},
                  "outputs": ["y"]})
        issue = exc.value.issues[0]
        assert issue.message == f"unknown layer '{op}'"
        assert issue.hint.startswith("a spec cannot import code")
    with pytest.raises(SpecError) as exc:
        load({**_spec("dense", units=2), "train": {"data": {"dataset": "evil_module:Kind"}}})
    assert "train.data.dataset: unknown dataset 'evil_module:Kind'" in str(exc.value)
    assert "a spec cannot import code" in str(exc.value)
    assert not sentinel.exists()


def test_specc_plugins_env_variable(site, registry, monkeypatch):
    site.module("env_plugin", "from specc import register_layer\n" + toy_kind("env_scale")
                + "\nregister_layer(EnvScale)\n")
    monkeypatch.setenv("SPECC_PLUGINS", "env_plugin")
    regs = registry()
    assert "env_scale" in regs.layers
    assert regs.plugins["env_plugin"].provides == {"layers": ["env_scale"]}


DATASET = '''
from pydantic import Field

from specc.data.base import Dataset, Params


class ToyParams(Params):
    rows: int = Field(10, gt=0, description="How many samples.")


class ToyData(Dataset):
    """Random vectors with labels."""

    name = "toy_data"
    Params = ToyParams
'''

BROKEN_TRAINER = "raise ImportError('needs a GPU library')\n"


def test_dataset_and_trainer_groups(site, registry):
    site.module("toy_ext.data", DATASET)
    site.module("toy_ext.trainer", BROKEN_TRAINER)
    site.dist("toy-ext", datasets={"toy_data": "toy_ext.data:ToyData"},
              trainers={"toy_regime": "toy_ext.trainer:ToyRegime"})
    regs = registry()
    info = regs.plugins["toy-ext"]
    assert info.provides == {"datasets": ["toy_data"]}
    assert info.broken == {"trainers": ["toy_regime"]}
    assert info.errors == ["cannot import toy_ext.trainer:ToyRegime: ImportError: needs a GPU "
                           "library"]
    base = {**_spec("dense", units=2), "train": {"loss": "cross_entropy"}}
    load({**base, "train": {**base["train"], "data": {"dataset": "toy_data", "rows": 5}}})
    with pytest.raises(SpecError) as exc:
        load({**base, "train": {**base["train"], "data": {"dataset": "toy_data", "rows": 0}}})
    assert "train.data.rows: must be > 0 (received 0)" in str(exc.value)
    with pytest.raises(SpecError) as exc:
        load({**base, "train": {**base["train"], "regime": "toy_regime",
                                "data": {"dataset": "toy_data"}}})
    assert "trainer 'toy_regime' comes from plugin 'toy-ext', which failed to load" \
        in str(exc.value)


def test_specc_plugins_env_variable_missing_module(site, monkeypatch):
    from specc.registry import Registries

    monkeypatch.setenv("SPECC_PLUGINS", "env_plugin_that_does_not_exist")
    with pytest.raises(SpecError) as exc:
        Registries().ensure_discovered()
    assert str(exc.value).startswith("SPECC_PLUGINS: plugin module "
                                     "'env_plugin_that_does_not_exist' was not found")
