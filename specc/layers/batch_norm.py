"""``batch_norm``: batch normalization over the feature (channel) axis, Keras defaults."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params, expect_float, expect_known, shape_error


class BatchNormParams(Params):
    momentum: float = Field(
        0.99, ge=0.0, lt=1.0, description="Keras momentum of the moving statistics: "
        "moving = momentum * moving + (1 - momentum) * batch (torch momentum = 1 - this).")
    epsilon: float = Field(1e-3, gt=0.0, description="Added to the variance for stability.")


@cache
def _batch_norm_module(rank: int) -> type:
    """``nn.BatchNorm{1,2,3}d`` for a batched rank ``rank + 1`` tensor, normalising ``axis``."""
    from torch import nn

    base = {1: nn.BatchNorm1d, 2: nn.BatchNorm1d, 3: nn.BatchNorm2d, 4: nn.BatchNorm3d}[rank]

    class BatchNorm(base):  # type: ignore[misc, valid-type]
        def __init__(self, features: int, axis: int, **kwargs: Any) -> None:
            super().__init__(features, **kwargs)
            self.axis = axis  # batched axis holding the features

        def forward(self, x: Any) -> Any:
            if self.axis == 1:
                return super().forward(x)
            return super().forward(x.movedim(self.axis, 1)).movedim(1, self.axis)

    BatchNorm.__name__ = BatchNorm.__qualname__ = f"BatchNorm{max(rank - 1, 1)}d"
    return BatchNorm


class BatchNorm(LayerKind):
    """Normalizes each feature over the batch, then scales and shifts it (gamma and beta).

    Training uses the batch statistics; inference uses their moving averages.

    The feature axis is the input's: channels for conv maps ``(C, L)`` / ``(C, H, W)``, the
    last axis for vectors ``(F,)`` and sequences ``(T, F)``.

    Args:
        momentum: Keras-style moving-average momentum (0.99 = torch momentum 0.01).
        epsilon: variance epsilon (Keras default 1e-3).

    Input shape: rank 1 to 4 float. Output shape: same as input.
    Parameters: 2 x features trainable (gamma, beta), 2 x features non-trainable (moving
    mean and variance).

    Example:
        ``- batch_norm: {momentum: 0.9}``
    """

    name = "batch_norm"
    aliases = ("BatchNormalization", "BatchNorm")
    Params = BatchNormParams
    category = "normalization"
    examples = (
        Example("batch_norm", ((6,),), (6,)),
        Example("batch_norm", ((4, 5, 5),), (4, 5, 5)),
        Example("batch_norm: {momentum: 0.9, epsilon: 1.0e-5}", ((7, 3),), (7, 3)),
    )

    @classmethod
    def infer(cls, p: BatchNormParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        expect_float(x)
        if not 1 <= x.rank <= 4:
            raise shape_error("expects an input of rank 1 to 4 per sample", x)
        expect_known(x, x.feature_axis, "feature axis")
        return x

    @classmethod
    def count_params(cls, p: BatchNormParams, inputs: list[TensorType]) -> tuple[int, int]:
        f = inputs[0].features or 0
        return (2 * f, 2 * f)

    @classmethod
    def build(cls, p: BatchNormParams, inputs: list[TensorType]) -> Any:
        x = inputs[0]
        axis = x.feature_axis % x.rank + 1
        return _batch_norm_module(x.rank)(x.features, axis, eps=p.epsilon,
                                          momentum=1.0 - p.momentum)
