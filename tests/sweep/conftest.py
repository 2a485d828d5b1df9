"""A tiny spec to sweep: iris, two epochs a trial."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from specc.cli import main

SPEC = """\
specc: 1
name: tiny
params: {width: 4}
inputs: {x: [4]}
layers:
  - dense: {units: $width, activation: relu}
  - dense: {units: 3, activation: softmax}
train:
  data: {dataset: iris, split: {val: 0.3, seed: 0}, scale: standard}
  loss: cross_entropy
  optimizer: {adam: {lr: 0.05}}
  epochs: 2
  batch_size: 32
  metrics: [accuracy]
sweep:
  metric: val_accuracy
  trials: 2
  sampler: random
  space:
    train.optimizer.adam.lr: {log_uniform: [1.0e-3, 1.0e-1]}
"""


@pytest.fixture
def sweep_spec(tmp_path: Path):
    """sweep_spec(sweep_yaml=None) -> path of the tiny spec, its sweep section replaced."""

    def write(sweep: str | None = None) -> Path:
        text = SPEC if sweep is None else SPEC.split("sweep:")[0] + textwrap.dedent(sweep)
        path = tmp_path / "tiny.yaml"
        path.write_text(text)
        return path

    return write


@pytest.fixture
def cli():
    """cli(*args) -> (exit code, stdout, stderr) of ``specc ARGS`` run in this process."""

    def run(*args: object) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, [str(a) for a in args])
        return result.exit_code, result.stdout, result.stderr

    return run
