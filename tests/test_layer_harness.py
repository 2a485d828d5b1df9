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
