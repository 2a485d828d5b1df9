"""The shared layer harness over the whole registry: every registered kind, every example.

A new kind (built-in or plugin) is tested here the moment it is registered: shape rule vs
torch output, parameter counts vs torch, spec round-trip, and ONNX export with onnxruntime
parity (the first example of each kind in the normal suite, every example in the slow suite:
each export costs seconds).
"""

from __future__ import annotations

import pytest

from specc.registry import current
from specc.testing import docstring_example, run_layer_test

CASES = [(name, i, ex) for name, kind in current().layers.items()
         for i, ex in enumerate(kind.examples)]
IDS = [f"{n}-{i}" for n, i, _ in CASES]


@pytest.mark.parametrize("name,i,example", CASES, ids=IDS)
def test_layer_example(name, i, example):
    result = run_layer_test(name, example, onnx=False)
    assert result.onnx_max_diff is None


ONNX_CASES = [pytest.param(n, i, ex, marks=[pytest.mark.slow] if i else [], id=f"{n}-{i}")
              for n, i, ex in CASES if current().layers.get(n).export_note is None]


@pytest.mark.parametrize("name,i,example", ONNX_CASES)
def test_layer_example_onnx_parity(name, i, example):
    result = run_layer_test(name, example, onnx=True)
    assert result.onnx_max_diff is not None and result.onnx_max_diff <= 1e-4


@pytest.mark.parametrize("name", current().layers.names())
def test_every_kind_is_documented_and_has_examples(name):
    kind = current().layers.get(name)
    assert kind.examples, f"{name}: no examples for the harness"
    line = docstring_example(kind)
    assert line, f"{name}: docstring has no ``Example`` line"
    assert line.split(":")[0].strip() in (name, *current().layers.aliases_of(name)), line


def test_plugin_contract_in_docs_plugins_md():
    """docs/plugins.md sections 2.1-2.6: a two-input kind with a frozen parameter and its own
    initialisation passes check_kind; the frozen parameter is non-trainable and never given to
    the optimizer; specc keeps the module's own init, seeded and reproducible."""
    from types import SimpleNamespace

    import torch

    import specc
    from specc.layers.base import Example, LayerKind, NoParams, shape_error
    from specc.registry import isolated, register_layer
    from specc.testing import check_kind
    from specc.train.optim import make_optimizer

    class ScaledGate(LayerKind):
        """Multiplies the first input by a sigmoid of the second, with a fixed scale.

        Args:
            none.

        Input shape: two tensors of one shape, named by ``in:``. Output shape: that shape.

        Example:
            ``- scaled_gate: {in: [x, g]}``
        """

        name = "scaled_gate"
        Params = NoParams
        min_inputs = max_inputs = 2
        examples = (Example("scaled_gate", ((4,), (4,)), (4,)),)

        @classmethod
        def infer(cls, p, inputs):
            if inputs[0].shape != inputs[1].shape:
                raise shape_error("expects two inputs of one shape", inputs)
            return inputs[0]

        @classmethod
        def count_params(cls, p, inputs):
            return (inputs[0].shape[-1], inputs[0].shape[-1])

        @classmethod
        def build(cls, p, inputs):
            n = inputs[0].shape[-1]

            class Gate(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.w = torch.nn.Parameter(torch.randn(n))
                    self.scale = torch.nn.Parameter(torch.full((n,), 2.0), requires_grad=False)

                def forward(self, a, b):
                    return a * torch.sigmoid(b * self.w) * self.scale

            return Gate()

    spec = {"specc": 1, "name": "doc", "inputs": {"x": [4]}, "layers": [
        {"dense": {"units": 4, "name": "h"}}, {"dense": {"units": 4, "in": "x"}},
        {"scaled_gate": {"in": ["h", "dense_1"]}}]}
    with isolated(discover=True):
        register_layer(ScaledGate)
        check_kind(ScaledGate, onnx=False)
        loaded = specc.load(spec)
        graph = loaded.network()
        assert graph.nodes["scaled_gate_1"].inputs == ["h", "dense_1"]
        assert graph.param_counts == (40 + 4, 4)
        one, two, other = specc.build(loaded), specc.build(loaded), specc.build(loaded, seed=5)
        state = one.state_dict()
        assert torch.equal(state["scaled_gate_1.w"], two.state_dict()["scaled_gate_1.w"])
        assert not torch.equal(state["scaled_gate_1.w"], other.state_dict()["scaled_gate_1.w"])
        assert state["scaled_gate_1.scale"].tolist() == [2.0] * 4  # its own init, kept
        choice = SimpleNamespace(name="sgd", params=SimpleNamespace(
            lr=0.1, momentum=0.0, nesterov=False, dampening=0.0, weight_decay=0.0))
        opt = make_optimizer(choice, one.parameters())
        given = {id(q) for group in opt.param_groups for q in group["params"]}
        assert id(one.get_submodule("scaled_gate_1").scale) not in given
        assert id(one.get_submodule("scaled_gate_1").w) in given
