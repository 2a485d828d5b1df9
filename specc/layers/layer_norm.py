"""``layer_norm``: layer normalization over the feature axis of each position."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params, expect_features


class LayerNormParams(Params):
    epsilon: float = Field(1e-3, gt=0.0, description="Added to the variance for stability.")


@cache
def _layer_norm_module() -> type:
    from torch import nn

    class LayerNorm(nn.LayerNorm):
        """``nn.LayerNorm`` over batched axis ``axis`` (moved last and back when needed)."""

        def __init__(self, features: int, axis: int, eps: float) -> None:
            super().__init__(features, eps=eps)
            self.axis = axis

        def forward(self, x: Any) -> Any:
            if self.axis == -1:
                return super().forward(x)
            return super().forward(x.movedim(self.axis, -1)).movedim(-1, self.axis)

    return LayerNorm


class LayerNorm(LayerKind):
    """Normalizes the features of each sample to zero mean and unit variance, then rescales them.

    Each position of a sequence or map is normalized on its own; the scale and shift (gamma and
    beta) are learned.

    Args:
        epsilon: variance epsilon (Keras default 1e-3).

    Input shape: any float with at least one axis; features on the input's feature axis
    (channels for conv maps, last axis otherwise). Output shape: same as input.

    Example:
        ``- layer_norm: {epsilon: 1.0e-5}``
    """

    name = "layer_norm"
    aliases = ("LayerNormalization", "LayerNorm")
    Params = LayerNormParams
    category = "normalization"
    examples = (
        Example("layer_norm", ((8,),), (8,)),
        Example("layer_norm: {epsilon: 1.0e-5}", ((5, 8),), (5, 8)),
        Example("layer_norm", ((4, 3, 3),), (4, 3, 3)),
    )

    @classmethod
    def infer(cls, p: LayerNormParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        expect_features(x)
        return x

    @classmethod
    def count_params(cls, p: LayerNormParams, inputs: list[TensorType]) -> tuple[int, int]:
        return (2 * (inputs[0].features or 0), 0)

    @classmethod
    def build(cls, p: LayerNormParams, inputs: list[TensorType]) -> Any:
        x = inputs[0]
        axis = x.feature_axis % x.rank
        batched = -1 if axis == x.rank - 1 else axis + 1
        return _layer_norm_module()(x.features, batched, p.epsilon)
