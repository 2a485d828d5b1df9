"""The train section validates like the rest of the spec: all errors at once, with paths."""

from __future__ import annotations

import pytest

from specc.errors import SpecError
from specc.assembled import load
from specc.spec.training import TrainConfig, validate_train

NET = """
specc: 1
name: t
inputs: {x: [4]}
layers:
  - dense: {units: 3, activation: softmax}
"""


def issues(raw) -> list:
    with pytest.raises(SpecError) as err:
        validate_train(raw)
    return err.value.issues


def test_full_config_parses_and_round_trips():
    raw = {"data": {"dataset": "csv", "path": "d.csv", "label": "y", "split": {"last": 10},
                    "scale": "standard", "augment": {"gaussian_noise": 0.1}},
           "loss": {"huber": {"delta": 2.0}}, "optimizer": {"sgd": {"lr": 0.1, "momentum": 0.9}},
           "schedule": {"reduce_on_plateau": {"monitor": "val_mae"}}, "epochs": 3,
           "batch_size": "full", "metrics": ["mae", {"top_k": {"k": 3}}],
           "early_stopping": {"monitor": "val_loss", "patience": 2},
           "clip": {"norm": 1.0}, "seed": 4, "deterministic": True}
    cfg = validate_train(raw)
    assert isinstance(cfg, TrainConfig)
    assert cfg.loss.name == "huber" and cfg.loss.params.delta == 2.0
    assert cfg.optimizer.params.momentum == 0.9 and cfg.batch_size == "full"
    assert cfg.data.split.val == 10 and cfg.data.split.order == "last"
    assert cfg.data.dataset_params == {"path": "d.csv", "label": "y"}
    dumped = cfg.model_dump(mode="json", exclude_defaults=True)
    assert dumped["loss"] == {"huber": {"delta": 2.0}} and dumped["metrics"][1] == {"top_k": {"k": 3}}
    again = validate_train(dumped)
    assert again.model_dump(mode="json") == cfg.model_dump(mode="json")


def test_defaults_and_aliases():
    cfg = validate_train({"data": "iris", "loss": "sparse_categorical_crossentropy",
                          "optimizer": "Adam", "metrics": ["acc"]})
    assert cfg.data.dataset == "iris" and cfg.loss.name == "cross_entropy"
    assert cfg.optimizer.name == "adam" and cfg.optimizer.params.lr == 0.001
    assert cfg.metrics[0].name == "accuracy" and cfg.regime == "backprop"
    assert cfg.monitor(has_val=True) == ("val_loss", "min")
    assert validate_train({"data": "iris", "loss": "mse", "checkpoint": {"monitor": "val_accuracy"},
                           "metrics": ["accuracy"]}).monitor(True) == ("val_accuracy", "max")


def test_all_errors_reported_with_paths_and_hints():
    found = issues({"data": {"dataset": "digts"}, "loss": "cross_entropi",
                    "optimizer": {"adam": {"lr": -1, "betas": [0.9, 0.99]}},
                    "metrics": ["accuracy", "f2"], "epochs": -1, "regime": "backprp",
                    "batch_size": "half"})
    by_path = {i.path: i for i in found}
    assert "did you mean 'digits'" in by_path[("data", "dataset")].hint
    assert "cross_entropy" in by_path[("loss",)].hint
    assert by_path[("optimizer", "adam", "lr")].message == "must be > 0.0"
    assert "beta1" in by_path[("optimizer", "adam", "betas")].hint
    assert "unknown metric 'f2'" in by_path[("metrics", 1)].message
    assert ("epochs",) in by_path and ("batch_size",) in by_path
    assert "backprop" in by_path[("regime",)].hint


def test_dataset_parameters_are_validated_by_the_dataset():
    found = issues({"data": {"dataset": "csv", "paht": "x.csv"}, "loss": "mse"})
    msgs = {i.path: i.message for i in found}
    assert msgs[("data", "path")] == "missing required field"
    assert "unknown field 'paht' for dataset 'csv'" in msgs[("data", "paht")]
    found = issues({"data": {"dataset": "iris", "window": {"size": 0}}, "loss": "mse"})
    assert found[0].path == ("data", "window", "size")


def test_cross_checks():
    assert "needs a loss" in issues({"data": "iris"})[0].message
    cfg = validate_train({"data": "iris", "loss": "mse", "metrics": ["acc"],
                          "early_stopping": {"monitor": "val_acc"}})
    assert cfg.monitor(True) == ("val_accuracy", "max")
    found = issues({"data": "iris", "loss": "mse", "early_stopping": {"monitor": "val_acuracy"},
                    "metrics": ["accuracy"]})
    assert found[0].path == ("early_stopping", "monitor") and "val_accuracy" in found[0].hint
    assert issues({"data": "iris", "loss": "mse", "clip": {}})[0].path == ("clip",)
    found = issues({"data": {"dataset": "iris", "split": {"val": 0.6, "test": 0.5}}, "loss": "mse"})
    assert "training data" in found[0].message
    found = issues({"data": "iris", "loss": "mse", "losses": {"out": "mse"}})
    assert found[0].path == ("losses",)


def test_errors_carry_file_positions_through_the_loader(spec_file):
    path = spec_file(NET + """
train:
  data: {dataset: iris}
  loss: cross_entropy
  optimizer: {adam: {lr: 0}}
""")
    with pytest.raises(SpecError) as err:
        load(path)
    issue = err.value.issues[0]
    assert issue.path == ("train", "optimizer", "adam", "lr")
    assert (issue.line, issue.file) == (10, str(path))


def test_validating_a_train_section_does_not_import_torch(spec_file):
    import subprocess
    import sys

    path = spec_file(NET + "train: {data: {dataset: digits}, loss: cross_entropy}\n")
    code = (f"import sys; from specc.assembled import load; load({str(path)!r}); "
            "print('torch' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
