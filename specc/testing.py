"""Public testing API: the layer harness every built-in kind and every plugin kind runs.

For one :class:`~specc.layers.base.Example` of a kind, :func:`run_layer_test` checks:

1. the spec line validates and the shape rule gives the expected output shape;
2. the torch module's output has the inferred shape (batch and dynamic axes filled in);
3. the inferred parameter counts equal torch's (trainable and non-trainable);
4. the spec round-trips: the resolved graph form loads again to the same types and counts;
5. the inference form exports to ONNX (as ``specc export`` does) and onnxruntime matches
   PyTorch within ``atol`` at batches 1, 7 and 64 (and sequence lengths 1, 5, 50 for dynamic
   axes).

A plugin author tests a kind with::

    from specc.testing import check_kind
    def test_my_layer():
        check_kind(MyLayer)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from .layers.base import Example, LayerKind
from .registry import current
from .types import TensorType

DOC_EXAMPLE = re.compile(r"Example:\s*\n\s*``(.+?)``", re.S)


@dataclass
class LayerTestResult:
    output: TensorType
    params: tuple[int, int]
    onnx_max_diff: float | None


def example_spec(kind: type[LayerKind] | str, example: Example) -> dict[str, Any]:
    """A one-layer spec (graph form) for an example.

    The inputs are named ``x0``, ``x1``, ...; a layer line with ``in: [a, b]`` (as a docstring
    example of a multi-input kind shows it) names them instead, one per example input shape
    (or each with the first shape when the counts differ).
    """
    item = yaml.safe_load(example.layer)
    if isinstance(item, str):
        op, params = item, {}
    else:
        ((op, params),) = item.items()
        params = dict(params or {})
    params.pop("name", None)
    names = params.pop("in", None)
    names = [names] if isinstance(names, str) else list(names or [])
    shapes = list(example.inputs)
    if names and len(names) != len(shapes):
        shapes = [shapes[0]] * len(names)
    names = [str(n) for n in names] or [f"x{i}" for i in range(len(shapes))]
    inputs = {n: ({"shape": list(s), "dtype": example.dtype} if example.dtype != "float32"
                  else list(s)) for n, s in zip(names, shapes, strict=True)}
    ins = list(inputs)
    return {"specc": 1, "name": f"{op}_test", "inputs": inputs,
            "nodes": {"out": {"op": op, "in": ins[0] if len(ins) == 1 else ins, **params}},
            "outputs": ["out"]}


def run_layer_test(kind: type[LayerKind] | str, example: Example, *, onnx: bool = True,
                   atol: float = 1e-4) -> LayerTestResult:
    """Run the whole harness for one example; raises AssertionError describing a failure."""
    import torch

    from .assembled import graph_to_dict, load
    from .backends.torch import build_module, count_torch_params

    spec = load(example_spec(kind, example))
    graph = spec.graph
    out_t = graph.type_of("out")
    if example.output is not None:
        assert tuple(out_t.shape) == tuple(example.output), (
            f"{example.layer}: shape rule gives {out_t.shape}, example expects {example.output}")
    module = build_module(graph, seed=0)
    got = count_torch_params(module)
    assert got == graph.param_counts, (
        f"{example.layer}: inferred parameters {graph.param_counts} != torch {got}")
    kind_cls = current().layers.get(graph.nodes["out"].kind)
    for training in (True, False):
        module.train(training)
        for batch in (3,):
            xs = _inputs(graph, batch, 4, torch.Generator().manual_seed(1))
            with torch.no_grad():
                y = module(*xs)
            want = (batch,) + tuple(4 if d is None else d for d in out_t.shape)
            assert tuple(y.shape) == want, (
                f"{example.layer}: torch output {tuple(y.shape)} != inferred {want} "
                f"({'train' if training else 'eval'} mode)")
    again = load(graph_to_dict(graph) | {"specc": 1, "name": "roundtrip"}).graph
    assert again.type_of(again.outputs[0]) == out_t, "spec round-trip changed the output type"
    assert again.param_counts == graph.param_counts, "spec round-trip changed parameter counts"
    diff = None
    if onnx and kind_cls.export_note is None:
        diff = onnx_parity(module.eval(), graph, atol=atol)
    return LayerTestResult(out_t, got, diff)


def _inputs(graph: Any, batch: int, seq: int, gen: Any) -> tuple[Any, ...]:
    from .backends.torch import example_inputs

    return example_inputs(graph, batch=batch, seq_len=seq, generator=gen)


def onnx_parity(module: Any, graph: Any, *, atol: float = 1e-4) -> float:
    """Export ``module`` the way ``specc export`` does (checker + onnxruntime parity at batches
    1, 7, 64 and, for dynamic axes, sequence lengths 1, 5, 50); returns the max abs diff."""
    import tempfile
    from pathlib import Path

    from .backends.onnx.export import export_module, int_highs, node_kinds

    with tempfile.TemporaryDirectory() as tmp:
        result = export_module(module, Path(tmp) / "layer.onnx", inputs=graph.inputs,
                               outputs=graph.output_types, tolerance=atol,
                               int_highs=int_highs(graph), kinds=node_kinds(graph))
    assert result.parity is not None and result.parity.ok, f"ONNX parity failed: {result}"
    return result.parity.max_abs_diff or 0.0


def docstring_example(kind: type[LayerKind]) -> str | None:
    """The YAML line of the ``Example:`` section of a kind's docstring, if any."""
    m = DOC_EXAMPLE.search(kind.__doc__ or "")
    if not m:
        return None
    line = m.group(1).strip()
    return line[2:] if line.startswith("- ") else line


def check_docstring(kind: type[LayerKind]) -> None:
    """Check what ``specc layers`` shows of a kind: the first docstring line is one complete
    sentence (the summary), and the ``Example:`` line loads in a real spec (its ``in:`` names,
    if any, become inputs) with the input shapes of one of the kind's examples."""
    doc = (kind.__doc__ or "").strip()
    lines = doc.splitlines()
    summary = lines[0].strip() if lines else ""
    assert summary, f"layer kind '{kind.name}' has no docstring summary line"
    assert summary.endswith((".", "!", "?")) and (len(lines) == 1 or not lines[1].strip()), (
        f"layer kind '{kind.name}': the first docstring line is the summary in 'specc layers' and "
        f"must be one complete sentence followed by a blank line (got {summary!r})")
    line = docstring_example(kind)
    assert line is not None, f"layer kind '{kind.name}' has no ``Example`` in its docstring"
    assert kind.examples, f"layer kind '{kind.name}' declares no examples"
    from .assembled import load
    from .errors import SpecError

    errors: list[SpecError] = []
    for ex in kind.examples:  # the line must fit the input shapes of one of the examples
        try:
            load(example_spec(kind, Example(line, ex.inputs, None, ex.dtype)))
            return
        except SpecError as err:
            errors.append(err)
    raise AssertionError(f"layer kind '{kind.name}': the docstring example {line!r} does not "
                         f"load with the input shapes of any example: {errors[0]}")


def check_kind(kind: type[LayerKind] | str, *, onnx: bool = True) -> list[LayerTestResult]:
    """Run every example of a kind and check its docstring (summary line, example)."""
    cls = current().layers.get(kind) if isinstance(kind, str) else kind
    assert cls.examples, f"layer kind '{cls.name}' declares no examples"
    check_docstring(cls)
    return [run_layer_test(cls, ex, onnx=onnx) for ex in cls.examples]
