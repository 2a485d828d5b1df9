"""viz.run_from (the decoder half of `specc sample`) applies every fused activation exactly as
the compiled model does, direct calls (relu, sigmoid, softmax) and modules (leaky_relu) alike."""

from __future__ import annotations

import torch

import specc
from specc.viz import run_from


def test_run_from_matches_the_compiled_forward():
    spec = specc.load({"specc": 1, "name": "dec", "inputs": {"z": [3]}, "nodes": {
        "a": {"op": "dense", "in": "z", "units": 5, "activation": "relu"},
        "b": {"op": "dense", "in": "a", "units": 5, "activation": "leaky_relu"},
        "c": {"op": "dense", "in": "b", "units": 4, "activation": "tanh"},
        "out": {"op": "dense", "in": "c", "units": 6, "activation": "sigmoid"}},
        "outputs": ["out"]})
    model = specc.build(spec).eval()
    z = torch.randn(7, 3)
    env = run_from(model, spec.graph, {"z": z})
    torch.testing.assert_close(env["out"], model(z), rtol=0, atol=0)
    assert float(env["a"].min()) >= 0 and float(env["out"].max()) <= 1
