"""Optimizers named in ``train.optimizer``, registry entries (``specc.optimizers``), and the
runner of the schedule named in ``train.schedule``. Pure Python at import; torch inside."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..entries import NoParams, Optimizer
from ..registry import current

if TYPE_CHECKING:
    import torch


def make_optimizer(choice: Any, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The optimizer ``choice`` (a config choice) over the trainable ones of ``params``."""
    entry = current().optimizers.get(choice.name)
    return entry.build(choice.params, [q for q in params if q.requires_grad])


class Schedule:
    """The schedule ``choice`` over ``optimizer``, stepped once per epoch with that epoch's
    logged values (a schedule that monitors a value steps on it)."""

    def __init__(self, choice: Any, optimizer: torch.optim.Optimizer, epochs: int) -> None:
        from ..spec.training import monitor_key

        entry = current().schedules.get(choice.name)
        self.choice = choice
        self.impl = entry.build(choice.params, optimizer, epochs)
        monitored = entry.monitor(choice.params)
        self.monitor: str | None = monitor_key(monitored[0]) if monitored else None

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


class GDParams(NoParams):
    lr: float = Field(0.01, gt=0, description="Learning rate.")
    weight_decay: float = Field(0.0, ge=0, description="L2 penalty added to the gradient.")


class SGDParams(GDParams):
    momentum: float = Field(0.0, ge=0, lt=1)
    nesterov: bool = False
    dampening: float = Field(0.0, ge=0)


class GD(Optimizer):
    """Plain gradient descent."""

    name = "gd"
    aliases = ("gradient_descent",)
    Params = GDParams

    @classmethod
    def build(cls, p: GDParams, params: list[Any]) -> Any:
        import torch

        return torch.optim.SGD(params, lr=p.lr, weight_decay=p.weight_decay)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum / Nesterov."""

    name = "sgd"
    aliases = ("SGD",)
    Params = SGDParams

    @classmethod
    def build(cls, p: SGDParams, params: list[Any]) -> Any:
        import torch

        return torch.optim.SGD(params, lr=p.lr, momentum=p.momentum, nesterov=p.nesterov,
                               dampening=p.dampening, weight_decay=p.weight_decay)


class AdagradParams(NoParams):
    lr: float = Field(0.01, gt=0)
    initial_accumulator_value: float = Field(0.0, ge=0)
    eps: float = Field(1e-10, gt=0)
    weight_decay: float = Field(0.0, ge=0)


class Adagrad(Optimizer):
    """Adagrad: per-parameter rates from the sum of squared gradients."""

    name = "adagrad"
    aliases = ("Adagrad",)
    Params = AdagradParams

    @classmethod
    def build(cls, p: AdagradParams, params: list[Any]) -> Any:
        import torch

        return torch.optim.Adagrad(params, lr=p.lr, eps=p.eps, weight_decay=p.weight_decay,
                                   initial_accumulator_value=p.initial_accumulator_value)


class RMSpropParams(NoParams):
    lr: float = Field(0.001, gt=0)
    rho: float = Field(0.9, gt=0, lt=1, description="Decay of the squared-gradient average.")
    momentum: float = Field(0.0, ge=0, lt=1)
    eps: float = Field(1e-7, gt=0)
    centered: bool = False
    weight_decay: float = Field(0.0, ge=0)


class RMSprop(Optimizer):
    """RMSprop: rates from a moving average of squared gradients."""

    name = "rmsprop"
    aliases = ("RMSprop", "RMSProp")
    Params = RMSpropParams

    @classmethod
    def build(cls, p: RMSpropParams, params: list[Any]) -> Any:
        import torch

        return torch.optim.RMSprop(params, lr=p.lr, alpha=p.rho, eps=p.eps, momentum=p.momentum,
                                   centered=p.centered, weight_decay=p.weight_decay)


class AdamParams(NoParams):
    lr: float = Field(0.001, gt=0)
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    eps: float = Field(1e-7, gt=0)
    amsgrad: bool = False
    weight_decay: float = Field(0.0, ge=0, description="L2 penalty added to the gradient.")
    fused: bool | None = Field(None, description="Torch's fused kernel: one pass over all the "
                               "parameters instead of a loop of small ops (several times faster "
                               "steps on CPU for millions of parameters; results agree to float "
                               "rounding, not bit for bit). Default: fused wherever every parameter is a "
                               "floating tensor on a device that has the kernel.")


class AdamWParams(AdamParams):
    weight_decay: float = Field(0.01, ge=0, description="Decoupled weight decay.")


class Adam(Optimizer):
    """Adam (Keras's epsilon 1e-7)."""

    name = "adam"
    aliases = ("Adam",)
    Params = AdamParams

    @classmethod
    def build(cls, p: AdamParams, params: list[Any]) -> Any:
        import torch

        params = list(params)
        return torch.optim.Adam(params, lr=p.lr, betas=(p.beta1, p.beta2), eps=p.eps,
                                weight_decay=p.weight_decay, amsgrad=p.amsgrad,
                                fused=fused(p.fused, params))


class AdamW(Optimizer):
    """Adam with decoupled weight decay."""

    name = "adamw"
    aliases = ("AdamW",)
    Params = AdamWParams

    @classmethod
    def build(cls, p: AdamWParams, params: list[Any]) -> Any:
        import torch

        params = list(params)
        return torch.optim.AdamW(params, lr=p.lr, betas=(p.beta1, p.beta2), eps=p.eps,
                                 weight_decay=p.weight_decay, amsgrad=p.amsgrad,
                                 fused=fused(p.fused, params))


def fused(asked: bool | None, params: list[Any]) -> bool | None:
    """``asked`` unless None; then True where torch has a fused kernel for every parameter
    (floating dtype, supported device), else None (torch's own default)."""
    if asked is not None:
        return asked
    from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

    devices = _get_fused_kernels_supported_devices()
    ok = params and all(p.is_floating_point() and p.device.type in devices for p in params)
    return True if ok else None
