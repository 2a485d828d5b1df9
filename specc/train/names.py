"""Names a ``train:`` section may use for losses, optimizers, schedules and metrics.

Each table maps a canonical name to its parameter model (pydantic, ``extra="forbid"``) and its
aliases (Keras spellings). Pure Python: the torch implementations live in ``losses.py``,
``optim.py`` and ``metrics.py`` and are looked up by the canonical names here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class P(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Entry:
    params: type[BaseModel]
    aliases: tuple[str, ...] = ()
    doc: str = ""


class Table:
    """Canonical names with aliases; ``what`` names the kind of thing in messages."""

    def __init__(self, what: str, entries: dict[str, Entry]) -> None:
        self.what = what
        self.entries = entries
        self.alias = {a: n for n, e in entries.items() for a in e.aliases}

    def canonical(self, name: str) -> str | None:
        if name in self.entries:
            return name
        return self.alias.get(name) or self.alias.get(name.lower())

    def names(self) -> list[str]:
        return sorted(self.entries)

    def __getitem__(self, name: str) -> Entry:
        return self.entries[name]


# -- losses ---------------------------------------------------------------------------------


class Huber(P):
    delta: float = Field(1.0, gt=0)


class CrossEntropy(P):
    label_smoothing: float = Field(0.0, ge=0, lt=1)


class Hinge(P):
    margin: float = Field(1.0, gt=0)


LOSSES = Table("loss", {
    "mse": Entry(P, ("squared", "squared_error", "mean_squared_error", "MeanSquaredError"),
                 "mean squared error"),
    "mae": Entry(P, ("absolute", "absolute_error", "mean_absolute_error", "MeanAbsoluteError"),
                 "mean absolute error"),
    "huber": Entry(Huber, ("Huber",), "Huber loss (quadratic below delta, linear above)"),
    "binary_cross_entropy": Entry(P, ("bce", "binary_crossentropy", "BinaryCrossentropy"),
                                  "binary cross-entropy (on logits when the output is sigmoid)"),
    "hinge": Entry(Hinge, ("Hinge", "categorical_hinge"),
                   "hinge: binary with 0/1 or -1/+1 targets; multi-class (Crammer-Singer) with "
                   "class indices"),
    "cross_entropy": Entry(CrossEntropy, (
        "categorical_cross_entropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
        "CategoricalCrossentropy", "SparseCategoricalCrossentropy"),
        "categorical cross-entropy with class indices or one-hot/probability targets (on "
        "logits when the output is softmax)"),
    "kl_divergence": Entry(P, ("kld", "kl", "kullback_leibler", "KLDivergence"),
                           "KL(target || prediction) per sample, averaged over the batch"),
})

# -- optimizers -----------------------------------------------------------------------------


class GD(P):
    lr: float = Field(0.01, gt=0)
    weight_decay: float = Field(0.0, ge=0)


class SGD(GD):
    momentum: float = Field(0.0, ge=0, lt=1)
    nesterov: bool = False
    dampening: float = Field(0.0, ge=0)


class Adagrad(P):
    lr: float = Field(0.01, gt=0)
    initial_accumulator_value: float = Field(0.0, ge=0)
    eps: float = Field(1e-10, gt=0)
    weight_decay: float = Field(0.0, ge=0)


class RMSprop(P):
    lr: float = Field(0.001, gt=0)
    rho: float = Field(0.9, gt=0, lt=1, description="Decay of the squared-gradient average.")
    momentum: float = Field(0.0, ge=0, lt=1)
    eps: float = Field(1e-7, gt=0)
    centered: bool = False
    weight_decay: float = Field(0.0, ge=0)


class Adam(P):
    lr: float = Field(0.001, gt=0)
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    eps: float = Field(1e-7, gt=0)
    amsgrad: bool = False
    weight_decay: float = Field(0.0, ge=0, description="L2 penalty added to the gradient.")


class AdamW(Adam):
    weight_decay: float = Field(0.01, ge=0, description="Decoupled weight decay.")


OPTIMIZERS = Table("optimizer", {
    "gd": Entry(GD, ("gradient_descent",), "plain gradient descent"),
    "sgd": Entry(SGD, ("SGD",), "stochastic gradient descent with momentum / Nesterov"),
    "adagrad": Entry(Adagrad, ("Adagrad",)),
    "rmsprop": Entry(RMSprop, ("RMSprop", "RMSProp")),
    "adam": Entry(Adam, ("Adam",)),
    "adamw": Entry(AdamW, ("AdamW",)),
})

# -- schedules ------------------------------------------------------------------------------


class StepLR(P):
    step_size: int = Field(gt=0, description="Epochs between decays.")
    gamma: float = Field(0.1, gt=0)


class Cosine(P):
    t_max: int | None = Field(None, gt=0, description="Epochs of one cosine half-period "
                              "(default: train.epochs).")
    eta_min: float = Field(0.0, ge=0)


class Plateau(P):
    monitor: str = "val_loss"
    factor: float = Field(0.1, gt=0, lt=1)
    patience: int = Field(10, ge=0)
    min_delta: float = Field(1e-4, ge=0)
    min_lr: float = Field(0.0, ge=0)
    mode: Literal["auto", "min", "max"] = "auto"


SCHEDULES = Table("schedule", {
    "step": Entry(StepLR, ("step_lr", "StepLR"), "multiply lr by gamma every step_size epochs"),
    "cosine": Entry(Cosine, ("cosine_annealing", "CosineAnnealing"), "cosine annealing"),
    "reduce_on_plateau": Entry(Plateau, ("plateau", "ReduceLROnPlateau"),
                               "multiply lr by factor when the monitored value stalls"),
})

# -- metrics --------------------------------------------------------------------------------


class TopK(P):
    k: int = Field(5, gt=0)


METRICS = Table("metric", {
    "accuracy": Entry(P, ("acc", "Accuracy", "categorical_accuracy", "binary_accuracy")),
    "top_k": Entry(TopK, ("top_k_accuracy", "TopKCategoricalAccuracy")),
    "precision": Entry(P, ("Precision",), "macro-averaged precision"),
    "recall": Entry(P, ("Recall",), "macro-averaged recall"),
    "f1": Entry(P, ("f1_score", "F1Score"), "macro-averaged F1"),
    "mse": Entry(P, ("mean_squared_error",)),
    "mae": Entry(P, ("mean_absolute_error",)),
    "rmse": Entry(P, ("root_mean_squared_error", "RootMeanSquaredError")),
    "nrmse": Entry(P, (), "RMSE divided by the standard deviation of the targets"),
})
