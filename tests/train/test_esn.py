"""Echo state network: the whole-series view, free runs, free_run_nrmse, and the spec's bar."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from specc.assembled import load
from specc.data.prepare import OutputTarget, prepare
from specc.entries import SplitContext
from specc.errors import SpecError
from specc.layers.reservoir import Reservoir
from specc.train.api import evaluate, train
from specc.train.series_metrics import FreeRunNRMSE, free_run
from specc.types import TensorType

SMALL = ["params.units=200", "nodes.reservoir.density=0.05", "train.data.n=3000", "train.washout=200",
         "train.metrics=[nrmse, {free_run_nrmse: {warmup: 200, stride: 2}}]"]


def _prepare(data: dict[str, object]) -> object:
    spec = load({"specc": 1, "name": "s", "inputs": {"x": [None, 1]},
                 "nodes": {"y": {"op": "dense", "in": "x", "units": 1}}, "outputs": ["y"],
                 "train": {"regime": "least_squares", "data": data}})
    out = {"y": OutputTarget(TensorType((None, 1)), target="labels")}
    return prepare(spec.train.data, spec.graph.inputs, out)


def test_series_view_gives_each_split_whole_with_the_next_value_as_target() -> None:
    prep = _prepare({"dataset": "sine", "n": 100, "view": "series", "split": {"test": 0.2}})
    series = np.sin(2 * np.pi * np.arange(100) / 50).astype(np.float32)
    train, test = prep.parts["train"], prep.parts["test"]
    assert train.inputs["x"].shape == (1, 79, 1) and test.inputs["x"].shape == (1, 19, 1)
    np.testing.assert_allclose(train.inputs["x"][0, :, 0], series[:79], atol=1e-6)
    np.testing.assert_allclose(train.targets["y"][0, :, 0], series[1:80], atol=1e-6)
    np.testing.assert_allclose(test.inputs["x"][0, :, 0], series[80:99], atol=1e-6)
    np.testing.assert_allclose(test.targets["y"][0, :, 0], series[81:], atol=1e-6)


@pytest.mark.parametrize(("data", "match"), [
    ({"dataset": "adding", "n": 10, "view": "series"}, r"train.data.view: view 'series' reads "
     r"a series whole, but dataset 'adding' is a regression dataset \(received 'series'\)"),
    ({"dataset": "sine", "view": "series", "window": {"size": 5}},
     r"train.data.window: view 'series' reads each split as one sequence"),
    ({"dataset": "sine", "n": 10, "view": "series", "split": {"test": 1}},
     r"the test part of the series has 1 steps"),
])
def test_series_view_refusals(data: dict[str, object], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        _prepare(data)


def _net(units: int = 30) -> torch.nn.Module:
    spec = load({"specc": 1, "name": "esn", "inputs": {"x": [None, 1]},
                 "nodes": {"r": {"op": "reservoir", "in": "x", "units": units, "density": 0.2,
                                 "bias_scaling": 0.2},
                           "y": {"op": "dense", "in": "r", "units": 1}}, "outputs": ["y"]})
    from specc.backends.torch import build_module

    return build_module(spec.graph, seed=0).eval()


def test_free_run_feeds_each_prediction_back() -> None:
    net = _net()
    warm = torch.randn(3, 9, 1)
    got = free_run(net, warm, horizon=4)
    seq = warm
    with torch.no_grad():  # reference: rerun the whole sequence each step, from a zero state
        for _ in range(4):
            seq = torch.cat([seq, net(seq)[:, -1:]], dim=1)
    torch.testing.assert_close(got, seq[:, 9:], atol=1e-5, rtol=1e-5)
    assert all(not m.carry for m in net.modules() if hasattr(m, "carry"))


def test_free_run_nrmse_is_the_rms_error_at_the_horizon_over_the_std() -> None:
    net = _net()
    x = torch.randn(1, 60, 1)
    p = FreeRunNRMSE.Params(horizon=5, warmup=10, stride=7, min_starts=1)
    got = FreeRunNRMSE.evaluate(p, SplitContext("test", lambda i: i, {"x": x}, {}, model=net))
    starts = list(range(10, 60 - 5 + 1, 7))
    errs = [float(free_run(net, x[:, s - 10:s], 5)[0, -1, 0]) - float(x[0, s + 4, 0])
            for s in starts]
    want = np.sqrt(np.mean(np.square(errs))) / float(x[0, :, 0].double().std(unbiased=False))
    assert got == pytest.approx(want, rel=1e-5)


def test_free_run_nrmse_refuses_too_few_starts_and_other_recurrent_state() -> None:
    ctx = SplitContext("test", lambda i: i, {"x": torch.randn(1, 60, 1)}, {}, model=_net())
    with pytest.raises(SpecError, match=r"gives 1 start points .* fewer than min_starts \(100\)"
                       r" \(received 1\)"):
        FreeRunNRMSE.evaluate(FreeRunNRMSE.Params(horizon=5, warmup=50), ctx)
    lstm = load({"specc": 1, "name": "l", "inputs": {"x": [None, 1]},
                 "nodes": {"h": {"op": "lstm", "in": "x", "units": 4, "return_sequences": True},
                           "y": {"op": "dense", "in": "h", "units": 1}}, "outputs": ["y"]})
    from specc.backends.torch import build_module

    ctx.model = build_module(lstm.graph, seed=0).eval()
    with pytest.raises(SpecError, match="carries the state of reservoir nodes only"):
        FreeRunNRMSE.evaluate(FreeRunNRMSE.Params(horizon=5, warmup=10, min_starts=1), ctx)


def test_a_small_esn_trains_and_reports_both_metrics(tmp_path) -> None:
    run = train("echo_state_network", out=tmp_path / "esn", overrides=SMALL, quiet=True)
    result = evaluate(run.dir, checkpoint="last")
    assert result["split"] == "test" and result["n"] == 1
    assert result["nrmse"] < 1e-3 and result["free_run_nrmse"] < 0.2  # 1.6e-4 and 0.034 here


def test_spec_reservoir_settings_are_the_recipe() -> None:
    node = load("echo_state_network").graph.nodes["reservoir"]
    assert node.kind == Reservoir.name
    p = node.params
    assert (p.units, p.spectral_radius, p.density, p.input_scaling, p.bias_scaling) == \
        (500, 1.0, 0.01, 1.0, 0.2)


@pytest.mark.slow
def test_echo_state_network_on_mackey_glass_reaches_the_bar(tmp_path) -> None:
    from specc.backends.onnx.export import export

    run = train("echo_state_network", out=tmp_path / "esn", quiet=True)
    result = evaluate(run.dir, checkpoint="last")
    print(f"echo_state_network mackey_glass: 1-step NRMSE {result['nrmse']:.3g}, "
          f"free-run NRMSE at 84 {result['free_run_nrmse']:.3g}")
    assert result["nrmse"] <= 1e-4
    assert result["free_run_nrmse"] <= 3e-3
    exported = export(run.dir)
    assert exported.parity is not None and exported.parity.ok
