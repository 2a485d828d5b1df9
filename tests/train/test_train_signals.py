"""Crash safety: atomic checkpoints, Ctrl-C (exit 130, valid checkpoint), kill -9 + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from specc.fileio import atomic_write
from specc.runs.checkpoint import CheckpointStore, decode, encode
from specc.runs.folder import load_run
from specc.train.api import train

SPEC = """
specc: 1
name: mlp
inputs: {x: [64]}
layers:
  - dense: {units: 32, activation: relu}
  - dropout: {rate: 0.2}
  - dense: {units: 10, activation: softmax}
train:
  data: {dataset: digits, split: {val: 0.2, seed: 0}, scale: unit}
  loss: cross_entropy
  optimizer: {sgd: {lr: 0.05, momentum: 0.9}}
  schedule: {cosine: {}}
  epochs: EPOCHS
  batch_size: 32
  metrics: [accuracy]
  deterministic: true
  checkpoint: {every_steps: 7}
"""

CLI = "import sys; from specc.cli import main; sys.exit(main())"


def test_atomic_write_replaces_whole_files(tmp_path):
    f = tmp_path / "a.txt"
    atomic_write(f, "one")
    atomic_write(f, "two")
    assert f.read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_state_encoding_round_trips_optimizer_state():
    w = torch.nn.Parameter(torch.randn(3))
    opt = torch.optim.Adam([w], betas=(0.8, 0.9))
    w.grad = torch.ones(3)
    opt.step()
    state = {"opt": opt.state_dict(), "inf": float("inf"), "t": (1, [2.5, None]),
             "rng": torch.get_rng_state()}
    tensors: dict = {}
    doc = json.loads(json.dumps(encode(state, "s", tensors)))
    back = decode(doc, tensors)
    assert back["inf"] == float("inf") and back["t"] == (1, [2.5, None])
    assert torch.equal(back["rng"], state["rng"])
    opt2 = torch.optim.Adam([torch.nn.Parameter(w.detach().clone())])
    opt2.load_state_dict(back["opt"])
    assert opt2.state_dict()["param_groups"][0]["betas"] == (0.8, 0.9)
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_checkpoint_commit_rolls_forward_or_back(tmp_path):
    store = CheckpointStore(tmp_path)
    store.save("last", {"w": torch.zeros(2)}, {"epoch": 1, "step": 10})
    # a crash while moving a complete new checkpoint into place: finish it
    store.save("last", {"w": torch.ones(2)}, {"epoch": 2, "step": 20})
    staging = tmp_path / ".staging-last"
    staging.mkdir()
    for name in ("last.safetensors", "last.state.safetensors", "last.json"):
        os.replace(tmp_path / name, staging / name)
    (staging / "COMPLETE").write_text("2:20")
    os.replace(staging / "last.safetensors", tmp_path / "last.safetensors")
    weights, state = store.load("last")  # a reader sees the new set and moves nothing
    assert state["epoch"] == 2 and torch.equal(weights["w"], torch.ones(2))
    assert (staging / "last.json").exists()
    store.recover()  # the next writer finishes the commit
    assert not staging.exists() and store.load("last")[1]["epoch"] == 2
    # a crash while writing the staging folder: the old checkpoint stays
    staging.mkdir()
    (staging / "last.safetensors").write_bytes(b"garbage")
    weights, state = store.load("last")
    assert state["epoch"] == 2 and staging.exists()
    store.recover()
    assert not staging.exists() and store.load("last")[1]["epoch"] == 2


def _wait_for(cond, proc, timeout: float = 240.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"training ended before the test could interrupt it:\n{out}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail("timed out waiting for training to progress")
        time.sleep(0.05)


def _checkpoint_step(run) -> int:
    try:
        return json.loads((run / "checkpoints/last.json").read_text())["state"]["__dict__"]["step"]
    except (OSError, ValueError, KeyError):
        return 0


def test_ctrl_c_saves_prints_where_and_exits_130(spec_file, tmp_path):
    path = spec_file(SPEC.replace("EPOCHS", "500").replace("every_steps: 7", "every_steps: 0"))
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", CLI, "train", str(path), "--out", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_for(lambda: (run / "metrics.csv").is_file(), proc)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "interrupted at epoch" in out and f"Resume with: specc train {run} --resume" in out
    _, state, info = load_run(run, "last")
    assert info["checkpoint"] == "last" and info["step"] > 0
    assert all(torch.isfinite(v).all() for v in state.values())
    assert "status: interrupted at epoch" in (run / "summary.txt").read_text()
    epochs = info["epoch"] + 1
    resumed = train(resume=run, epochs=epochs, quiet=True)
    assert [r["epoch"] for r in resumed.metrics] == list(range(1, epochs + 1))


def test_kill_9_mid_epoch_then_resume_equals_a_straight_run(spec_file, tmp_path):
    path = spec_file(SPEC.replace("EPOCHS", "3"))
    straight = train(path, out=tmp_path / "straight", quiet=True)
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", CLI, "train", str(path), "--out", str(run),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_for(lambda: _checkpoint_step(run) >= 50, proc)  # inside epoch 2 (45 steps each)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    _, state, info = load_run(run, "last")  # readable whatever instant it died at
    assert 0 < info["step"] < 135
    resumed = train(resume=run, quiet=True)
    a = load_file(straight.dir / "checkpoints/last.safetensors")
    b = load_file(resumed.dir / "checkpoints/last.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["val_loss"] for r in straight.metrics] == [r["val_loss"] for r in resumed.metrics]
