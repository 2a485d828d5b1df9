"""int8 dynamic quantization: smaller file, outputs close, metric on held-out data."""

from __future__ import annotations

import onnx
import pytest

import specc
from specc.backends.onnx import InferenceSession, export, quantize_model
from specc.errors import SpecError

WIDE = {"specc": 1, "name": "wide", "labels": ["a", "b", "c", "d"],
        "inputs": {"x": [64]},
        "layers": [{"dense": {"units": 256, "activation": "relu"}},
                   {"dense": {"units": 256, "activation": "relu"}},
                   {"dense": {"units": 4, "activation": "softmax"}}]}


def test_quantize_shrinks_and_stays_close(tmp_path):
    result = export(specc.load(WIDE), tmp_path / "wide.onnx", quantize="int8")
    q = result.quantized
    assert q.path == tmp_path / "wide.int8.onnx" and q.path.exists()
    assert q.size_after < 0.4 * q.size_before
    assert q.max_drift < 0.05 and q.agreement >= 0.9
    assert "random inputs" in q.data and q.metric is None  # no train section: no metric
    props = {p.key: p.value for p in onnx.load(str(q.path)).metadata_props}
    assert props["specc.quantized"] == "int8" and props["specc.spec_hash"]
    session = InferenceSession(q.path, "cpu")
    assert session.labels == ["a", "b", "c", "d"]
    assert any("int8 model" in line for line in q.lines())


def test_quantize_reports_the_metric_on_held_out_data(tmp_path):
    # the spec's own validation split (digits, 20%) judges the int8 model
    spec = specc.load("specs/feed_forward.yaml")
    result = export(spec, tmp_path / "ff.onnx", quantize="int8")
    q = result.quantized
    assert q.metric == "accuracy" and q.data.startswith("the val split (360 samples)")
    assert 0 <= q.before <= 1 and abs(q.after - q.before) < 0.1


def test_quantize_cnn_and_recurrent(exported, tmp_path):
    for name in ("cnn", "lstm"):
        q = quantize_model(exported(name)[0].path, output=tmp_path / f"{name}.int8.onnx")
        assert q.max_drift < 0.1 and q.agreement > 0.9
        if q.size_after >= q.size_before:  # a few hundred weights: tables cost more
            assert "not smaller" in q.notes[0]


def test_unknown_quantization(mlp_model):
    with pytest.raises(SpecError, match="unknown quantization"):
        quantize_model(mlp_model, "int4")
