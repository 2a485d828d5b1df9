"""``--nproc 2``: two gloo processes with DDP learn, and end with identical weights."""

from __future__ import annotations

import subprocess
import sys

from specc.runs.folder import read_metrics

SPEC = """
specc: 1
name: mlp
inputs: {x: [64]}
layers:
  - dense: {units: 64, activation: relu}
  - dropout: {rate: 0.1}
  - dense: {units: 10, activation: softmax}
train:
  data: {dataset: digits, split: {val: 0.2, seed: 0}, scale: unit}
  loss: cross_entropy
  optimizer: {adam: {lr: 0.005}}
  epochs: 6
  batch_size: 32
  metrics: [accuracy]
"""


def test_two_processes_learn_with_identical_weights(spec_file, tmp_path):
    path = spec_file(SPEC)
    run = tmp_path / "run"
    code = "import sys; from specc.cli import main; sys.exit(main())"
    res = subprocess.run([sys.executable, "-c", code, "train", str(path), "--nproc", "2",
                          "--out", str(run)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    summary = (run / "summary.txt").read_text()
    assert "processes: 2 (gloo); weights identical on all ranks: yes" in summary
    rows = read_metrics(run)
    assert len(rows) == 6 and rows[-1]["step"] == 6 * 23  # 1437 samples / (2 x 32) per step
    assert rows[-1]["val_accuracy"] >= 0.95
    assert res.stderr.count("epoch 6/6") == 1  # rank 0 alone reports
