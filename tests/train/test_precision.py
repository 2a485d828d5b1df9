"""``train.precision``: bf16 autocast trains (CPU and CUDA) with fp32 weights and a
non-finite loss still stops keeping the last good checkpoint; fp16 is refused on CPU at its
field and, on CUDA, scales the loss with its scale resumed exactly."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from specc.cli import main as cli_main
from specc.errors import SpecError
from specc.runs.folder import load_run
from specc.train.amp import Precision
from specc.train.api import train

SPEC = """
specc: 1
name: mlp
inputs: {x: [64]}
layers:
  - dense: {units: 32, activation: relu}
  - dense: {units: 10, activation: softmax}
train:
  data: {dataset: digits, split: {val: 0.2, seed: 0}, scale: unit}
  loss: cross_entropy
  optimizer: {adam: {lr: 0.01}}
  epochs: 3
  batch_size: 32
  metrics: [accuracy]
  precision: PRECISION
"""


def test_bf16_trains_to_the_fp32_accuracy_with_fp32_weights(spec_file, tmp_path):
    runs = {p: train(spec_file(SPEC.replace("PRECISION", p), f"{p}.yaml"), out=tmp_path / p,
                     quiet=True) for p in ("fp32", "bf16")}
    acc = {p: r.metrics[-1]["val_accuracy"] for p, r in runs.items()}
    assert acc["bf16"] >= 0.93 and abs(acc["bf16"] - acc["fp32"]) <= 0.02, acc
    w = load_file(tmp_path / "bf16/checkpoints/last.safetensors")
    assert all(v.dtype == torch.float32 for v in w.values())
    f32 = load_file(tmp_path / "fp32/checkpoints/last.safetensors")
    assert any(not torch.equal(w[k], f32[k]) for k in w)  # bf16 arithmetic did run


def test_fp16_on_cpu_is_refused_at_its_field(spec_file, tmp_path):
    path = spec_file(SPEC.replace("PRECISION", "fp16"))
    res = CliRunner().invoke(cli_main, ["train", str(path), "--device", "cpu",
                                        "--out", str(tmp_path / "run")])
    assert res.exit_code == 2, res.output
    assert (f"{path}:14:3: train.precision: precision fp16 needs a CUDA device: fp16 training "
            "with loss scaling is not supported on cpu (received 'fp16')") in res.output
    assert "use precision: bf16" in res.output


def test_nonfinite_loss_under_bf16_keeps_the_last_good_checkpoint(spec_file, tmp_path):
    path = spec_file("""
        specc: 1
        name: diverge
        inputs: {x: [10]}
        layers:
          - dense: {units: 1}
        train:
          data: {dataset: diabetes, scale: standard}
          loss: mse
          optimizer: {gd: {lr: 0.01}}
          schedule: {step: {step_size: 1, gamma: 1.0e+12}}
          epochs: 6
          batch_size: 16
          precision: bf16
        """)
    with pytest.raises(SpecError) as err:
        train(path, out=tmp_path / "run", quiet=True, overrides=["train.accumulate=2"])
    msg = err.value.issues[0].message
    assert "the loss became" in msg and "at epoch 2, step" in msg and "(after epoch 1)" in msg
    _, state, info = load_run(tmp_path / "run", "last")
    assert info["epoch"] == 1 and all(torch.isfinite(v).all() for v in state.values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 loss scaling needs CUDA")
def test_fp16_scales_the_loss_and_its_scale_resumes(spec_file, tmp_path, monkeypatch):
    from specc.train.backprop import Backprop
    from specc.train.session import Interrupted

    path = spec_file(SPEC.replace("PRECISION", "fp16"))
    whole = train(path, out=tmp_path / "whole", quiet=True, device="cuda",
                  overrides=["train.deterministic=true"])
    assert whole.metrics[-1]["val_accuracy"] >= 0.93
    step = Backprop.train_step
    calls = {"n": 0}

    def stop_after(self: Any, batch: Any) -> float:
        loss = step(self, batch)
        calls["n"] += 1
        if calls["n"] == 50:
            self.session.stop_requested = True
        return loss

    monkeypatch.setattr(Backprop, "train_step", stop_after)
    with pytest.raises(Interrupted):
        train(path, out=tmp_path / "cut", quiet=True, device="cuda",
              overrides=["train.deterministic=true"])
    _, state, _ = load_run(tmp_path / "cut", "last")
    monkeypatch.setattr(Backprop, "train_step", step)
    resumed = train(resume=tmp_path / "cut", quiet=True, device="cuda")
    a = load_file(whole.dir / "checkpoints/last.safetensors")
    b = load_file(resumed.dir / "checkpoints/last.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_precision_state_round_trips():
    p = Precision("bf16", torch.device("cpu"))
    assert p.dtype == torch.bfloat16 and p.scaler is None
    with p.autocast():
        y = torch.nn.functional.linear(torch.ones(2, 3), torch.ones(4, 3))
    assert y.dtype == torch.bfloat16
    assert p.state_dict() == {"precision": "bf16", "scaler": None}
