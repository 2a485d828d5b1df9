"""A plugin adds a metric (streamed or whole-split), a loss, a regime (and one of everything
else) exactly as it adds a layer: the ``everything_plugin`` test package, installed as a fake distribution, is used by
one spec end to end (validate, then train)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import specc
from specc.assembled import load

HERE = Path(__file__).resolve().parent
LR = 0.01
SPEC = {
    "specc": 1, "name": "everything", "inputs": {"x": [3]},
    "layers": [
        {"dense": {"units": 32, "activation": "ev_soft_clip",
                   "kernel_initializer": {"ev_fan_normal": {"scale": 1.0}}}},
        {"ev_scale": {"factor": 2.0}},
        {"dense": {"units": 1}},
    ],
    "train": {
        "regime": "ev_backprop", "data": {"dataset": "ev_line", "n": 80},
        "loss": "ev_half_squared", "optimizer": {"ev_sign_descent": {"lr": LR}},
        "schedule": {"ev_halving": {"every": 1}}, "metrics": ["ev_mean_cubed_error", "ev_split_rmse", "mse"],
        "epochs": 2, "batch_size": "full", "checkpoint": {"monitor": "val_ev_mean_cubed_error"},
    },
}


@pytest.fixture
def everything(site, registry, monkeypatch):
    """A fresh registry with the everything plugin installed as distribution 'everything'."""
    monkeypatch.syspath_prepend(str(HERE))
    from everything_plugin import ENTRY_POINTS

    site.dist("everything", **{group: {ep: f"everything_plugin:{attr}"
                                       for ep, attr in eps.items()}
                               for group, eps in ENTRY_POINTS.items()})
    return registry(), ENTRY_POINTS


def test_the_plugin_provides_entries_in_every_group(everything):
    regs, entry_points = everything
    info = regs.plugins["everything"]
    assert info.ok, info.errors
    assert info.provides == {group: list(eps) for group, eps in entry_points.items()}
    assert set(info.provides) == set(specc.registry.GROUPS) - {"backends"}
    assert regs.losses.provider("ev_half_squared") == "everything"


def test_a_spec_using_every_plugin_entry_validates_and_trains(everything, tmp_path):
    from specc.backends.torch import build_module

    spec = load(SPEC)
    first = spec.graph.nodes[next(iter(spec.graph.nodes))]
    assert first.params.kernel_initializer.dump() == "ev_fan_normal"  # scale 1 is the default
    before = build_module(spec.graph, seed=spec.train.seed)
    kernel = before.get_submodule(first.name).weight.detach().clone()
    assert kernel.std().item() == pytest.approx(1 / math.sqrt(3), rel=0.3)  # the plugin's init
    assert any(type(m).__name__ == "SoftClip" for m in before.modules())  # its activation

    run = specc.train(spec, out=tmp_path / "run", device="cpu", quiet=True)
    rows = run.metrics
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    # the schedule halved the rate after epoch 1
    assert float(rows[1]["lr"]) == pytest.approx(float(rows[0]["lr"]) / 2)
    # the loss is the plugin's (half the MSE), the metric is logged for train and val
    for r in rows:
        assert float(r["val_loss"]) == pytest.approx(0.5 * float(r["val_mse"]), rel=1e-4)
        assert 0 <= float(r["ev_mean_cubed_error"]) and 0 <= float(r["val_ev_mean_cubed_error"])
        # the whole-split metric ran the regime's predict over the validation split
        assert float(r["val_ev_split_rmse"]) == pytest.approx(float(r["val_mse"]) ** 0.5,
                                                             rel=1e-4)
    # two full-batch steps of sign descent move each weight by lr/2 or 3 lr/2 (or not at all)
    after = run.model.get_submodule(first.name).weight.detach()
    moved = ((after - kernel).abs() / LR).flatten().tolist()
    assert all(min(abs(m - 0.5), abs(m - 1.5), m) < 1e-4 for m in moved), moved
    assert max(moved) > 1.4


def test_the_schema_describes_every_plugin_entry(everything):
    """``specc schema`` covers a plugin's kind, regime, dataset and entries (issue 17)."""
    pytest.importorskip("jsonschema")
    from specc.schema import json_schema
    from specc.schema_check import check

    schema = json_schema(everything[0])
    assert check(SPEC, schema) == []
    bad = {**SPEC, "train": {**SPEC["train"], "optimizer": {"ev_sign_descent": {"lrr": LR}},
                             "data": {"dataset": "ev_line", "nn": 80}}}
    assert [(e.issues[0].path, e.issues[0].message) for e in check(bad, schema)] == [
        (("train", "data"), "unknown field 'nn' (did you mean 'n'?)"),
        (("train", "optimizer", "ev_sign_descent"), "unknown field 'lrr' (did you mean 'lr'?)")]
