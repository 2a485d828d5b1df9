"""Optimizers and learning-rate schedules named in ``train.optimizer`` / ``train.schedule``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def make_optimizer(choice: Any, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The optimizer ``choice`` (a config Choice) over ``params`` (trainable ones only)."""
    p = choice.params
    params = [q for q in params if q.requires_grad]
    name = choice.name
    if name == "gd":
        return torch.optim.SGD(params, lr=p.lr, weight_decay=p.weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=p.lr, momentum=p.momentum, nesterov=p.nesterov,
                               dampening=p.dampening, weight_decay=p.weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=p.lr, eps=p.eps, weight_decay=p.weight_decay,
                                   initial_accumulator_value=p.initial_accumulator_value)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=p.lr, alpha=p.rho, eps=p.eps, momentum=p.momentum,
                                   centered=p.centered, weight_decay=p.weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=p.lr, betas=(p.beta1, p.beta2), eps=p.eps,
                                weight_decay=p.weight_decay, amsgrad=p.amsgrad)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=p.lr, betas=(p.beta1, p.beta2), eps=p.eps,
                                 weight_decay=p.weight_decay, amsgrad=p.amsgrad)
    raise KeyError(name)


class Schedule:
    """A learning-rate schedule stepped once per epoch with that epoch's logged values."""

    def __init__(self, choice: Any, optimizer: torch.optim.Optimizer, epochs: int) -> None:
        from torch.optim import lr_scheduler

        self.choice = choice
        p = choice.params
        self.monitor: str | None = None
        if choice.name == "step":
            self.impl: Any = lr_scheduler.StepLR(optimizer, step_size=p.step_size, gamma=p.gamma)
        elif choice.name == "cosine":
            self.impl = lr_scheduler.CosineAnnealingLR(optimizer, T_max=p.t_max or max(epochs, 1),
                                                       eta_min=p.eta_min)
        elif choice.name == "reduce_on_plateau":
            from ..spec.training import monitor_key, resolve_mode

            self.monitor = monitor_key(p.monitor)
            self.impl = lr_scheduler.ReduceLROnPlateau(
                optimizer, mode=resolve_mode(p.monitor, p.mode), factor=p.factor,
                patience=p.patience, threshold=p.min_delta, threshold_mode="abs", min_lr=p.min_lr)
        else:
            raise KeyError(choice.name)

    def step(self, logs: dict[str, float]) -> None:
        if self.monitor is not None:
            value = logs.get(self.monitor)
            if value is not None:
                self.impl.step(value)
        else:
            self.impl.step()

    def state_dict(self) -> dict[str, Any]:
        return self.impl.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.impl.load_state_dict(state)
