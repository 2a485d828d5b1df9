"""Hostile model files for ``specc run`` and ``InferenceSession``: inputs declared too large to
allocate, tampered ``specc.*`` metadata, and model paths that are not regular files. Each is a
clear SpecError (exit 2), reached without allocating or blocking."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from specc.backends.onnx import InferenceSession
from specc.backends.onnx.parity import random_inputs
from specc.cli import main
from specc.errors import SpecError
from specc.types import TensorType


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _identity_model(path, dims, props=None):
    """A one-node model whose input (and output) declares ``dims``."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    for key, value in (props or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


# -- inputs too large to allocate ---------------------------------------------------------------


def test_huge_declared_input_is_refused_before_allocating(tmp_path):
    model = _identity_model(tmp_path / "huge.onnx", ["batch", 100000, 100000, 100000],
                            {"specc.version": "0.1.0"})
    with pytest.raises(SpecError, match=r"input 'x' declares 1,000,000,000,000,000 values per "
                                        r"sample .*more than the limit") as err:
        InferenceSession(model, "cpu")
    assert "SPECC_MAX_ACTIVATION" in str(err.value)
    np.save(tmp_path / "x.npy", np.zeros((1, 2), np.float32))
    result = invoke("run", model, "-i", tmp_path / "x.npy", "--provider", "cpu")
    assert result.exit_code == 2, result.output
    assert "values per sample" in result.output and "Traceback" not in result.output


def test_input_limit_can_be_raised(tmp_path, monkeypatch):
    model = _identity_model(tmp_path / "m.onnx", ["batch", 8, 8])
    monkeypatch.setenv("SPECC_MAX_ACTIVATION", "32")
    with pytest.raises(SpecError, match="64 values per sample"):
        InferenceSession(model, "cpu")
    monkeypatch.setenv("SPECC_MAX_ACTIVATION", "64")
    session = InferenceSession(model, "cpu")
    assert session.run(np.ones((2, 8, 8), np.float32)).shape == (2, 8, 8)


def test_random_parity_inputs_are_bounded():
    rng = np.random.default_rng(0)
    with pytest.raises(SpecError, match="1,000,000,000,000,000 values per sample"):
        random_inputs({"x": TensorType((100000, 100000, 100000))}, 64, 5, rng)


# -- tampered metadata --------------------------------------------------------------------------

GOOD = {
    "specc.version": "0.1.0",
    "specc.inputs": json.dumps({"x": {"shape": [None, 3], "dtype": "float32",
                                      "feature_axis": -1}}),
    "specc.outputs": json.dumps({"y": {"shape": [None, 3], "dtype": "float32",
                                       "feature_axis": -1}}),
    "specc.labels": json.dumps(["a", "b", "c"]),
    "specc.activation": "softmax",
    "specc.classes": "3",
    "specc.preprocess": json.dumps({"x": {"shape": [3], "dtype": "float32", "scale": "standard",
                                          "shift": [1.0, 2.0, 3.0], "div": [1.0, 2.0, 4.0]}}),
    "specc.preprocess_in_graph": "false",
}

TAMPERED = {
    "feature-axis": ("specc.inputs", json.dumps({"x": {"shape": [None, 3], "dtype": "float32",
                                                       "feature_axis": 7}}), "feature_axis 7"),
    "outputs-not-json": ("specc.outputs", "{not json", "is not valid JSON"),
    "labels-not-list": ("specc.labels", json.dumps({"a": 1}), "non-empty list"),
    "labels-nested": ("specc.labels", json.dumps([["a"], "b"]), "short text or number"),
    "labels-count": ("specc.labels", json.dumps(["a", "b"]),
                     "has 2 labels but the model's first output has 3 classes"),
    "classes": ("specc.classes", "-3", "positive class count"),
    "activation": ("specc.activation", "relu", "must be softmax or sigmoid"),
    "in-graph-flag": ("specc.preprocess_in_graph", "maybe", "must be true or false"),
    "scale-kind": ("specc.preprocess", json.dumps({"x": {"scale": "log"}}), "unknown scale"),
    "div-zero": ("specc.preprocess", json.dumps({"x": {"scale": "standard", "shift": [0, 0, 0],
                                                       "div": [1, 0, 1]}}), "must not be 0"),
    "shift-length": ("specc.preprocess", json.dumps({"x": {"scale": "standard", "shift": [0] * 5,
                                                           "div": [1] * 5}}),
                     "has 5 values but the feature axis has 3"),
    "unit-max-text": ("specc.preprocess", json.dumps({"x": {"scale": "unit", "max": "big"}}),
                      "finite numbers"),
    "record-rank": ("specc.preprocess", json.dumps({"x": {"shape": [3, 1, 1], "scale": "none"}}),
                    "shape of 3 axes but the input has 1"),
    "unknown-input": ("specc.preprocess", json.dumps({"z": {"scale": "none"}}),
                      "names input 'z'"),
    "target-length": ("specc.target_scale", json.dumps({"y": {"scale": [1, 2], "shift": [0, 0]}}),
                      "has 2 values but the feature axis has 3"),
    "target-nan": ("specc.target_scale", '{"y": {"scale": [NaN], "shift": [0]}}',
                   "finite numbers"),
    "target-missing": ("specc.target_scale", json.dumps({"y": {"scale": [1, 1, 1]}}),
                       "shift is missing"),
    "deep-json": ("specc.labels", "[" * 100000 + "]" * 100000, "specc.labels"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_tampered_metadata_is_a_clear_error(case, tmp_path):
    key, value, message = TAMPERED[case]
    model = _identity_model(tmp_path / "m.onnx", ["batch", 3], {**GOOD, key: value})
    with pytest.raises(SpecError, match=f"model metadata '{key}'") as err:
        InferenceSession(model, "cpu")
    assert message in str(err.value)
    assert "m.onnx" in str(err.value)
    np.save(tmp_path / "x.npy", np.ones((2, 3), np.float32))
    result = invoke("run", model, "-i", tmp_path / "x.npy", "--provider", "cpu")
    assert result.exit_code == 2, result.output
    assert f"model metadata '{key}'" in result.output and "Traceback" not in result.output


def test_untampered_metadata_runs_and_applies_the_recorded_preprocessing(tmp_path):
    model = _identity_model(tmp_path / "m.onnx", ["batch", 3], GOOD)
    np.save(tmp_path / "x.npy", np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 3.0]], np.float32))
    out = tmp_path / "out.npy"
    result = invoke("run", model, "-i", tmp_path / "x.npy", "--preprocess", "--save", out)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(out), [[0, 0, 0], [1, 1, 0]])


# -- model paths that are not regular files -----------------------------------------------------


def _run_bounded(target, seconds=60):
    """Run ``target`` in a thread; fail if it does not return (a hang) within ``seconds``."""
    box: dict = {}

    def work():
        try:
            box["value"] = target()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the call blocked"
    return box


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
def test_model_path_that_is_not_a_file(kind, tmp_path):
    if kind == "fifo":
        path = tmp_path / "pipe.onnx"
        os.mkfifo(path)
    elif kind == "dev-zero":
        path = "/dev/zero"
        if not os.path.exists(path):
            pytest.skip("no /dev/zero here")
    else:
        path = tmp_path / "folder.onnx"
        path.mkdir()
    box = _run_bounded(lambda: InferenceSession(path, "cpu"))
    assert isinstance(box.get("error"), SpecError), box
    text = str(box["error"])
    assert ("directory" in text) if kind == "directory" else ("not a regular file" in text)
    np.save(tmp_path / "x.npy", np.ones((1, 3), np.float32))
    result = _run_bounded(lambda: invoke("run", path, "-i", tmp_path / "x.npy"))["value"]
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output


def test_export_never_replaces_a_fifo(tmp_path):
    from specc.backends.onnx import export

    fifo = tmp_path / "out.onnx"
    os.mkfifo(fifo)
    spec = {"specc": 1, "inputs": {"x": [3]}, "layers": [{"dense": {"units": 2}}]}
    box = _run_bounded(lambda: export(spec, fifo))
    assert isinstance(box.get("error"), SpecError), box
    assert "not a regular file" in str(box["error"])
    assert fifo.is_fifo()


def test_bare_model_preprocessing_follows_the_recorded_feature_axis(tmp_path):
    """Per-channel statistics of an image input apply along its channel axis (axis 0)."""
    props = {"specc.version": "0.1.0",
             "specc.inputs": json.dumps({"x": {"shape": [None, 3, 2, 2], "dtype": "float32",
                                               "feature_axis": 0}}),
             "specc.preprocess": json.dumps({"x": {"shape": [3, 2, 2], "dtype": "float32",
                                                   "scale": "standard", "shift": [1, 2, 3],
                                                   "div": [1, 2, 4]}}),
             "specc.preprocess_in_graph": "false"}
    model = _identity_model(tmp_path / "m.onnx", ["batch", 3, 2, 2], props)
    x = np.ones((2, 3, 2, 2), np.float32) * np.array([1, 4, 7], np.float32)[:, None, None]
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npy"
    result = invoke("run", model, "-i", tmp_path / "x.npy", "--preprocess", "--save", out)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(out)[0, :, 0, 0], [0, 1, 1])
