"""An exported run carries its preprocessing: ``specc predict RUN``, ``specc run model.onnx``
and a plain ``onnxruntime.InferenceSession`` on the file agree on the same raw input file, for a
standardised table (iris), images (dcn, unit scaling), sequences (digits rows, standardised per
feature) and a windowed series whose targets are scaled. ``--bare`` exports the network alone
and says so in the metadata."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner

import specc
from specc.cli import main
from specc.train.api import predict

TOL = 1e-5

IRIS = {"specc": 1, "name": "iris_std", "labels": ["setosa", "versicolor", "virginica"],
        "inputs": {"x": [4]},
        "layers": [{"dense": {"units": 8, "activation": "relu"}},
                   {"dense": {"units": 3, "activation": "softmax"}}],
        "train": {"data": {"dataset": "iris", "split": {"val": 0.2, "seed": 0},
                           "scale": "standard"},
                  "loss": "cross_entropy", "optimizer": {"adam": {"lr": 0.05}}, "epochs": 3,
                  "batch_size": 16, "metrics": ["accuracy"]}}
ROWS = {"specc": 1, "name": "rows_std", "inputs": {"rows": [None, 8]},
        "layers": [{"gru": {"units": 8}}, {"dense": {"units": 10, "activation": "softmax"}}],
        "train": {"data": {"dataset": "digits", "split": {"val": 0.2, "seed": 0},
                           "view": "sequence", "scale": "standard",
                           "normalize": {"mean": 0.1, "std": 2.0}},
                  "loss": "cross_entropy", "optimizer": {"adam": {"lr": 0.01}}, "epochs": 1,
                  "batch_size": 64}}
SINE = {"specc": 1, "name": "sine_std", "inputs": {"x": [None, 1]},
        "layers": [{"gru": {"units": 8}}, {"dense": {"units": 1}}],
        "train": {"data": {"dataset": "sine", "n": 300, "split": {"val": 0.2},
                           "window": {"size": 10}, "scale": "standard", "rescale": 3.0},
                  "loss": "mse", "optimizer": {"adam": {"lr": 0.01}}, "epochs": 1,
                  "batch_size": 32}}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """name -> (run dir, exported model), trained and exported once."""
    cache: dict[str, tuple] = {}

    def get(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(name) / "run"
            if name == "dcn":
                specc.train("specs/dcn.yaml", out=out, quiet=True, epochs=1,
                            overrides=["train.data.limit=1200", "train.data.augment=null"])
            else:
                specc.train({"iris": IRIS, "rows": ROWS, "sine": SINE}[name], out=out,
                            quiet=True)
            result = invoke("export", out)
            assert result.exit_code == 0, result.output
            cache[name] = (out, out / "model.onnx")
        return cache[name]

    return get


def _inputs(name, tmp_path):
    """(input file, the raw batch it holds as the model's input array)."""
    rng = np.random.default_rng(1)
    if name == "iris":
        raw = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], np.float32)
        path = tmp_path / "rows.csv"
        np.savetxt(path, raw, delimiter=",", fmt="%.1f")
        return path, raw
    if name == "dcn":
        from PIL import Image

        pixels = rng.integers(0, 256, (28, 28)).astype(np.uint8)
        path = tmp_path / "digit.png"
        Image.fromarray(pixels).save(path)
        return path, pixels.astype(np.float32)[None, None]
    if name == "rows":
        raw = rng.integers(0, 17, (3, 8, 8)).astype(np.float32)
    else:
        raw = (3 * np.sin(np.arange(20, dtype=np.float32) / 5)).reshape(2, 10, 1)
    path = tmp_path / "x.npy"
    np.save(path, raw)
    return path, raw


def _run_cli(model, path, tmp_path, *extra):
    out = tmp_path / "out.npy"
    result = invoke("run", model, "-i", path, "--provider", "cpu", "--save", out, *extra)
    assert result.exit_code == 0, result.output
    return np.load(out), result.output


@pytest.mark.parametrize("name", ["iris", "dcn", "rows", "sine"])
def test_predict_run_and_plain_onnxruntime_agree(name, runs, tmp_path):
    run, model = runs(name)
    path, raw = _inputs(name, tmp_path)
    props = {p.key: p.value for p in onnx.load(str(model)).metadata_props}
    assert props["specc.preprocess_in_graph"] == "true"
    (rec,) = json.loads(props["specc.preprocess"]).values()
    assert rec["scale"] == ("unit" if name == "dcn" else "standard")
    assert ("specc.target_scale" in props) == (name == "sine")  # undone in the graph too
    want = predict(run, raw, labels=False)  # the run's own answer, preprocessed as in training
    got, output = _run_cli(model, path, tmp_path)
    assert "preprocessing" not in output and "unscaled" not in output
    np.testing.assert_allclose(got, want, atol=TOL, rtol=0)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    plain = session.run(None, {session.get_inputs()[0].name: raw})[0]
    np.testing.assert_allclose(plain, want, atol=TOL, rtol=0)
    if name != "sine":  # classifiers: the CLI's printed probabilities and labels agree too
        cli = invoke("predict", run, "--input", path, "--json")
        assert cli.exit_code == 0, cli.output
        rows = json.loads(cli.output)
        assert [r["probability"] for r in rows] == pytest.approx(got.max(axis=1).tolist(),
                                                                 abs=TOL)
        labels = [line.split()[1] for line in output.splitlines() if "(p=" in line]
        assert labels == [r["label"] for r in rows]


def test_iris_setosa_is_recognised_from_a_raw_row(runs, tmp_path):
    run, model = runs("iris")
    path, _ = _inputs("iris", tmp_path)
    got, output = _run_cli(model, path, tmp_path)
    assert output.splitlines()[-2].startswith("0: setosa")
    # asking for the preprocessing again does not apply it twice
    again, output = _run_cli(model, path, tmp_path, "--preprocess")
    assert "applies its training preprocessing itself" in output
    np.testing.assert_array_equal(again, got)


def test_bare_export_leaves_preprocessing_to_the_caller(runs, tmp_path):
    run, _ = runs("iris")
    bare = tmp_path / "bare.onnx"
    result = invoke("export", run, "-o", bare, "--bare")
    assert result.exit_code == 0, result.output
    props = {p.key: p.value for p in onnx.load(str(bare)).metadata_props}
    assert props["specc.preprocess_in_graph"] == "false"
    assert json.loads(props["specc.preprocess"])["x"]["scale"] == "standard"
    assert [n.op_type for n in onnx.load(str(bare)).graph.node][0] == "Gemm"
    path, raw = _inputs("iris", tmp_path)
    want = predict(run, raw, labels=False)
    fed_raw, _ = _run_cli(bare, path, tmp_path)
    assert np.max(np.abs(fed_raw - want)) > 1e-3  # the bare network needs scaled inputs
    applied, output = _run_cli(bare, path, tmp_path, "--preprocess")
    assert "applied the training preprocessing" in output
    np.testing.assert_allclose(applied, want, atol=TOL, rtol=0)


def test_int8_model_of_a_run_is_judged_on_raw_inputs(runs, tmp_path):
    from specc.backends.onnx import export
    from specc.train.api import evaluate

    run, _ = runs("iris")
    result = export(run, tmp_path / "m.onnx", quantize="int8")
    q = result.quantized
    assert q.metric == "accuracy" and q.before == pytest.approx(evaluate(run, split="val")
                                                                ["accuracy"])
    assert q.agreement is not None and q.agreement >= 0.9


def test_parity_uses_inputs_of_the_trained_scale(tmp_path):
    """Raw features around 10,000 with a spread of 0.001 (standardised in the graph): parity
    draws raw inputs that standardise to ~N(0, 1), not N(0, 1) raw values (10^7 after
    scaling), and predict and the exported file still agree on a raw row."""
    rng = np.random.default_rng(0)
    x = 1e4 + 1e-3 * rng.standard_normal((80, 3))
    y = x[:, :1] - 1e4
    data = tmp_path / "d.csv"
    np.savetxt(data, np.hstack([x, y]), delimiter=",", header="a,b,c,y", comments="",
               fmt="%.9f")
    spec = {"specc": 1, "name": "narrow", "inputs": {"x": [3]},
            "layers": [{"dense": {"units": 8}}, {"dense": {"units": 1}}],  # nothing saturates
            "train": {"data": {"dataset": "csv", "path": str(data), "label": "y",
                               "task": "regression", "split": {"val": 0.25},
                               "scale": "standard", "scale_target": "standard"},
                      "loss": "mse", "optimizer": {"adam": {"lr": 0.01}}, "epochs": 1,
                      "batch_size": 16}}
    run = tmp_path / "run"
    specc.train(spec, out=run, quiet=True)
    result = invoke("export", run)
    assert result.exit_code == 0, result.output
    report = json.loads((run / "parity.json").read_text())
    assert report["passed"] and report["max_abs_diff"] <= 1e-4
    np.savetxt(tmp_path / "row.csv", x[:2], delimiter=",", fmt="%.9f")
    got, _ = _run_cli(run / "model.onnx", tmp_path / "row.csv", tmp_path)
    want = predict(run, np.loadtxt(tmp_path / "row.csv", delimiter=",", dtype=np.float32))
    np.testing.assert_allclose(got, want, atol=TOL, rtol=0)


def test_export_failure_inside_the_preprocessing_names_the_layer(tmp_path):
    import torch
    from torch import nn

    from specc.backends.onnx import export_module
    from specc.backends.onnx.preprocess import wrap
    from specc.errors import SpecError
    from specc.types import TensorType

    class Eigen(nn.Module):
        def forward(self, x):
            return torch.linalg.eigh(x.reshape(-1, 2, 2) @ x.reshape(-1, 2, 2).transpose(1, 2))[0]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = nn.Linear(4, 4)
            self.odd = Eigen()

        def forward(self, x):
            return self.odd(self.pre(x))

    inputs = {"x": TensorType((4,))}
    rec = {"scale": "standard", "shift": [1.0] * 4, "div": [2.0] * 4}
    module = wrap(Net(), inputs, {"x": rec}, {}, ["y"])
    with pytest.raises(SpecError) as err:
        export_module(module, tmp_path / "m.onnx", inputs=inputs,
                      outputs={"y": TensorType((2,))}, kinds={"odd": ("odd", "eigen")})
    assert "layer 'odd' (kind 'eigen')" in str(err.value)
