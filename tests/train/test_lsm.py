"""The ``liquid_state_machine`` spec: the recipe, the bar with and without recurrence, exact
onnxruntime parity of its spike counts on every digit and ``specc sample``'s spike rasters
(``pytest -m slow``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import specc
from specc.assembled import load
from specc.train.api import evaluate, train

SPEC = Path(__file__).resolve().parents[2] / "specs" / "liquid_state_machine.yaml"


def test_spec_is_the_recipe() -> None:
    spec = load("liquid_state_machine")
    enc, liquid = (spec.graph.nodes[n].params for n in ("spikes", "liquid"))
    assert (enc.steps, enc.max_rate, enc.code) == (100, 0.5, "phase")
    assert (liquid.units, liquid.tau, liquid.threshold, liquid.reset, liquid.excitatory,
            liquid.input_density, liquid.recurrent_density, liquid.recurrent,
            liquid.output) == (400, 20, 1.0, "zero", 0.8, 0.2, 0.1, True, "counts")
    t = spec.train
    assert (t.regime, t.ridge, t.readout) == ("least_squares", 10.0, "readout")
    assert (t.data.dataset, t.data.split.val, t.data.split.seed) == ("digits", 0.2, 0)


def _accuracy(tmp_path: Path, overrides: list[str]) -> float:
    t0 = time.perf_counter()
    run = train("liquid_state_machine", out=tmp_path / "lsm", overrides=overrides, quiet=True)
    seconds = time.perf_counter() - t0
    result = evaluate(run.dir, checkpoint="last")
    assert result["n"] == 360  # 20% of digits, seed 0
    print(f"liquid_state_machine {overrides}: accuracy {result['accuracy']:.4f} in {seconds:.0f}s")
    return result["accuracy"]


@pytest.mark.slow
def test_liquid_state_machine_reaches_92_percent_with_and_without_recurrence(tmp_path) -> None:
    assert _accuracy(tmp_path / "rec", []) >= 0.92  # 96.9% here
    # the same readout on the same neurons without recurrent weights: reported, and on static
    # digits close to the liquid (95.3% here)
    assert _accuracy(tmp_path / "plain", ["nodes.liquid.recurrent=false"]) >= 0.90


@pytest.mark.slow
def test_exported_liquid_spike_counts_equal_pytorch_on_every_digit(tmp_path) -> None:
    import onnxruntime as ort
    from sklearn.datasets import load_digits

    from specc.backends.torch import build_module

    doc = yaml.safe_load(SPEC.read_text())
    del doc["nodes"]["readout"], doc["train"], doc["labels"]
    doc["outputs"] = ["liquid"]
    spec = load(doc)
    result = specc.export(spec, tmp_path / "liquid.onnx")
    assert result.parity is not None and result.parity.ok
    x = (load_digits().data / 16.0).astype(np.float32)
    with torch.no_grad():
        want = build_module(spec.graph, seed=0).eval()(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert want.mean() > 1 and np.array_equal(got, want)


@pytest.mark.slow  # a training run and a picture: ~15 s here
def test_sample_draws_spike_rasters(tmp_path) -> None:
    from click.testing import CliRunner

    from specc.cli import main

    train("liquid_state_machine", out=tmp_path / "run", quiet=True,
          overrides=["params.units=40", "params.steps=20", "train.data.limit=200"])
    out = tmp_path / "raster.png"
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "run"), "-o", str(out), "-n", "2"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(main, ["sample", str(tmp_path / "run"), "-o", str(out),
                                    "--what", "filters"])
    assert bad.exit_code == 2 and "'lif' draws no 'filters'" in bad.output
