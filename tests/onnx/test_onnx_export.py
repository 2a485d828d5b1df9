"""Export: parity at every batch size and sequence length, dynamic axes, metadata, checks."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx_cases import LABELS3, SPECS

from specc.backends.onnx import InferenceSession
from specc.backends.onnx.convert import check_axes


@pytest.mark.parametrize("name", list(SPECS))
def test_export_passes_parity_everywhere(exported, name):
    result, spec = exported(name)
    report = result.parity
    assert report.ok and report.max_abs_diff <= 1e-4
    dynamic = any(d is None for t in spec.graph.inputs.values() for d in t.shape)
    cases = {(c.batch, c.seq) for c in report.cases}
    seqs = (1, 5, 50) if dynamic else (None,)
    assert cases == {(b, s) for b in (1, 7, 64) for s in seqs}
    saved = json.loads(result.parity_path.read_text())
    assert saved["passed"] is True and saved["tolerance"] == 1e-4
    assert result.parity_path == result.path.with_name("parity.json")
    onnx.checker.check_model(str(result.path), full_check=True)


@pytest.mark.parametrize("name", list(SPECS))
def test_dynamic_axes_declared_and_usable(exported, name):
    result, spec = exported(name)
    graph = spec.graph
    model = onnx.load(str(result.path))
    assert [i.name for i in model.graph.input] == list(graph.inputs)
    assert [o.name for o in model.graph.output] == list(graph.outputs)
    assert check_axes(model, graph.inputs, graph.output_types) == []
    for vi in model.graph.input:
        dims = vi.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch"
        for d, want in zip(dims[1:], graph.inputs[vi.name].shape, strict=True):
            assert (d.dim_param != "") if want is None else d.dim_value == want
    session = InferenceSession(result.path, "cpu")
    t = next(iter(graph.inputs.values()))
    for batch in (1, 7, 64):
        shape = (batch, *(9 if d is None else d for d in t.shape))
        x = np.zeros(shape, dtype=np.int64 if t.dtype == "int64" else np.float32)
        assert session.run(x).shape[0] == batch


def test_torchscript_keeps_recurrent_axes_dynamic(tmp_path):
    import specc
    from specc.backends.onnx import export

    result = export(specc.load(SPECS["gru"]), tmp_path / "gru.onnx", exporter="torchscript")
    model = onnx.load(str(result.path))
    assert [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim][:2] == \
        ["batch", "seq"]
    out = [d.dim_param for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert out[0] == "batch" and out[1] and out[2] == ""  # (batch, steps, 2)


def test_dynamo_freezing_a_sequence_axis_is_caught(tmp_path):
    # torch 2.13's dynamo exporter fixes the output length of a GRU with return_sequences at
    # the traced length; the axis check refuses the model instead of shipping it
    import specc
    from specc.backends.onnx import export
    from specc.errors import SpecError

    with pytest.raises(SpecError, match="dynamic axis 1 of output '.*' was frozen at 5"):
        export(specc.load(SPECS["gru"]), tmp_path / "gru.onnx", exporter="dynamo")
    assert not (tmp_path / "gru.onnx").exists()


def test_auto_falls_back_to_dynamo_when_torchscript_fails(tmp_path):
    # in inference form z = mu: the TorchScript exporter drops the unused logvar input
    import specc
    from specc.backends.onnx import export

    spec = {"specc": 1, "inputs": {"mu": [3], "logvar": [3]},
            "nodes": {"z": {"op": "gaussian_sample", "in": ["mu", "logvar"]},
                      "out": {"op": "dense", "in": "z", "units": 2}},
            "outputs": ["out"]}
    result = export(specc.load(spec), tmp_path / "vae.onnx")
    assert result.exporter == "dynamo" and result.parity.ok
    assert "torchscript exporter: input 'logvar' is missing" in result.notes[0]
    assert [i.name for i in onnx.load(str(result.path)).graph.input] == ["mu", "logvar"]


def test_check_axes_catches_a_frozen_batch_axis(exported):
    result, spec = exported("gru")
    model = onnx.load(str(result.path))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    problems = check_axes(model, spec.graph.inputs, spec.graph.output_types)
    assert problems and "batch axis of input 'seq' was frozen at 1" in problems[0]


def test_metadata(exported):
    result, spec = exported("mlp")
    model = onnx.load(str(result.path))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["specc.version"] == spec.version
    assert props["specc.spec_hash"] == spec.hash
    assert props["specc.family"] == "feed-forward"
    assert json.loads(props["specc.labels"]) == LABELS3
    assert json.loads(props["specc.inputs"]) == {
        "x": {"shape": [None, 12], "dtype": "float32", "feature_axis": -1}}
    out = spec.graph.outputs[0]
    assert json.loads(props["specc.outputs"])[out]["shape"] == [None, 3]
    assert props["specc.activation"] == "softmax"
    assert props["specc.exporter"] == "torchscript" and props["specc.opset"] == "18"
    assert props["specc.weights"].startswith("fresh initialisation")
    assert model.doc_string == "a small classifier"
    assert model.graph.input[0].doc_string.startswith("per-sample shape (12")
    session = InferenceSession(result.path, "cpu")
    assert session.labels == LABELS3 and session.is_classifier


def test_inference_form_is_deterministic(exported):
    # dropout and gaussian noise are off in the exported model
    result, _ = exported("mlp")
    session = InferenceSession(result.path, "cpu")
    x = np.random.default_rng(0).standard_normal((5, 12)).astype(np.float32)
    np.testing.assert_array_equal(session.run(x), session.run(x))


def test_opset_is_selectable(tmp_path):
    import specc
    from specc.backends.onnx import export

    result = export(specc.load(SPECS["mlp"]), tmp_path / "m17.onnx", opset=17)
    model = onnx.load(str(result.path))
    assert {o.domain: o.version for o in model.opset_import}[""] == 17
    assert result.parity.ok
