"""The train section validates against the chosen regime's typed config: all errors at once,
with paths, a field the regime does not read refused by name; kinds declare their regimes."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import Field

from specc.assembled import load
from specc.errors import SpecError
from specc.layers.dense import Dense
from specc.registry import isolated, register_layer, register_trainer
from specc.spec.training import (
    EpochConfig,
    FitConfig,
    GradientConfig,
    OptimizerChoice,
    TrainConfig,
    validate_train,
)
from specc.train.regime import Regime

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


class TallyConfig(FitConfig):
    ridge: float = Field(0.0, ge=0, description="Ridge penalty.")


class Tally(Regime):
    """A fit regime for tests."""

    name = "tally"
    Config = TallyConfig
    targets = "labels"


class EnergyConfig(EpochConfig):
    lr: float = Field(0.1, gt=0)
    optimizers: dict[str, OptimizerChoice] = Field(default_factory=dict)


class Energy(Regime):
    """An epoch regime with an own metric, for tests."""

    name = "energy_descent"
    Config = EnergyConfig
    own_metrics: ClassVar[dict[str, str]] = {"energy": "min"}


class Recall(Dense):
    """A dense layer only the 'tally' regime trains (for tests)."""

    name = "recall_only"
    aliases = ()
    regimes = ("tally",)


@pytest.fixture
def regimes():
    with isolated(discover=True):
        register_trainer(Tally)
        register_trainer(Energy)
        register_layer(Recall)
        yield


def test_full_gradient_config_parses_and_round_trips():
    raw = {"data": {"dataset": "csv", "path": "d.csv", "label": "y", "split": {"last": 10},
                    "scale": "standard", "augment": {"gaussian_noise": 0.1}},
           "loss": {"huber": {"delta": 2.0}}, "optimizer": {"sgd": {"lr": 0.1, "momentum": 0.9}},
           "schedule": {"reduce_on_plateau": {"monitor": "val_mae"}}, "epochs": 3,
           "batch_size": "full", "metrics": ["mae", {"top_k": {"k": 3}}],
           "early_stopping": {"monitor": "val_loss", "patience": 2},
           "clip": {"norm": 1.0}, "seed": 4, "deterministic": True}
    cfg = validate_train(raw)
    assert type(cfg) is GradientConfig
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
    top3 = validate_train({"data": "iris", "loss": "mse", "metrics": [{"top_k": {"k": 3}}],
                           "early_stopping": {"monitor": "val_top_3"}})  # a metric's log key
    assert top3.monitor(True) == ("val_top_3", "max")


def test_all_errors_reported_with_paths_and_hints():
    found = issues({"data": {"dataset": "digts"}, "loss": "cross_entropi",
                    "optimizer": {"adam": {"lr": -1, "betas": [0.9, 0.99]}},
                    "metrics": ["accuracy", "f2"], "epochs": -1, "batch_size": "half",
                    "losses": {"out": {"loss": "msee", "weight": -1}}})
    by_path = {i.path: i for i in found}
    assert "did you mean 'digits'" in by_path[("data", "dataset")].hint
    assert "cross_entropy" in by_path[("loss",)].hint
    assert by_path[("optimizer", "adam", "lr")].message == "must be > 0.0"
    assert "beta1" in by_path[("optimizer", "adam", "betas")].hint
    assert "unknown metric 'f2'" in by_path[("metrics", 1)].message
    assert "unknown loss 'msee'" in by_path[("losses", "out", "loss")].message
    assert ("epochs",) in by_path and ("batch_size",) in by_path
    assert ("losses", "out", "weight") in by_path
    assert len(found) == len(by_path)  # a bad choice is reported once, not again by pydantic


def test_an_unknown_regime_still_checks_the_shared_fields():
    found = issues({"regime": "backprp", "data": {"dataset": "digts"}, "loss": "mse"})
    by_path = {i.path: i for i in found}
    assert "backprop" in by_path[("regime",)].hint
    assert ("data", "dataset") in by_path and ("loss",) not in by_path


def test_dataset_parameters_are_validated_by_the_dataset():
    found = issues({"data": {"dataset": "csv", "paht": "x.csv"}, "loss": "mse"})
    msgs = {i.path: i.message for i in found}
    assert msgs[("data", "path")] == "missing required field"
    assert "unknown field 'paht' for dataset 'csv'" in msgs[("data", "paht")]
    found = issues({"data": {"dataset": "iris", "window": {"size": 0}}, "loss": "mse"})
    assert found[0].path == ("data", "window", "size")


def test_cross_checks():
    assert "regime 'backprop' needs a loss" in issues({"data": "iris"})[0].message
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


def test_params_is_gone_and_a_typo_gets_a_suggestion():
    found = issues({"data": "iris", "loss": "mse", "params": {"x": 1}, "epoch": 3})
    by_path = {i.path: i for i in found}
    assert by_path[("params",)].message == "regime 'backprop' has no field 'params'"
    assert "regimes describe backprop" in by_path[("params",)].hint
    assert by_path[("epoch",)].message == "regime 'backprop' has no field 'epoch'"
    assert "did you mean 'epochs'" in by_path[("epoch",)].hint


def test_a_field_the_regime_does_not_read_is_refused_naming_the_regime(regimes, spec_file):
    cfg = validate_train({"regime": "tally", "data": "iris", "ridge": 0.5})
    assert type(cfg) is TallyConfig and cfg.ridge == 0.5 and cfg.batch_size == 32
    found = issues({"regime": "tally", "data": "iris", "optimizer": "adam", "ridg": 1,
                    "epochs": 3})
    by_path = {i.path: i for i in found}
    assert set(by_path) == {("optimizer",), ("ridg",), ("epochs",)}
    assert by_path[("optimizer",)].message == "regime 'tally' has no field 'optimizer'"
    assert "ridge" in by_path[("optimizer",)].hint and "data" in by_path[("optimizer",)].hint
    assert "did you mean 'ridge'" in by_path[("ridg",)].hint
    path = spec_file(NET + "train:\n  regime: tally\n  data: iris\n  optimizer: adam\n")
    with pytest.raises(SpecError) as err:
        load(path)
    issue = err.value.issues[0]
    assert (issue.path, issue.line) == (("train", "optimizer"), 9)


def test_least_squares_refuses_an_optimizer():
    found = issues({"regime": "least_squares", "data": "digits", "optimizer": "adam"})
    assert found[0].message == "regime 'least_squares' has no field 'optimizer'"
    assert "ridge" in found[0].hint


def test_own_metrics_are_monitorable(regimes):
    cfg = validate_train({"regime": "energy_descent", "data": "iris",
                          "early_stopping": {"monitor": "val_energy"}})
    assert cfg.monitor(has_val=True) == ("val_energy", "min")
    found = issues({"regime": "energy_descent", "data": "iris",
                    "checkpoint": {"monitor": "enrgy"}})
    assert found[0].path == ("checkpoint", "monitor")
    assert "regime 'energy_descent'" in found[0].message and "energy" in found[0].hint


def test_a_regime_can_declare_a_table_of_choices(regimes):
    cfg = validate_train({"regime": "energy_descent", "data": "iris",
                          "optimizers": {"generator": {"adam": {"lr": 2e-4}}, "critic": "sgd"}})
    assert cfg.optimizers["generator"].params.lr == 2e-4 and cfg.optimizers["critic"].name == "sgd"
    assert cfg.model_dump(mode="json")["optimizers"]["generator"] == {"adam": {"lr": 2e-4}}
    found = issues({"regime": "energy_descent", "data": "iris",
                    "optimizers": {"generator": {"adam": {"lr": -1}}, "critic": "sgdd"}})
    by_path = {i.path: i for i in found}
    assert set(by_path) == {("optimizers", "generator", "adam", "lr"), ("optimizers", "critic")}
    assert "did you mean 'sgd'" in by_path[("optimizers", "critic")].hint


def test_kinds_declare_the_regimes_that_train_them(regimes, spec_file):
    spec = NET.replace("dense:", "recall_only:")
    path = spec_file(spec + "train: {data: iris, loss: cross_entropy}\n")
    with pytest.raises(SpecError) as err:
        load(path)
    issue = err.value.issues[0]
    assert issue.message == "node 'recall_only_1': layer 'recall_only' is not trained by " \
                            "regime 'backprop'"
    assert issue.line == 5 and "tally" in issue.hint
    path = spec_file(spec + "train: {regime: tally, data: iris}\n", "ok.yaml")
    assert load(path).train.regime == "tally"
    assert load(spec_file(spec, "bare.yaml")).train is None  # no train section: not checked


def test_markov_chain_is_trained_by_counting_only():
    with pytest.raises(SpecError) as err:
        load("markov_chain", ["train.regime=backprop", "train.loss=cross_entropy"])
    (issue,) = err.value.issues
    assert "layer 'markov_chain' is not trained by regime 'backprop'" in issue.message
    assert issue.path == ("layers", 0, "markov_chain") and issue.line is not None


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


def test_configs_are_plain_pydantic_models():
    cfg = GradientConfig(data={"dataset": "iris"}, loss="mse", optimizer={"sgd": {"lr": 0.5}})
    assert cfg.loss.name == "mse" and cfg.optimizer.params.lr == 0.5 and cfg.epochs == 10
    assert isinstance(cfg, EpochConfig) and isinstance(cfg, TrainConfig)
    assert not isinstance(FitConfig(data="iris"), EpochConfig)


def test_validating_a_train_section_does_not_import_torch(spec_file):
    import subprocess
    import sys

    path = spec_file(NET + "train: {data: {dataset: digits}, loss: cross_entropy}\n")
    code = (f"import sys; from specc.assembled import load; load({str(path)!r}); "
            "print('torch' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
