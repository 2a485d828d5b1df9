"""A test plugin that adds entries to every registry group: a layer kind, a regime, a
dataset, a loss, two metrics (streamed and whole-split), an optimizer, a schedule, an
initializer and an activation.

``tests/plugins/test_everything_plugin.py`` installs it as a fake distribution (entry points
in a ``.dist-info``) and trains a spec that uses all of them. Names start with ``ev_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from specc.data.base import Dataset, RawData
from specc.data.base import Params as DataParams
from specc.entries import (
    Activation,
    Initializer,
    Loss,
    LossContext,
    Metric,
    NoParams,
    Optimizer,
    OutputKind,
    Schedule,
    SplitContext,
    SplitMetric,
)
from specc.layers.base import Example, LayerKind, Params
from specc.train.backprop import Backprop
from specc.train.metrics import MetricState


class ScaleParams(Params):
    factor: float = Field(1.0, gt=0, description="Multiply the input by this.")


class EvScale(LayerKind):
    """Multiplies the input by a constant factor.

    Example:
        ``- ev_scale: {factor: 2.0}``
    """

    name = "ev_scale"
    Params = ScaleParams
    examples = (Example("ev_scale: {factor: 2.0}", ((3,),), (3,)),)

    @classmethod
    def infer(cls, p: ScaleParams, inputs: list[Any]) -> Any:
        return inputs[0]

    @classmethod
    def build(cls, p: ScaleParams, inputs: list[Any]) -> Any:
        from torch import nn

        class Scale(nn.Module):
            def forward(self, x: Any) -> Any:
                return x * p.factor

        return Scale()


class EvBackprop(Backprop):
    """Gradient descent, under the plugin's own regime name."""

    name = "ev_backprop"
    aliases = ()


class LineParams(DataParams):
    n: int = Field(64, gt=0, description="Samples.")
    seed: int = Field(0, ge=0)


class EvLine(Dataset):
    """Regression: three uniform features in [-1, 1], target their sum."""

    name = "ev_line"
    Params = LineParams

    @classmethod
    def load(cls, params: LineParams) -> RawData:
        x = np.random.default_rng(params.seed).uniform(-1, 1, (params.n, 3)).astype(np.float32)
        return RawData({"x": x, "y": x.sum(axis=1, keepdims=True)}, "regression")


class EvHalfSquared(Loss):
    """Half the mean squared error."""

    name = "ev_half_squared"

    @classmethod
    def build(cls, p: Any, ctx: LossContext) -> Any:
        def loss(pred: Any, y: Any) -> Any:
            return 0.5 * ((pred - y.to(pred.dtype).reshape(pred.shape)) ** 2).mean()

        return loss


class CubedError(MetricState):
    """Sums of |error|^3 and of the error count (summed across processes)."""

    def __init__(self, kind: OutputKind, device: Any) -> None:
        super().__init__(kind, device)
        self.state = {"cubed": self.zeros(), "count": self.zeros()}

    def update(self, value: Any, target: Any) -> None:
        err = value.double() - target.double().reshape(value.shape)
        self.state["cubed"] += (err.abs() ** 3).sum()
        self.state["count"] += err.numel()

    def compute(self) -> float:
        n = float(self.state["count"])
        return float(self.state["cubed"]) / n if n else float("nan")


class EvMeanCubedError(Metric):
    """Mean of the cubed absolute errors."""

    name = "ev_mean_cubed_error"
    mode = "min"
    task = "regression"

    @classmethod
    def build(cls, p: Any, kind: OutputKind, device: Any) -> MetricState:
        return CubedError(kind, device)


class EvSplitRMSE(SplitMetric):
    """RMSE of the whole split, from the regime's predict (a whole-split metric)."""

    name = "ev_split_rmse"
    mode = "min"
    task = "regression"

    @classmethod
    def evaluate(cls, p: Any, ctx: SplitContext) -> float:
        (out, pred), = ctx.predict(ctx.inputs).items()
        y = ctx.targets[out]
        return float(((pred.cpu().double() - y.double().reshape(pred.shape)) ** 2).mean() ** 0.5)


class SignParams(NoParams):
    lr: float = Field(0.01, gt=0, description="Step size.")


class EvSignDescent(Optimizer):
    """Sign gradient descent: each weight moves by lr against its gradient's sign."""

    name = "ev_sign_descent"
    Params = SignParams

    @classmethod
    def build(cls, p: SignParams, params: list[Any]) -> Any:
        import torch

        class SignSGD(torch.optim.Optimizer):
            def __init__(self, params: Any, lr: float) -> None:
                super().__init__(params, {"lr": lr})

            @torch.no_grad()
            def step(self, closure: Any = None) -> None:
                for group in self.param_groups:
                    for w in group["params"]:
                        if w.grad is not None:
                            w.add_(w.grad.sign(), alpha=-group["lr"])

        return SignSGD(params, p.lr)


class HalvingParams(NoParams):
    every: int = Field(1, gt=0, description="Epochs between halvings.")


class EvHalving(Schedule):
    """Halve the learning rate every ``every`` epochs."""

    name = "ev_halving"
    Params = HalvingParams

    @classmethod
    def build(cls, p: HalvingParams, optimizer: Any, epochs: int) -> Any:
        from torch.optim import lr_scheduler

        return lr_scheduler.StepLR(optimizer, step_size=p.every, gamma=0.5)


class FanParams(NoParams):
    scale: float = Field(1.0, gt=0, description="Std times sqrt(fan_in).")


class EvFanNormal(Initializer):
    """Normal with std scale / sqrt(fan_in)."""

    name = "ev_fan_normal"
    Params = FanParams

    @classmethod
    def apply(cls, p: FanParams, tensor: Any) -> None:
        fan_in = tensor[0].numel() if tensor.dim() > 1 else tensor.numel()
        tensor.normal_(0.0, p.scale / fan_in ** 0.5)


class EvSoftClip(Activation):
    """x / (1 + |x|), as a plugin activation."""

    name = "ev_soft_clip"

    @classmethod
    def build(cls, p: Any, axis: int) -> Any:
        from torch import nn

        class SoftClip(nn.Module):
            def forward(self, x: Any) -> Any:
                return x / (1 + x.abs())

        return SoftClip()


#: group -> {entry-point name: attribute of this module}
ENTRY_POINTS = {
    "layers": {"ev_scale": "EvScale"},
    "trainers": {"ev_backprop": "EvBackprop"},
    "datasets": {"ev_line": "EvLine"},
    "losses": {"ev_half_squared": "EvHalfSquared"},
    "metrics": {"ev_mean_cubed_error": "EvMeanCubedError", "ev_split_rmse": "EvSplitRMSE"},
    "optimizers": {"ev_sign_descent": "EvSignDescent"},
    "schedules": {"ev_halving": "EvHalving"},
    "initializers": {"ev_fan_normal": "EvFanNormal"},
    "activations": {"ev_soft_clip": "EvSoftClip"},
}
