"""``train.compile``: torch.compile of the training model. Compiled runs stay deterministic,
resume exactly and export to ONNX; ``auto`` measures once and caches its decision per spec and
machine; where torch.compile cannot run, ``true`` is a located error and ``auto`` trains
eagerly."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from specc.cli import main as cli_main
from specc.train import compiled
from specc.train.api import train
from specc.train.backprop import Backprop
from specc.train.session import Interrupted

SPEC = """
specc: 1
name: mlp
inputs: {x: [64]}
layers:
  - dense: {units: 16, activation: relu}
  - dense: {units: 10, activation: softmax}
train:
  data: {dataset: digits, split: {val: 0.2, seed: 0}, scale: unit}
  loss: cross_entropy
  optimizer: {adam: {lr: 0.01}}
  epochs: 2
  batch_size: 64
  metrics: [accuracy]
  compile: COMPILE
"""


def test_compile_true_where_it_cannot_run_is_refused_at_its_field(spec_file, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setattr(compiled, "unusable", lambda device: "no C++ compiler (g++ or clang++) "
                        "for the CPU kernels")
    path = spec_file(SPEC.replace("COMPILE", "true"))
    res = CliRunner().invoke(cli_main, ["train", str(path), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2, res.output
    assert (f"{path}:14:3: train.compile: torch.compile cannot run here: no C++ compiler (g++ or "
            "clang++) for the CPU kernels (received True)") in res.output
    path = spec_file(SPEC.replace("COMPILE", "auto"), "auto.yaml")
    res = CliRunner().invoke(cli_main, ["train", str(path), "--out", str(tmp_path / "auto")])
    assert res.exit_code == 0, res.output
    assert "compile: auto: eager (no C++ compiler" in res.output


def test_auto_measures_once_per_spec_and_machine(spec_file, tmp_path, monkeypatch):
    monkeypatch.setenv("SPECC_CACHE_DIR", str(tmp_path / "cache"))
    seen: list[Any] = []

    def measure(regime: Any) -> dict[str, Any]:
        seen.append(regime)
        return {"compile": False, "eager_ms": 2.0, "compiled_ms": 1.9, "warmup_s": 9.0}

    monkeypatch.setattr(compiled, "measure", measure)
    path = spec_file(SPEC.replace("COMPILE", "auto"))
    for name in ("a", "b"):
        res = CliRunner().invoke(cli_main, ["train", str(path), "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        assert "compile: auto: off (eager 2.0 ms, compiled 1.9 ms a pass)" in res.output
    assert len(seen) == 1 and seen[0].model is seen[0].net  # measured once; eager
    cache = json.loads((tmp_path / "cache" / "compile.json").read_text())
    (key, decision), = cache.items()
    assert decision["compile"] is False and "|64|fp32|cpu|" in key
    other = spec_file(SPEC.replace("COMPILE", "auto").replace("units: 16", "units: 17"), "o.yaml")
    train(other, out=tmp_path / "c", quiet=True, epochs=1)
    assert len(seen) == 2  # another network: measured again


def test_auto_stays_eager_when_compiling_fails(spec_file, tmp_path, monkeypatch):
    monkeypatch.setenv("SPECC_CACHE_DIR", str(tmp_path / "cache"))

    def broken(module: Any) -> Any:
        raise RuntimeError("inductor exploded")

    monkeypatch.setattr(torch, "compile", broken)
    path = spec_file(SPEC.replace("COMPILE", "auto"))
    res = CliRunner().invoke(cli_main, ["train", str(path), "--out", str(tmp_path / "run"),
                                        "--epochs", "1"])
    assert res.exit_code == 0, res.output
    assert "compile: auto: eager (torch.compile failed: RuntimeError: inductor exploded)" \
        in res.output


@pytest.mark.slow
def test_compiled_run_resumes_exactly_and_exports(spec_file, tmp_path, monkeypatch):
    if compiled.unusable(torch.device("cpu")):
        pytest.skip(f"torch.compile cannot run here: {compiled.unusable(torch.device('cpu'))}")
    path = spec_file(SPEC.replace("COMPILE", "true"))
    whole = train(path, out=tmp_path / "whole", quiet=True)
    assert whole.metrics[-1]["val_accuracy"] >= 0.85
    step = Backprop.train_step
    calls = {"n": 0}

    def stop_after(self: Any, batch: Any) -> float:
        assert self.model is not self.net  # the compiled module trains
        loss = step(self, batch)
        calls["n"] += 1
        if calls["n"] == 30:  # epoch 2, step 7
            self.session.stop_requested = True
        return loss

    monkeypatch.setattr(Backprop, "train_step", stop_after)
    with pytest.raises(Interrupted):
        train(path, out=tmp_path / "cut", quiet=True)
    monkeypatch.setattr(Backprop, "train_step", step)
    resumed = train(resume=tmp_path / "cut", quiet=True)
    a = load_file(whole.dir / "checkpoints/last.safetensors")
    b = load_file(resumed.dir / "checkpoints/last.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not any(k.startswith("_orig_mod") for k in a)

    def untimed(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "time"} for r in rows]

    assert untimed(resumed.metrics) == untimed(whole.metrics)
    from specc.backends.onnx.export import export

    result = export(whole.dir)
    assert result.path.is_file()
    monkeypatch.setenv("SPECC_CACHE_DIR", str(tmp_path / "cache"))  # auto: a real measurement
    train(spec_file(SPEC.replace("COMPILE", "auto"), "auto.yaml"), out=tmp_path / "auto",
          quiet=True, epochs=1)
    (decision,) = json.loads((tmp_path / "cache" / "compile.json").read_text()).values()
    assert decision["eager_ms"] > 0 and decision["compiled_ms"] > 0 and decision["warmup_s"] > 0
    assert decision["compile"] == (decision["eager_ms"] >= 1.1 * decision["compiled_ms"])
