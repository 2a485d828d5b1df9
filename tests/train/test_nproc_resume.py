"""Exact resume under ``--nproc``: every process's RNG state is saved and restored.

Dropout draws from each process's own generator (seeded ``seed + 7919 * rank``), so a resume
that gave rank 1 rank 0's state would change the weights; two epochs straight and one epoch
plus a resumed one end bit for bit equal.
"""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from specc.cli import main
from specc.runs.checkpoint import CheckpointStore
from specc.runs.folder import read_metrics
from specc.train.api import train

SPEC = """
specc: 1
name: mlp_dropout
inputs: {x: [64]}
layers:
  - dense: {units: 48, activation: relu}
  - dropout: {rate: 0.3}
  - dense: {units: 10, activation: softmax}
train:
  data: {dataset: digits, split: {val: 0.2, seed: 0}, scale: unit}
  loss: cross_entropy
  optimizer: {adam: {lr: 0.005}}
  epochs: 2
  batch_size: 32
  deterministic: true
  metrics: [accuracy]
"""

pytestmark = pytest.mark.slow  # three two-process launches


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("nproc_resume")
    spec = root / "spec.yaml"
    spec.write_text(SPEC.lstrip())
    train(spec, out=root / "straight", nproc=2, quiet=True)
    train(spec, out=root / "split", nproc=2, epochs=1, quiet=True)
    return root


def test_checkpoint_holds_every_rank_rng_state(runs):
    _, state = CheckpointStore(runs / "split/checkpoints", root=runs / "split").load("last")
    rng = state["rng"]
    assert isinstance(rng, list) and len(rng) == 2
    assert not torch.equal(rng[0]["torch"], rng[1]["torch"])  # each rank its own stream


def test_resume_with_a_different_nproc_is_refused(runs):
    before = read_metrics(runs / "split")
    res = CliRunner().invoke(main, ["train", str(runs / "split"), "--resume", "--epochs", "3"])
    assert res.exit_code == 2, res.output
    assert "this run was trained by 2 processes and cannot be resumed exactly by 1 process" \
        in res.output
    assert "resume with --nproc 2" in res.output
    assert read_metrics(runs / "split") == before  # nothing trained, nothing logged


def test_two_process_resume_is_bitwise_equal(runs):
    train(resume=runs / "split", nproc=2, epochs=2, quiet=True)
    a = load_file(runs / "straight/checkpoints/last.safetensors")
    b = load_file(runs / "split/checkpoints/last.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    def rows(name):
        return [{k: v for k, v in r.items() if k != "time"} for r in read_metrics(runs / name)]

    assert len(rows("straight")) == 2 and rows("straight") == rows("split")
