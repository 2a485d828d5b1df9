"""Backends are registry entries (group specc.backends): torch and onnx built in, plugins alike."""

from __future__ import annotations

import pytest
import torch

import specc
from specc.backends.builtin import TorchBackend
from specc.registry import current, isolated, register_backend

MLP = {"specc": 1, "name": "mlp", "inputs": {"x": [6]},
       "layers": [{"dense": {"units": 3, "activation": "softmax"}}]}


def test_builtin_backends_registered_through_entry_points():
    backends = current().backends
    assert {"torch", "onnx"} <= set(backends.names())
    assert backends.provider("torch") == "specc"


def test_compile_with_torch_and_onnx(tmp_path):
    module = specc.compile(MLP, "torch", seed=1)
    assert isinstance(module, torch.nn.Module)
    result = specc.compile(MLP, "onnx", output=tmp_path / "mlp.onnx")
    assert result.path.is_file() and result.parity.ok


def test_plugin_backend_and_unknown_backend():
    class CountingBackend:
        name = "count"
        description = "counts nodes"

        def compile(self, spec, network=None, **options):
            return len(spec.network(network).nodes)

    with isolated(discover=True) as regs:
        register_backend(CountingBackend)
        assert regs.backends.get("torch") is TorchBackend
        assert specc.compile(MLP, "count") == 1
        with pytest.raises(specc.SpecError, match="unknown backend 'tourch'") as info:
            specc.compile(MLP, "tourch")
        assert "did you mean 'torch'" in info.value.render()
    assert "count" not in current().backends
