"""Activation functions named in specs (``activation: relu``, ``activation: {function: ...}``),
registry entries (``specc.activations``). Pure Python at import; torch inside the builders.

``leaky_relu`` uses Keras's default slope 0.3; ``step`` is the Heaviside step (x > 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import Field

from ..entries import Activation, NoParams
from ..registry import abstract


@abstract
class TorchActivation(Activation):
    """An activation that is one ``torch.nn`` module class without arguments."""

    module: ClassVar[str]  # attribute of torch.nn
    functional: ClassVar[str | None] = None  # attribute of torch, for direct calls

    @classmethod
    def build(cls, p: Any, axis: int) -> Any:
        from torch import nn

        return getattr(nn, cls.module)()

    @classmethod
    def function(cls) -> Callable[..., Any] | None:
        import torch

        return getattr(torch, cls.functional) if cls.functional else None


class Linear(TorchActivation):
    """The identity (no activation)."""

    name = "linear"
    module = "Identity"


class ReLU(TorchActivation):
    """max(x, 0)."""

    name = "relu"
    module, functional = "ReLU", "relu"


class ReLU6(TorchActivation):
    """min(max(x, 0), 6)."""

    name = "relu6"
    module = "ReLU6"


class LeakyParams(NoParams):
    negative_slope: float = Field(0.3, ge=0, description="Slope for x < 0 (Keras default 0.3).")


class LeakyReLU(Activation):
    """x for x >= 0, negative_slope * x below."""

    name = "leaky_relu"
    Params = LeakyParams

    @classmethod
    def build(cls, p: LeakyParams, axis: int) -> Any:
        from torch import nn

        return nn.LeakyReLU(p.negative_slope)


class ELU(TorchActivation):
    """Exponential linear unit."""

    name = "elu"
    module = "ELU"


class SELU(TorchActivation):
    """Scaled exponential linear unit."""

    name = "selu"
    module = "SELU"


class GELU(TorchActivation):
    """Gaussian error linear unit."""

    name = "gelu"
    module = "GELU"


class Sigmoid(TorchActivation):
    """The logistic function 1 / (1 + exp(-x))."""

    name = "sigmoid"
    module, functional = "Sigmoid", "sigmoid"


class HardSigmoid(TorchActivation):
    """Piecewise-linear sigmoid."""

    name = "hard_sigmoid"
    module = "Hardsigmoid"


class Tanh(TorchActivation):
    """Hyperbolic tangent."""

    name = "tanh"
    module, functional = "Tanh", "tanh"


class Softplus(TorchActivation):
    """log(1 + exp(x))."""

    name = "softplus"
    module = "Softplus"


class Softsign(TorchActivation):
    """x / (1 + |x|)."""

    name = "softsign"
    module = "Softsign"


class SiLU(TorchActivation):
    """x * sigmoid(x)."""

    name = "silu"
    module = "SiLU"


class Swish(SiLU):
    """x * sigmoid(x) (the same function as silu)."""

    name = "swish"


class Softmax(Activation):
    """Softmax along the feature axis."""

    name = "softmax"
    uses_axis = True

    @classmethod
    def build(cls, p: Any, axis: int) -> Any:
        from torch import nn

        return nn.Softmax(dim=axis)

    @classmethod
    def function(cls) -> Callable[..., Any] | None:
        import torch

        return torch.softmax


class LogSoftmax(Activation):
    """Log of the softmax along the feature axis."""

    name = "log_softmax"
    uses_axis = True

    @classmethod
    def build(cls, p: Any, axis: int) -> Any:
        from torch import nn

        return nn.LogSoftmax(dim=axis)

    @classmethod
    def function(cls) -> Callable[..., Any] | None:
        import torch

        return torch.log_softmax


class Step(Activation):
    """The Heaviside step: 1 where x > 0, else 0."""

    name = "step"

    @classmethod
    def build(cls, p: Any, axis: int) -> Any:
        import torch
        from torch import nn

        class Step(nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return (x > 0).to(x.dtype)

        return Step()
