"""Export sources: trained runs, given weights, every built-in spec; refusals that name the
layer kind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

import specc
from specc.backends.onnx import InferenceSession, export, export_module
from specc.errors import SpecError
from specc.types import TensorType

SPECS_DIR = Path(__file__).resolve().parents[2] / "specs"
BIG = 1_000_000  # parameters: built-in specs above this export in the slow suite (-m slow)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "ff"
    specc.train("specs/feed_forward.yaml", out=out, epochs=1, quiet=True,
                overrides=["params.hidden=16"])
    return out


def test_export_from_a_run_uses_its_best_checkpoint(trained_run):
    result = export(trained_run, quantize="int8")
    assert result.path == trained_run / "model.onnx"
    assert (trained_run / "parity.json").exists() and result.parity.ok
    props = {p.key: p.value for p in onnx.load(str(result.path)).metadata_props}
    assert "checkpoints/best" in props["specc.weights"]
    assert json.loads(props["specc.preprocess"])["pixels"]["scale"] == "unit"
    assert props["specc.classes"] == "10"
    q = result.quantized
    from specc.train.api import evaluate, predict

    # the float model reproduces the trainer's own held-out accuracy
    assert q.metric == "accuracy" and q.before == pytest.approx(evaluate(trained_run)["accuracy"])
    # the run's own predictions agree with onnxruntime's
    raw = np.random.default_rng(0).integers(0, 17, (5, 64)).astype(np.float32)
    session = InferenceSession(result.path, "cpu")
    assert props["specc.preprocess_in_graph"] == "true"  # the model takes raw pixels
    assert list(session.predict({"pixels": raw})) == list(predict(trained_run, raw))


def test_export_with_weights_file(tmp_path):
    spec = specc.load("specs/feed_forward.yaml")
    module = specc.build(spec, seed=7)
    specc.save_weights(module, tmp_path / "w.safetensors")
    result = export(spec, tmp_path / "m.onnx", weights=tmp_path / "w.safetensors")
    x = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    with torch.no_grad():
        want = module.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(InferenceSession(result.path, "cpu").run(x), want, atol=1e-5)
    assert result.path.with_name("parity.json").exists()


def _builtin_specs():
    for path in sorted(SPECS_DIR.glob("*.yaml")):
        spec = specc.load(path)
        for net in spec.networks:
            big = sum(spec.network(net).param_counts) > BIG
            marks = [pytest.mark.slow] if big else []
            yield pytest.param(path, net, marks=marks, id=f"{path.stem}-{net}")


@pytest.mark.parametrize("path,network", list(_builtin_specs()))
def test_every_builtin_spec_exports_with_parity(path, network, tmp_path):
    result = export(path, tmp_path / "model.onnx", network=network)
    assert result.parity.ok and result.parity.max_abs_diff <= 1e-4


def test_multi_network_spec_needs_a_network(tmp_path):
    gan = {"specc": 1, "networks": {
        "g": {"inputs": {"z": [4]}, "layers": [{"dense": {"units": 6}}]},
        "d": {"inputs": {"x": [6]}, "layers": [{"dense": {"units": 1}}]}}}
    with pytest.raises(SpecError, match="several networks"):
        export(gan, tmp_path / "x.onnx")
    result = export(gan, tmp_path / "g.onnx", network="g")
    props = {p.key: p.value for p in onnx.load(str(result.path)).metadata_props}
    assert props["specc.network"] == "g"


def test_kind_with_export_note_is_refused_by_name(tmp_path, monkeypatch):
    from specc.registry import current

    dense = current().layers.get("dense")
    monkeypatch.setattr(dense, "export_note", "it samples at inference")
    spec = tmp_path / "s.yaml"
    spec.write_text("specc: 1\ninputs: {x: [3]}\nlayers:\n  - dense: {units: 2}\n")
    with pytest.raises(SpecError, match=r"s.yaml:4:5: layers\[0\].dense: layer 'dense\w*' \(kind "
                                        r"'dense'\) cannot be exported to ONNX: it samples at "
                                        r"inference"):
        export(spec, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


class _Eigen(nn.Module):
    def forward(self, x):
        return torch.linalg.eigh(x.reshape(-1, 2, 2) @ x.reshape(-1, 2, 2).transpose(1, 2))[0]


class _Net(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.pre = nn.Linear(4, 4)
        self.odd = inner

    def forward(self, x):
        return self.odd(self.pre(x))


def test_exporter_failure_names_the_layer_kind(tmp_path, capfd):
    with pytest.raises(SpecError) as err:
        export_module(_Net(_Eigen()), tmp_path / "m.onnx", inputs={"x": TensorType((4,))},
                      outputs={"y": TensorType((2,))}, kinds={"odd": ("odd", "eigen")})
    text = str(err.value)
    assert "layer 'odd' (kind 'eigen')" in text and "linalg_eigh" in text
    assert "dynamo" in text and "torchscript" in text
    assert "Torch IR graph" not in capfd.readouterr().out  # exporter noise is swallowed
    assert not (tmp_path / "m.onnx").exists()


class _Cheat(nn.Module):
    """Exports a different function from the one PyTorch runs."""

    def forward(self, x):
        return x + 1 if torch.onnx.is_in_onnx_export() else x


def test_parity_failure_keeps_file_only_when_asked(tmp_path):
    kwargs = {"inputs": {"x": TensorType((4,))}, "outputs": {"y": TensorType((4,))}}
    with pytest.raises(SpecError, match="disagree at batch 1") as err:
        export_module(_Net(_Cheat()), tmp_path / "m.onnx", **kwargs)
    assert not (tmp_path / "m.onnx").exists() and err.value.parity is not None
    with pytest.raises(SpecError, match="kept"):
        export_module(_Net(_Cheat()), tmp_path / "m.onnx", keep_failed=True, **kwargs)
    assert (tmp_path / "m.onnx").exists()


def test_module_on_another_dtype_is_exported_as_float32(tmp_path):
    module = nn.Sequential(nn.Linear(3, 2)).double()
    result = export_module(module, tmp_path / "m.onnx", inputs={"x": TensorType((3,))},
                           outputs={"y": TensorType((2,))})
    assert result.parity.ok and module[0].weight.dtype == torch.float64  # caller's untouched


def test_export_module_leaves_the_module_in_its_mode(tmp_path):
    module = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)).train()
    result = export_module(module, tmp_path / "m.onnx", inputs={"x": TensorType((3,))},
                           outputs={"y": TensorType((2,))})
    assert result.parity.ok and module.training  # exported in eval form, handed back training


def test_run_applies_the_training_preprocessing_when_asked(trained_run, tmp_path):
    from click.testing import CliRunner

    from specc.cli import main

    model = export(trained_run, trained_run / "bare.onnx", preprocess=False).path  # --bare
    raw = np.random.default_rng(0).integers(0, 17, (2, 64)).astype(np.float32)
    np.save(tmp_path / "raw.npy", raw)
    plain = CliRunner().invoke(main, ["run", str(model), "-i", str(tmp_path / "raw.npy")])
    assert plain.exit_code == 0 and "looks unscaled (max 16)" in plain.output
    scaled = CliRunner().invoke(main, ["run", str(model), "-i", str(tmp_path / "raw.npy"),
                                       "--preprocess"])
    assert scaled.exit_code == 0 and "applied the training preprocessing" in scaled.output
    from specc.train.api import predict

    labels = [line.split()[1] for line in scaled.output.splitlines() if "(p=" in line]
    assert labels == list(predict(trained_run, raw))
