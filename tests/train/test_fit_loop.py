"""The fit loop (accumulate over batches, then solve), with a small test regime: exact resume
mid-accumulation, Ctrl-C, two processes adding their sums, the metrics row and both
checkpoints."""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import socket

import pytest
import torch

from specc.backends.torch.build import attr_name
from specc.registry import isolated
from specc.runs.checkpoint import CheckpointStore
from specc.runs.folder import read_metrics
from specc.train.api import train
from specc.train.fit import FitRegime
from specc.train.session import Interrupted

SPEC = """
specc: 1
name: prior
inputs: {x: [4]}
layers:
  - dense: {units: 3, activation: softmax}
train:
  regime: class_prior
  data: {dataset: iris, split: {val: 0.2, seed: 0}, scale: standard}
  batch_size: 16
  checkpoint: {every_steps: 1, monitor: prior_entropy}
"""

HOOK: dict[str, int] = {}  # "crash" / "sigint": the batch (1-based) at which to stop


class Crash(Exception):
    """A process killed right after its checkpoint (the test's stand-in for kill -9)."""


class ClassPrior(FitRegime):
    """Sets the output bias to the log class prior; also sums x^T x (float64) to have sums
    whose bits depend on the order of additions."""

    name = "class_prior"
    targets = "labels"
    multiprocess = True
    own_metrics = {"prior_entropy": "max"}

    def build_models(self) -> None:
        from specc.train.shared import Network

        s = self.session
        self.graph = s.spec.graph
        self.network = Network(s, self.graph, s.build(logits=True))
        self.models = {self.graph.name: self.network.net}

    def setup(self) -> None:
        self.build_models()
        self.data = self.session.tensor_data(self.graph.inputs, self.output_targets(self.graph))
        self.batches = 0

    def begin(self) -> None:
        self.sums = {"counts": torch.zeros(3, dtype=torch.float64),
                     "xx": torch.zeros(4, 4, dtype=torch.float64)}

    def accumulate(self, batch) -> None:
        self.batches += 1
        if HOOK.get("crash") == self.batches:
            raise Crash
        if HOOK.get("sigint") == self.batches:
            os.kill(os.getpid(), signal.SIGINT)
        x = batch.inputs["x"].double()
        self.sums["xx"] += x.T @ x
        y = batch.targets[self.graph.outputs[0]]
        self.sums["counts"] += torch.bincount(y, minlength=3).double()

    def solve(self) -> dict[str, float]:
        p = self.sums["counts"] / self.sums["counts"].sum()
        dense = self.network.net.get_submodule(attr_name(self.graph.outputs[0]))
        with torch.no_grad():
            dense.weight.zero_()
            dense.bias.copy_(p.log().float())
        return {"prior_entropy": float(-(p * p.log()).sum())}

    def evaluate(self, split: str) -> dict[str, float]:
        part = self.data.parts[split]
        out = self.graph.outputs[0]
        pred = self.predict(part.inputs)[out].argmax(1)
        return {"accuracy": float((pred == part.targets[out]).double().mean())}

    def predict(self, inputs):
        return self.network.predict(inputs)


@pytest.fixture
def regs():
    with isolated(discover=True) as r:
        r.trainers.register(ClassPrior)
        HOOK.clear()
        yield r
    HOOK.clear()


def _state(run, tag="last"):
    return CheckpointStore(run / "checkpoints").load(tag)


def test_one_pass_writes_a_row_and_both_checkpoints(regs, spec_file, tmp_path):
    run = train(spec_file(SPEC), out=tmp_path / "run", quiet=True)
    rows = read_metrics(run.dir)
    assert len(rows) == 1 and rows[0]["epoch"] == 1 and rows[0]["step"] == 8  # 120 / 16
    assert rows[0]["prior_entropy"] == pytest.approx(math.log(3), abs=0.01)
    assert 0.2 <= rows[0]["val_accuracy"] <= 0.5
    for tag in ("best", "last"):
        _, state = _state(run.dir, tag)
        assert state["epoch"] == 1 and state["logs"]["prior_entropy"] == \
            pytest.approx(rows[0]["prior_entropy"], rel=1e-5)
    _, state = _state(run.dir)
    assert float(state["regime"]["sums"]["counts"].sum()) == 120
    summary = (run.dir / "summary.txt").read_text()
    assert "status: finished" in summary and "best: prior_entropy" in summary
    assert run.evaluate("val")["accuracy"] == pytest.approx(rows[0]["val_accuracy"], rel=1e-5)


def test_resume_mid_accumulation_gives_the_same_sums_bit_for_bit(regs, spec_file, tmp_path):
    path = spec_file(SPEC)
    straight = train(path, out=tmp_path / "straight", quiet=True)
    HOOK["crash"] = 5
    with pytest.raises(Crash):
        train(path, out=tmp_path / "killed", quiet=True)
    _, state = _state(tmp_path / "killed")
    assert state["epoch"] == 0 and state["step_in_epoch"] == 4
    assert float(state["regime"]["sums"]["counts"].sum()) == 64  # 4 batches of 16
    HOOK.clear()
    resumed = train(resume=tmp_path / "killed", quiet=True)
    (w1, s1), (w2, s2) = _state(straight.dir), _state(resumed.dir)
    for k in ("counts", "xx"):
        assert torch.equal(s1["regime"]["sums"][k], s2["regime"]["sums"][k])
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    (r1,), (r2,) = read_metrics(straight.dir), read_metrics(resumed.dir)
    assert {k: v for k, v in r1.items() if k != "time"} == \
        {k: v for k, v in r2.items() if k != "time"}


def test_ctrl_c_mid_accumulation_saves_and_resumes(regs, spec_file, tmp_path):
    path = spec_file(SPEC.replace("every_steps: 1", "every_steps: 0"))
    straight = train(path, out=tmp_path / "straight", quiet=True)
    HOOK["sigint"] = 3
    with pytest.raises(Interrupted, match="interrupted at batch 3 of 8 of the accumulation"):
        train(path, out=tmp_path / "run", quiet=True)
    _, state = _state(tmp_path / "run")
    assert state["step_in_epoch"] == 3 and not read_metrics(tmp_path / "run")
    assert "status: interrupted at batch 3 of 8" in (tmp_path / "run/summary.txt").read_text()
    HOOK.clear()
    resumed = train(resume=tmp_path / "run", quiet=True)
    assert torch.equal(_state(resumed.dir)[1]["regime"]["sums"]["xx"],
                       _state(straight.dir)[1]["regime"]["sums"]["xx"])
    # resuming a finished run changes nothing
    again = train(resume=tmp_path / "run", quiet=True)
    assert again.logs["prior_entropy"] == resumed.logs["prior_entropy"]
    assert len(read_metrics(again.dir)) == 1


def _worker(rank: int, port: int, spec_path: str, out: str) -> None:
    import torch.distributed as dist

    from specc.assembled import load
    from specc.train.api import run_training
    from specc.train.session import DistInfo

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2)
    try:
        with isolated(discover=True) as r:
            r.trainers.register(ClassPrior)
            run_training(load(spec_path), out, resume=False, device="cpu", progress="quiet",
                         dist=DistInfo(world=2, rank=rank, local_rank=rank))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # two spawned processes (gloo)
def test_two_processes_add_their_sums(regs, spec_file, tmp_path):
    path = spec_file(SPEC)
    straight = train(path, out=tmp_path / "straight", quiet=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(r, port, str(path), str(tmp_path / "two")))
             for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0, 0]
    s1, s2 = _state(straight.dir)[1]["regime"]["sums"], _state(tmp_path / "two")[1]["regime"]["sums"]
    assert torch.equal(s1["counts"], s2["counts"])
    assert torch.allclose(s1["xx"], s2["xx"], rtol=1e-12, atol=0)
    rows = read_metrics(tmp_path / "two")
    assert len(rows) == 1 and rows[0]["step"] == 4  # 60 samples per process / 16
    summary = (tmp_path / "two/summary.txt").read_text()
    assert "weights identical on all ranks: yes" in summary
