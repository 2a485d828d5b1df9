"""Composite regimes: phases inside one run with one resumable state, shown with a small
two-phase test regime (plain gradient descent, then Adam that a test can stop mid-phase)."""

from __future__ import annotations

import pytest
import torch

from specc.errors import SpecError
from specc.registry import isolated
from specc.runs.checkpoint import CheckpointStore
from specc.runs.folder import read_metrics
from specc.train.api import train
from specc.train.backprop import Backprop
from specc.train.composite import CompositeRegime

SPEC = """
specc: 1
name: two
inputs: {x: [4]}
layers:
  - dense: {units: 8, activation: tanh}
  - dense: {units: 3, activation: softmax}
train:
  regime: two_phase
  data: {dataset: iris, split: {val: 0.2, seed: 0}, scale: standard}
  batch_size: 16
  checkpoint: {every_steps: 1}
  phases:
    - {regime: backprop, loss: cross_entropy, optimizer: {sgd: {lr: 0.1}}, epochs: 2}
    - {regime: stoppable_backprop, loss: cross_entropy, optimizer: {adam: {lr: 0.03}},
       epochs: 3, metrics: [accuracy]}
"""

CRASH: dict[str, int] = {}


class Crash(Exception):
    """A process killed right after a checkpoint (the test's stand-in for kill -9)."""


class StoppableBackprop(Backprop):
    name = "stoppable_backprop"
    aliases = ()

    def train_step(self, batch):
        if CRASH.get("step") == self.global_step + 1:
            raise Crash
        return super().train_step(batch)


class TwoPhase(CompositeRegime):
    name = "two_phase"


@pytest.fixture(autouse=True)
def regs():
    with isolated(discover=True) as r:
        r.trainers.register(StoppableBackprop)
        r.trainers.register(TwoPhase)
        CRASH.clear()
        yield r
    CRASH.clear()


def _weights(run):
    return CheckpointStore(run / "checkpoints").load("last")


def test_phases_run_in_order_in_one_run(spec_file, tmp_path):
    run = train(spec_file(SPEC), out=tmp_path / "run", quiet=True)
    rows = read_metrics(run.dir)
    assert [(r["epoch"], r["phase"]) for r in rows] == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2)]
    assert rows[-1]["step"] == 3 * 8 and rows[0]["lr"] == 0.1 and rows[-1]["lr"] == 0.03
    assert rows[-1]["accuracy"] > 0.5 and rows[0]["accuracy"] in ("", None)  # phase 2's metric
    _, state = _weights(run.dir)
    assert state["phase"] == 1 and state["phase_offset"] == 2 and state["epoch"] == 3
    ev = run.evaluate("val")  # through the last phase's regime, best checkpoint
    assert ev["accuracy"] >= 0.8 and ev["accuracy"] in [
        pytest.approx(r["val_accuracy"], rel=1e-5) for r in rows[2:]]


def test_killed_in_phase_two_resumes_to_the_same_weights(spec_file, tmp_path):
    path = spec_file(SPEC)
    straight = train(path, out=tmp_path / "straight", quiet=True)
    CRASH["step"] = 13  # phase 2, epoch 2, step 5
    with pytest.raises(Crash):
        train(path, out=tmp_path / "killed", quiet=True)
    _, state = _weights(tmp_path / "killed")
    assert (state["phase"], state["epoch"], state["step_in_epoch"]) == (1, 1, 4)
    CRASH.clear()
    resumed = train(resume=tmp_path / "killed", quiet=True)
    (w1, _), (w2, _) = _weights(straight.dir), _weights(resumed.dir)
    assert w1.keys() == w2.keys() and all(torch.equal(w1[k], w2[k]) for k in w1)
    strip = [{k: v for k, v in r.items() if k != "time"} for r in read_metrics(straight.dir)]
    assert strip == [{k: v for k, v in r.items() if k != "time"}
                     for r in read_metrics(resumed.dir)]


def test_killed_between_phases_starts_phase_two_from_phase_one(spec_file, tmp_path):
    path = spec_file(SPEC)
    straight = train(path, out=tmp_path / "straight", quiet=True)
    CRASH["step"] = 1  # the first step of phase 2: phase 1's last checkpoint is the latest
    with pytest.raises(Crash):
        train(path, out=tmp_path / "killed", quiet=True)
    assert _weights(tmp_path / "killed")[1]["phase"] == 0
    CRASH.clear()
    resumed = train(resume=tmp_path / "killed", quiet=True)
    (w1, _), (w2, _) = _weights(straight.dir), _weights(resumed.dir)
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


def test_a_phase_is_validated_against_its_own_regime(spec_file):
    from specc.assembled import load

    bad = SPEC.replace("optimizer: {sgd: {lr: 0.1}}", "ridge: 0.1")
    with pytest.raises(SpecError) as err:
        load(spec_file(bad))
    text = str(err.value)
    assert "spec.yaml:13:" in text and "train.phases[0].ridge: regime 'backprop' has no field " \
        "'ridge'" in text
