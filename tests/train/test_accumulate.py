"""``train.accumulate``: N batches of b update as one batch of N*b, the epoch's short last
group and ``--nproc 2`` included; a run cut inside a group resumes exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from specc.cli import main as cli_main
from specc.train.api import train
from specc.train.backprop import Backprop
from specc.train.session import Interrupted

SPEC = """
specc: 1
name: mlp
inputs: {x: [64]}
layers:
  - dense: {units: 32, activation: tanh}
  - dense: {units: 10, activation: softmax}
train:
  data: {dataset: digits, split: {val: 0.2, seed: 0}, scale: unit}
  loss: cross_entropy
  optimizer: {sgd: {lr: 0.2, momentum: 0.9}}
  epochs: EPOCHS
  batch_size: BATCH
  accumulate: ACC
  deterministic: true
"""


def spec(spec_file: Any, batch: int, acc: int, epochs: int = 2, name: str = "s.yaml") -> Path:
    text = SPEC.replace("EPOCHS", str(epochs)).replace("BATCH", str(batch))
    return spec_file(text.replace("ACC", str(acc)), name)


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "checkpoints" / "last.safetensors")


def assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=0, atol=2e-6), (k, (a[k] - b[k]).abs().max())


def test_four_batches_of_16_update_as_one_of_64(spec_file, tmp_path):
    # 1437 training samples: 22 groups of 64 and a short last one of 29 (16 + 13)
    big = train(spec(spec_file, 64, 1, name="big.yaml"), out=tmp_path / "big", quiet=True)
    small = train(spec(spec_file, 16, 4, name="small.yaml"), out=tmp_path / "small", quiet=True)
    assert [r["step"] for r in big.metrics] == [23, 46]
    assert [r["step"] for r in small.metrics] == [90, 180]  # steps count batches
    assert_close(weights(big.dir), weights(small.dir))
    for rb, rs in zip(big.metrics, small.metrics, strict=True):
        assert rs["loss"] == pytest.approx(rb["loss"], rel=1e-5)
        assert rs["val_loss"] == pytest.approx(rb["val_loss"], rel=1e-5)


def test_run_cut_inside_a_group_resumes_exactly(spec_file, tmp_path, monkeypatch):
    path = spec(spec_file, 16, 4)
    whole = train(path, out=tmp_path / "whole", quiet=True)
    step = Backprop.train_step
    calls = {"n": 0}

    def stop_after(self: Any, batch: Any) -> float:
        loss = step(self, batch)
        calls["n"] += 1
        if calls["n"] == 94:  # epoch 2, batch 4 of the group of 4..7 : mid-group
            self.session.stop_requested = True
        return loss

    monkeypatch.setattr(Backprop, "train_step", stop_after)
    with pytest.raises(Interrupted):
        train(path, out=tmp_path / "cut", quiet=True)
    monkeypatch.setattr(Backprop, "train_step", step)
    resumed = train(resume=tmp_path / "cut", quiet=True)
    a, b = weights(whole.dir), weights(resumed.dir)
    assert all(torch.equal(a[k], b[k]) for k in a)

    def untimed(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "time"} for r in rows]

    assert untimed(resumed.metrics) == untimed(whole.metrics)


def test_accumulate_zero_is_a_located_error(spec_file):
    path = spec(spec_file, 16, 0)
    res = CliRunner().invoke(cli_main, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    assert f"{path}:13:3: train.accumulate: must be >= 1 (received 0)" in res.output


@pytest.mark.slow
def test_accumulation_under_two_processes_matches_the_big_batch(spec_file, tmp_path):
    code = "import sys; from specc.cli import main; sys.exit(main())"
    runs = {}
    for batch, acc in ((64, 1), (16, 4)):
        run = tmp_path / f"b{batch}"
        path = spec(spec_file, batch, acc, epochs=1, name=f"b{batch}.yaml")
        res = subprocess.run([sys.executable, "-c", code, "train", str(path), "--nproc", "2",
                              "--out", str(run), "--quiet"], capture_output=True, text=True,
                             timeout=600)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "weights identical on all ranks: yes" in (run / "summary.txt").read_text()
        runs[batch] = weights(run)
    assert_close(runs[64], runs[16])
