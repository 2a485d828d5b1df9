"""The ``perceptron`` regime: the rule, the bar, the pocket, resume, predict/evaluate/export
through the regime, and the refusals (each a located SpecError)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from safetensors.torch import load_file

import specc
from specc.cli import main
from specc.errors import SpecError
from specc.train.api import train

SPEC_PATH = Path(__file__).resolve().parents[2] / "specs" / "perceptron.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())
SETOSA = np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)
VIRGINICA = np.array([[6.7, 3.0, 5.2, 2.3]], dtype=np.float32)


def spec_with(**train_fields) -> dict:
    spec = copy.deepcopy(SPEC)
    spec["train"].update(train_fields)
    return spec


def test_bar_setosa_vs_rest_is_separated_exactly(tmp_path) -> None:
    run = train(SPEC, out=tmp_path / "run", quiet=True)
    figures = run.evaluate()
    assert figures["accuracy"] == 1.0 and figures["loss"] == 0.0
    assert run.metrics[-1]["accuracy"] == 1.0  # every training sample right in the last epoch
    out = run.predict(np.concatenate([SETOSA, VIRGINICA]))
    values = next(iter(out.values())) if isinstance(out, dict) else out
    assert np.asarray(values).reshape(-1).tolist() == [1.0, 0.0]
    result = specc.export(tmp_path / "run", tmp_path / "p.onnx")
    assert result.parity is not None and result.parity.ok


def test_the_rule_is_rosenblatts(tmp_path) -> None:
    """One epoch of batch size 1 from zero weights equals a hand-written loop."""
    spec = spec_with(epochs=1, lr=0.5)
    spec["layers"][0]["dense"].update(kernel_initializer="zeros")
    run = train(spec, out=tmp_path / "run", quiet=True)
    got = load_file(tmp_path / "run/checkpoints/last.safetensors")
    from specc.data.loader import TensorData, epoch_order

    data = TensorData(_prepared(run.spec))
    order = epoch_order(data.sampler(0), 0)
    w, b = torch.zeros(1, 4), torch.zeros(1)
    x, y = data.train.inputs["features"], data.train.targets["output"].reshape(-1)
    for i in order.tolist():
        o = float(x[i] @ w[0] + b[0] > 0)
        w[0] += 0.5 * (float(y[i]) - o) * x[i]
        b[0] += 0.5 * (float(y[i]) - o)
    assert torch.allclose(got["output.weight"], w) and torch.allclose(got["output.bias"], b)


def _prepared(spec):
    from specc.data.prepare import OutputTarget, prepare

    graph = spec.graph
    return prepare(spec.train.data, graph.inputs,
                   {"output": OutputTarget(graph.type_of("output"), None, "labels")})


def _train_errors(run) -> int:
    w = load_file(run.dir / "checkpoints/last.safetensors")
    part = _prepared(run.spec).parts["train"]
    x = torch.from_numpy(part.inputs["features"])
    y = torch.from_numpy(part.targets["output"]).reshape(-1)
    o = ((x @ w["output.weight"].t()).reshape(-1) + w["output.bias"] > 0).float()
    return int((o != y).sum())


def test_pocket_keeps_the_fewest_training_errors_on_non_separable_data(tmp_path) -> None:
    """Versicolor vs rest is not linearly separable: the plain rule ends wherever its last
    update left it; the pocket keeps the best weights seen."""
    data = {"dataset": "iris", "binary": "versicolor", "split": {"val": 0.2, "seed": 0},
            "scale": "standard"}
    plain = train(spec_with(data=data, epochs=8), out=tmp_path / "plain", quiet=True)
    run = train(spec_with(data=data, epochs=8, pocket=True), out=tmp_path / "pocket", quiet=True)
    kept = _train_errors(run)
    assert kept == int(run.metrics[-1]["pocket_errors"])
    assert [r["pocket_errors"] for r in run.metrics] == sorted(
        (r["pocket_errors"] for r in run.metrics), reverse=True)
    assert kept < _train_errors(plain)
    assert kept > 0  # not separable


def test_resume_is_exact_and_keeps_the_pocket(tmp_path) -> None:
    data = {"dataset": "iris", "binary": 1, "split": {"val": 0.2, "seed": 0},
            "scale": "standard"}
    spec = spec_with(data=data, pocket=True, epochs=4)
    train(spec, out=tmp_path / "straight", quiet=True)
    train(spec, out=tmp_path / "split", epochs=2, quiet=True)
    train(resume=tmp_path / "split", epochs=4, quiet=True)
    a = load_file(tmp_path / "straight/checkpoints/last.safetensors")
    b = load_file(tmp_path / "split/checkpoints/last.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def _error(spec: dict, tmp_path: Path) -> SpecError:
    with pytest.raises(SpecError) as err:
        train(spec, out=tmp_path / "run", quiet=True)
    return err.value


def test_a_net_that_is_not_dense_and_step_is_located(tmp_path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["layers"][0]["dense"]["activation"] = "sigmoid"
    issue = _error(spec, tmp_path).issues[0]
    assert "a 'dense' layer with a 'step' activation" in issue.message
    assert issue.path[:2] == ("layers", 0)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    res = CliRunner().invoke(main, ["train", str(path), "--out", str(tmp_path / "cli")])
    assert res.exit_code == 2
    line = path.read_text().splitlines().index("- dense:") + 1
    assert f"p.yaml:{line}" in res.output
    spec = copy.deepcopy(SPEC)
    spec["layers"] = [{"dense": {"units": 3, "name": "hidden"}},
                      {"dense": {"units": 1, "activation": "step", "name": "output"}}]
    issue = _error(spec, tmp_path).issues[0]
    assert "node 'hidden' has trainable weights" in issue.message
    assert issue.path[:2] == ("layers", 0)
    spec["layers"][0]["dense"]["trainable"] = False  # frozen features are fine
    assert train(spec, out=tmp_path / "frozen", quiet=True).metrics


def test_output_step_activation_node_is_accepted(tmp_path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["layers"] = [{"dense": {"units": 1, "name": "linear"}},
                      {"activation": {"function": "step", "name": "output"}}]
    run = train(spec, out=tmp_path / "run", quiet=True)
    assert run.evaluate()["accuracy"] == 1.0


def test_labels_must_be_binary_and_the_class_must_exist(tmp_path) -> None:
    spec = spec_with(data={"dataset": "iris", "split": {"val": 0.2, "seed": 0}})
    err = _error(spec, tmp_path)
    assert "binary labels" in err.issues[0].message
    assert "binary: CLASS" in err.issues[0].hint
    spec = spec_with(data={"dataset": "iris", "binary": "setossa"})
    issue = _error(spec, tmp_path).issues[0]
    assert issue.path == ("train", "data", "binary") and "did you mean 'setosa'" in issue.hint
    spec = spec_with(data={"dataset": "iris", "binary": 3})
    assert "classes 0..2" in _error(spec, tmp_path).issues[0].message
    spec = spec_with(data={"dataset": "diabetes", "binary": 0})
    issue = _error(spec, tmp_path).issues[0]
    assert "no class labels" in issue.message and issue.path == ("train", "data", "binary")


def test_wrong_widths_are_located(tmp_path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["layers"][0]["dense"]["units"] = 2
    issue = _error(spec, tmp_path).issues[0]
    assert "one output unit" in issue.message and issue.path[:2] == ("layers", 0)
    spec = copy.deepcopy(SPEC)
    spec["inputs"]["features"] = [3]
    err = _error(spec, tmp_path)
    assert err.issues[0].path[:2] == ("train", "data")


def test_backprop_fields_are_refused_naming_the_regime(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    spec = spec_with(optimizer="adam")
    path.write_text(yaml.safe_dump(spec))
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2
    assert "optimizer" in res.output and "perceptron" in res.output


def test_classification_metrics_and_confusion(tmp_path) -> None:
    run = train(spec_with(metrics=["f1", "precision"]), out=tmp_path / "run", quiet=True)
    assert {"f1", "val_f1", "precision", "val_precision"} <= set(run.metrics[-1])
    figures = run.evaluate()
    assert figures["f1"] == 1.0 and figures["labels"] == ["not setosa", "setosa"]
    assert figures["confusion"] == [[19, 0], [0, 11]]
    issue = _error(spec_with(metrics=["mse"]), tmp_path / "bad").issues[0]
    assert issue.path == ("train", "metrics", 0) and "0/1" in issue.message
