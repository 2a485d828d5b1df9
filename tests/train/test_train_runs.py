"""Training end to end: learning, run directories, exact resume, faults, API and CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from safetensors.torch import load_file

from specc.cli import main
from specc.errors import SpecError
from specc.runs.folder import load_run, read_metrics
from specc.train.api import evaluate, load_model, predict, train

MLP = """
specc: 1
name: mlp
labels: [zero, one, two, three, four, five, six, seven, eight, nine]
inputs: {x: [64]}
layers:
  - dense: {units: 32, activation: relu}
  - dropout: {rate: 0.1}
  - dense: {units: 10, activation: softmax}
train:
  data: {dataset: digits, split: {val: 0.2, seed: 0}, scale: unit}
  loss: cross_entropy
  optimizer: {adam: {lr: 0.01}}
  epochs: 4
  batch_size: 64
  metrics: [accuracy, f1]
"""


@pytest.fixture
def mlp(spec_file):
    return spec_file(MLP)


def test_mlp_learns_digits_and_writes_a_run(mlp, tmp_path):
    run = train(mlp, out=tmp_path / "run", quiet=True)
    rows = run.metrics
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert rows[-1]["loss"] < rows[0]["loss"] / 2
    assert rows[-1]["val_accuracy"] >= 0.93 and "val_f1" in rows[-1] and "lr" in rows[-1]
    d = run.dir
    for name in ("spec.resolved.yaml", "metrics.csv", "split.json", "data.json", "summary.txt",
                 "checkpoints/last.safetensors", "checkpoints/last.json",
                 "checkpoints/last.state.safetensors", "checkpoints/best.safetensors"):
        assert (d / name).is_file(), name
    resolved = yaml.safe_load((d / "spec.resolved.yaml").read_text())
    assert resolved["specc_version"] and len(resolved["hash"]) == 16
    split = json.loads((d / "split.json").read_text())
    assert split["n_val"] == 360 and len(split["val_index"]) == 360
    assert "status: finished" in (d / "summary.txt").read_text()
    assert not list(d.glob("**/*.tmp")) and not list((d / "checkpoints").glob(".staging*"))
    import importlib.util

    if importlib.util.find_spec("tensorboard") is not None:
        assert list((d / "tensorboard").glob("events.out.tfevents.*"))

    spec, state, info = load_run(d)
    assert spec.name == "mlp" and info["checkpoint"] == "best"
    assert set(state) == set(run.model.state_dict())

    result = evaluate(d)
    assert result["split"] == "val" and result["n"] == 360
    assert result["accuracy"] == pytest.approx(max(r["val_accuracy"] for r in rows
                                                   if r["val_loss"] == min(q["val_loss"] for q in rows)))
    assert np.asarray(result["confusion"]).sum() == 360 and result["labels"][0] == "zero"

    from sklearn.datasets import load_digits

    digits = load_digits()
    idx = split["val_index"]
    labels = predict(d, digits.images[idx])  # raw 0-16 pixels, shaped as the dataset's
    names = np.asarray(result["labels"])
    assert (labels == names[digits.target[idx]]).mean() == pytest.approx(result["accuracy"])
    probs = predict(d, digits.images[idx[0]], labels=False)
    assert probs.shape == (1, 10) and probs.sum() == pytest.approx(1, abs=1e-5)
    model = load_model(d)
    x = torch.from_numpy(digits.images[idx[:2]].reshape(2, 64).astype(np.float32) / 16)
    assert torch.allclose(model(x).sum(dim=1), torch.ones(2), atol=1e-5)  # softmax kept


def test_deterministic_resume_is_bitwise_equal(mlp, tmp_path):
    det = ["train.deterministic=true"]
    train(mlp, out=tmp_path / "straight", overrides=det, epochs=4, quiet=True)
    train(mlp, out=tmp_path / "split", overrides=det, epochs=2, quiet=True)
    train(resume=tmp_path / "split", epochs=4, quiet=True)
    a = load_file(tmp_path / "straight/checkpoints/last.safetensors")
    b = load_file(tmp_path / "split/checkpoints/last.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    def rows(name):
        return [{k: v for k, v in r.items() if k != "time"} for r in read_metrics(tmp_path / name)]

    assert rows("straight") == rows("split")


def test_frozen_layer_stays_bitwise_unchanged(spec_file, tmp_path):
    from specc.api import build

    path = spec_file(MLP.replace("  - dense: {units: 32, activation: relu}",
                                 "  - dense: {units: 32, activation: relu, trainable: false, "
                                 "name: base}"))
    initial = build(path, seed=0).state_dict()
    run = train(path, out=tmp_path / "run", epochs=2, quiet=True)
    after = run.model.state_dict()
    assert torch.equal(after["base.weight"], initial["base.weight"])
    assert torch.equal(after["base.bias"], initial["base.bias"])
    changed = [k for k in after if not k.startswith("base.")]
    assert changed and all(not torch.equal(after[k], initial[k]) for k in changed)


def test_aux_losses_are_added_to_the_loss(spec_file, tmp_path):
    path = spec_file("""
        specc: 1
        name: sparse
        inputs: {x: [4]}
        layers:
          - dense: {units: 6, activation: sigmoid, name: hidden}
          - activity_sparsity: {target: 0.1, weight: 2.0, name: sparsity}
          - dense: {units: 4, name: out}
        train:
          data: {dataset: iris, split: {val: 0.2, seed: 0}, scale: minmax}
          loss: mse
          target: input
          optimizer: {gd: {lr: 1.0e-30}}
          epochs: 1
          batch_size: full
        """)
    run = train(path, out=tmp_path / "run", quiet=True)
    logged = run.metrics[0]
    from specc.api import build
    from specc.assembled import load
    from specc.data.prepare import prepare

    spec = load(path)
    model = build(spec, seed=0)
    prep = prepare(spec.train.data, spec.graph.inputs, {})
    for split, key in (("train", "loss"), ("val", "val_loss")):
        x = torch.from_numpy(prep.parts[split].inputs["x"])
        h = torch.sigmoid(model.hidden(x))
        rho_hat = h.mean(0)
        kl = (0.1 * torch.log(0.1 / rho_hat) + 0.9 * torch.log(0.9 / (1 - rho_hat))).sum()
        mse = torch.nn.functional.mse_loss(model(x), x)
        assert logged[key] == pytest.approx(float((mse + 2.0 * kl).detach()), rel=1e-4)


def test_nan_loss_stops_naming_epoch_and_step_and_keeps_last_good(spec_file, tmp_path):
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
        """)
    with pytest.raises(SpecError) as err:
        train(path, out=tmp_path / "run", quiet=True)
    msg = err.value.issues[0].message
    assert "the loss became" in msg and "at epoch 2, step" in msg
    assert "checkpoints/last" in msg and "(after epoch 1)" in msg
    _, state, info = load_run(tmp_path / "run", "last")
    assert info["epoch"] == 1 and all(torch.isfinite(v).all() for v in state.values())
    assert "stopped: the loss became" in (tmp_path / "run/summary.txt").read_text()


def test_early_stopping_and_best_checkpoint(mlp, tmp_path):
    run = train(mlp, out=tmp_path / "run", quiet=True, epochs=10,
                overrides=["train.early_stopping={monitor: val_loss, patience: 2, min_delta: 10}"])
    # epoch 1 sets the best; epochs 2 and 3 do not improve by 10: patience 2 stops after 3
    assert len(run.metrics) == 3 and run.stop_reason.startswith("early stopping at epoch 3")
    _, _, info = load_run(run.dir)
    assert info["epoch"] == 1  # nothing improved by 10 after the first epoch


def test_regression_on_a_series_reports_original_units(spec_file, tmp_path):
    path = spec_file("""
        specc: 1
        name: air
        inputs: {x: [12]}
        layers:
          - dense: {units: 16, activation: relu}
          - dense: {units: 1}
        train:
          data: {dataset: air_passengers, split: {val: 0.33}, window: {size: 12}, scale: minmax}
          loss: mse
          optimizer: {adam: {lr: 0.01}}
          epochs: 30
          batch_size: 16
          metrics: [rmse, mae]
        """)
    run = train(path, out=tmp_path / "run", quiet=True)
    rows = run.metrics
    assert rows[-1]["val_rmse"] < rows[0]["val_rmse"]
    assert 5 < rows[-1]["val_rmse"] < 150  # passengers, not scaled units
    from specc.data.series import AIR_PASSENGERS

    series = np.asarray(AIR_PASSENGERS, np.float32)
    pred = predict(run.dir, series[-13:-1])
    assert pred.shape == (1, 1) and 300 < pred[0, 0] < 700


CLI_SPEC = MLP.replace("epochs: 4", "epochs: 2")


def test_cli_train_evaluate_predict(spec_file, tmp_path):
    path = spec_file(CLI_SPEC)
    out = tmp_path / "run"
    runner = CliRunner()
    res = runner.invoke(main, ["train", str(path), "--out", str(out), "--set",
                               "train.batch_size=128"])
    assert res.exit_code == 0, res.output
    assert "trained mlp" in res.output and "epoch 2/2" in res.output
    assert yaml.safe_load((out / "spec.resolved.yaml").read_text())["train"]["batch_size"] == 128
    res = runner.invoke(main, ["evaluate", str(out)])
    assert res.exit_code == 0, res.output
    assert "val split: 360 samples" in res.output and "confusion matrix" in res.output
    res = runner.invoke(main, ["evaluate", str(out), "--json"])
    assert json.loads(res.output)["n"] == 360
    from sklearn.datasets import load_digits

    np.save(tmp_path / "x.npy", load_digits().images[:3])
    res = runner.invoke(main, ["predict", str(out), "--input", str(tmp_path / "x.npy")])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[0].startswith("0: ") and "(p=" in res.output
    from PIL import Image

    Image.fromarray((load_digits().images[0] * 16).astype(np.uint8)).save(tmp_path / "d.png")
    res = runner.invoke(main, ["predict", str(out), "--input", str(tmp_path / "d.png"), "--json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.output)) == 1
    res = runner.invoke(main, ["train", str(out), "--resume", "--epochs", "3", "--quiet"])
    assert res.exit_code == 0, res.output
    assert len(read_metrics(out)) == 3
    res = runner.invoke(main, ["evaluate", str(tmp_path)])
    assert res.exit_code == 2 and "not a run directory" in res.output


@pytest.mark.parametrize("edit,message", [
    (("inputs: {x: [64]}", "inputs: {x: [65]}"), "gives samples of shape (8, 8) = 64 values"),
    (("dense: {units: 10, activation: softmax}", "dense: {units: 8, activation: softmax}"),
     "labels lists 10 class names but output"),  # the spec's labels; data: test_data_prepare
    (("data: {dataset: digits,", "data: {dataset: csv, path: missing.csv,"),
     "file 'missing.csv' does not exist"),
])
def test_data_that_does_not_fit_is_refused_before_training(spec_file, tmp_path, edit, message):
    path = spec_file(MLP.replace(*edit))
    res = CliRunner().invoke(main, ["train", str(path), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2, res.output
    assert message in res.output and f"{path}:" in res.output
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_empty_image_folder_is_refused(spec_file, tmp_path):
    (tmp_path / "imgs" / "empty_class").mkdir(parents=True)
    path = spec_file(MLP.replace("data: {dataset: digits,",
                                 f"data: {{dataset: image_folder, path: '{tmp_path / 'imgs'}',"))
    res = CliRunner().invoke(main, ["train", str(path), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "has no classes" in res.output


def test_default_run_directory_is_name_and_timestamp(mlp, tmp_path, monkeypatch):
    import re

    monkeypatch.chdir(tmp_path)
    run = train(mlp, epochs=1, quiet=True, overrides=["train.batch_size=full"])
    rel = run.dir.relative_to("runs") if not run.dir.is_absolute() else \
        run.dir.relative_to(tmp_path / "runs")
    assert rel.parts[0] == "mlp" and re.fullmatch(r"\d{8}-\d{6}(-\d+)?", rel.parts[1])
    assert (tmp_path / "runs" / rel / "checkpoints" / "last.safetensors").is_file()
