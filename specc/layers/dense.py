"""``dense``: fully connected layer."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..types import TensorType
from .base import (
    ActivationName,
    Example,
    Initializer,
    LayerKind,
    Params,
    expect_features,
)


class DenseParams(Params):
    units: int = Field(gt=0, description="Number of output features.")
    activation: ActivationName | None = Field(None, description="Fused activation.")
    use_bias: bool = Field(True, description="Add a learned bias.")
    kernel_initializer: Initializer = "glorot_uniform"
    bias_initializer: Initializer = "zeros"


class Dense(LayerKind):
    """Fully connected layer: ``y = activation(x @ W + b)`` on the last axis.

    Args:
        units: output features. activation: fused activation. use_bias: learn a bias.
        kernel_initializer / bias_initializer: Keras initialiser names.

    Input shape: ``(batch, ..., features)``. Output shape: ``(batch, ..., units)``.

    Example:
        ``- dense: {units: 64, activation: relu}``
    """

    name = "dense"
    aliases = ("Dense", "linear_layer", "fully_connected")
    Params = DenseParams
    feature_axis = -1
    examples = (
        Example("dense: {units: 4, activation: relu}", ((6,),), (4,)),
        Example("dense: {units: 3, use_bias: false}", ((5, 7),), (5, 3)),
    )

    @classmethod
    def infer(cls, p: DenseParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        expect_features(x, -1, "feature (last) axis")
        return TensorType(x.shape[:-1] + (p.units,), x.dtype)

    @classmethod
    def count_params(cls, p: DenseParams, inputs: list[TensorType]) -> tuple[int, int]:
        fan_in = inputs[0].shape[-1] or 0
        return (fan_in * p.units + (p.units if p.use_bias else 0), 0)

    @classmethod
    def build(cls, p: DenseParams, inputs: list[TensorType]) -> Any:
        from torch import nn

        from .initializers import apply_init

        m = nn.Linear(inputs[0].shape[-1], p.units, bias=p.use_bias)
        apply_init(m.weight, p.kernel_initializer)
        if m.bias is not None:
            apply_init(m.bias, p.bias_initializer)
        return m
