"""The regime protocol: declared on the class, and what the engine reads from it."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from specc.errors import SpecError
from specc.fileio import read_safetensors
from specc.registry import isolated
from specc.runs.folder import read_metrics
from specc.train.api import evaluate, predict, train
from specc.train.backprop import Backprop
from specc.train.fit import FitRegime
from specc.train.regime import TARGETS, Regime

ROOT = Path(__file__).resolve().parents[2]
CLI = "import sys; from specc.cli import main; sys.exit(main())"


def test_a_safetensors_header_of_896_bytes_is_not_taken_for_a_pickle(tmp_path):
    # a header length whose low byte is 0x80 starts like a pickle (0x80 0x03 ...)
    path = tmp_path / "w.safetensors"
    for pad in range(1000):
        save_file({"w": torch.zeros(2)}, str(path), metadata={"m": "x" * pad})
        if struct.unpack("<Q", path.read_bytes()[:8])[0] == 0x380:
            break
    head = path.read_bytes()
    assert head[:2] == b"\x80\x03" and json.loads(head[8:8 + 0x380])
    assert torch.equal(read_safetensors(path)["w"], torch.zeros(2))


SPEC = """
specc: 1
name: mlp
inputs: {x: [4]}
layers:
  - dense: {units: 3, activation: softmax}
train:
  regime: REGIME
  data: {dataset: iris, split: {val: 0.2, seed: 0}, scale: standard}
  loss: cross_entropy
  optimizer: {adam: {lr: 0.05}}
  epochs: 6
  EXTRA
"""


class Shifted(Backprop):
    """Backprop whose inference form adds 100: shows that predict goes through the regime."""

    name = "shifted"
    aliases = ()

    def predict(self, inputs):
        return {k: v + 100 for k, v in super().predict(inputs).items()}


class Norm(Backprop):
    """Backprop with an own metric (the weight norm), logged every epoch."""

    name = "norm"
    aliases = ()
    own_metrics = {"weight_norm": "max"}

    def epoch_logs(self):
        norm = float(sum(p.detach().norm() ** 2 for p in self.net.parameters()) ** 0.5)
        return {**super().epoch_logs(), "weight_norm": norm}


@pytest.fixture
def regs():
    with isolated(discover=True) as r:
        r.trainers.register(Shifted)
        r.trainers.register(Norm)
        yield r


def _spec(spec_file, regime, extra=""):
    return spec_file(SPEC.replace("REGIME", regime).replace("EXTRA", extra))


def test_the_protocol_is_declared_on_the_classes():
    from specc.registry import current
    from specc.spec.training import FitConfig, GradientConfig

    trainers = current().trainers
    backprop = trainers.get("backprop")
    assert (backprop.Config, backprop.targets, backprop.multiprocess) == \
        (GradientConfig, "loss", True)
    assert Regime.targets == "none" and Regime.multiprocess is False and Regime.own_metrics == {}
    for name in trainers.names():
        cls = trainers.get(name)
        assert issubclass(cls, Regime) and cls.targets in TARGETS, name
        if issubclass(cls, FitRegime):
            assert issubclass(cls.Config, FitConfig), name


def test_predict_and_evaluate_go_through_the_regime(regs, spec_file, tmp_path):
    run = train(_spec(spec_file, "shifted"), out=tmp_path / "run", quiet=True)
    x = np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)
    probs = predict(run.dir, x, labels=False)
    assert probs.shape == (1, 3) and probs.min() >= 100 and probs.sum() == pytest.approx(301)
    assert np.array_equal(run.predict(x), predict(run.dir, x))
    assert evaluate(run.dir, split="val")["n"] == 30


def test_an_own_metric_picks_the_best_checkpoint_and_stops_early(regs, spec_file, tmp_path):
    extra = "early_stopping: {monitor: weight_norm, patience: 1, mode: min}"
    run = train(_spec(spec_file, "norm", extra), out=tmp_path / "run", quiet=True)
    rows = read_metrics(run.dir)
    norms = [r["weight_norm"] for r in rows]
    assert len(rows) < 6 and norms[-1] >= norms[-2]  # stopped when the norm stopped falling
    assert run.stop_reason.startswith("early stopping at epoch") and "weight_norm" in \
        run.stop_reason
    summary = (run.dir / "summary.txt").read_text()
    assert f"best: weight_norm = {min(norms):.4g}"[:24] in summary


def test_several_processes_need_a_multiprocess_regime(regs, spec_file, tmp_path):
    from specc.assembled import load

    spec = load(ROOT / "specs" / "perceptron.yaml")
    with pytest.raises(SpecError) as err:
        train(spec, out=tmp_path / "run", nproc=2, quiet=True)
    text = str(err.value)
    assert "regime 'perceptron' trains in one process; it cannot run with --nproc 2" in text
    assert "perceptron.yaml:" in text and "(received '--nproc 2')" in text
    assert not (tmp_path / "run").exists()
    res = subprocess.run([sys.executable, "-c", CLI, "train", str(ROOT / "specs" /
                          "perceptron.yaml"), "--nproc", "2", "--out", str(tmp_path / "r2")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "--nproc 2" in res.stderr + res.stdout


def test_targets_come_from_the_declared_targets_without_a_loss():
    from specc.data.prepare import OutputTarget, prepare
    from specc.spec.training import DataConfig
    from specc.types import TensorType

    cfg = DataConfig(dataset="iris", split={"val": 0.2, "seed": 0})
    x = {"x": TensorType((4,))}
    labels = prepare(cfg, x, {"out": OutputTarget(TensorType((3,)), None, "labels", True)})
    y = labels.parts["train"].targets["out"]
    assert y.dtype == np.int64 and y.shape == (120,) and labels.classes == {"out": 3}
    values = prepare(cfg, x, {"out": OutputTarget(TensorType((1,)), None, "labels")})
    assert values.parts["val"].targets["out"].dtype == np.float32 and not values.classes
    assert values.parts["val"].targets["out"].shape == (30, 1)
    none = prepare(cfg, x, {})
    assert none.parts["train"].targets == {}


def test_a_regime_declaring_unknown_targets_is_refused_at_its_definition():
    with pytest.raises(TypeError, match="targets must be one of loss, labels, values"):
        type("Bad", (Regime,), {"name": "bad", "targets": "label"})
