"""The generated torch module: parameter parity, numerics vs hand-written torch, init, freezing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import specc
from specc.backends.torch import build_module, count_torch_params, final_activation


def seed_cnn(c: int = 3, h: int = 128, classes: int = 10):
    labels = [] if classes == 10 else ["labels=null"]  # dcn's labels name the 10 digits
    return specc.load("dcn", [f"channels={c}", f"height={h}", f"width={h}",
                              f"num_classes={classes}", *labels])


def test_dcn_param_count_equals_keras():
    # Keras model.summary() for the seed-000 CNN on 128x128x3 with 10 classes: 3,078,598
    spec = seed_cnn()
    assert spec.graph.param_counts == (3_078_598, 0)
    assert count_torch_params(specc.build(spec)) == (3_078_598, 0)


def hand_written(spec) -> nn.Module:
    m = nn.Sequential(
        nn.Conv2d(1, 16, 2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 32, 2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(32 * 6 * 6, 100), nn.ReLU(), nn.Linear(100, 10), nn.Softmax(1))
    gen = specc.build(spec)
    convs = [x for x in m if isinstance(x, (nn.Conv2d, nn.Linear))]
    ours = [x for x in gen.modules() if isinstance(x, (nn.Conv2d, nn.Linear))]
    for a, b in zip(convs, ours, strict=False):
        a.load_state_dict(b.state_dict())
    return m, gen


def test_generated_module_matches_hand_written_torch():
    spec = seed_cnn(1, 28)
    ref, gen = hand_written(spec)
    x = torch.rand(5, 1, 28, 28)
    torch.testing.assert_close(gen(x), ref(x), rtol=0, atol=0)
    assert "def forward(self, image)" in gen.code  # straight-line generated code


def test_logits_mode_drops_final_softmax_only():
    spec = seed_cnn(1, 28)
    probs = build_module(spec.graph, seed=3)
    logits = build_module(spec.graph, seed=3, logits=True)
    assert probs.state_dict().keys() == logits.state_dict().keys()
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(torch.softmax(logits(x), 1), probs(x))
    assert final_activation(spec.graph) == "softmax"


def test_seeded_init_is_deterministic_and_restores_rng():
    spec = seed_cnn(1, 28)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_module(spec.graph, seed=7)
    after = torch.rand(1)
    assert torch.equal(before, after)  # global RNG untouched
    b = build_module(spec.graph, seed=7)
    c = build_module(spec.graph, seed=8)
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values(), strict=False):
        assert torch.equal(v, w), k
    assert not torch.equal(a.state_dict()["dense_1.weight"], c.state_dict()["dense_1.weight"])


def test_keras_default_initialisers():
    spec = specc.load({"specc": 1, "inputs": {"x": [300]}, "layers": [{"dense": {"units": 200}}]})
    m = specc.build(spec)
    w, b = m.dense_1.weight.detach(), m.dense_1.bias.detach()
    limit = (6 / (300 + 200)) ** 0.5  # glorot_uniform
    assert float(w.abs().max()) <= limit and float(w.abs().max()) > 0.9 * limit
    assert float(b.abs().max()) == 0.0


def test_frozen_nodes_and_counts():
    spec = specc.load({"specc": 1, "inputs": {"x": [4]}, "layers": [
        {"dense": {"units": 3, "trainable": False}}, {"dense": {"units": 2}}]})
    assert spec.graph.param_counts == (8, 15)
    m = specc.build(spec)
    assert count_torch_params(m) == (8, 15)
    assert not m.dense_1.weight.requires_grad and m.dense_2.weight.requires_grad


def test_dtype_and_device_options():
    m = specc.build(seed_cnn(1, 28), dtype="float64", device="cpu")
    assert next(m.parameters()).dtype == torch.float64
    if torch.cuda.is_available():
        assert next(specc.build(seed_cnn(1, 28), device="cuda").parameters()).is_cuda
    else:
        with pytest.raises(specc.SpecError, match="no CUDA GPU"):
            specc.build(seed_cnn(1, 28), device="cuda")


def test_save_weights_round_trip(tmp_path):
    from specc.api import save_weights
    from specc.runs.checkpoint import load_weights

    spec = seed_cnn(1, 28)
    a = specc.build(spec, seed=1)
    save_weights(a, tmp_path / "w.safetensors")
    b = specc.build(spec, seed=2)
    load_weights(b, tmp_path / "w.safetensors")
    for v, w in zip(a.state_dict().values(), b.state_dict().values(), strict=False):
        assert torch.equal(v, w)
    other = specc.build(seed_cnn(1, 28, classes=5))
    with pytest.raises(specc.SpecError, match="do not fit the network"):
        load_weights(other, tmp_path / "w.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(specc.SpecError, match="not a readable safetensors file"):
        load_weights(a, tmp_path / "bad.safetensors")


def test_node_names_that_torch_modules_use_are_safe():
    spec = specc.load({"specc": 1, "inputs": {"x": [4]}, "nodes": {
        "code": {"op": "dense", "in": "x", "units": 3},
        "forward": {"op": "dense", "in": "code", "units": 2},
        "training": {"op": "relu", "in": "forward"}}, "outputs": ["training"]})
    m = specc.build(spec)
    assert m(torch.rand(2, 4)).shape == (2, 2)
    assert "code_.weight" in m.state_dict() and m.training is True
