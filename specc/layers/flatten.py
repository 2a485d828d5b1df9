"""``flatten``: collapse every per-sample axis into one feature axis."""

from __future__ import annotations

from typing import Any

from ..types import TensorType
from .base import Example, LayerKind, NoParams, shape_error


class Flatten(LayerKind):
    """Flattens each sample to a vector (channels-first order, as torch and ONNX lay it out).

    Args:
        none.

    Input shape: ``(batch, d1, ..., dn)`` with every size known.
    Output shape: ``(batch, d1 * ... * dn)``.

    Example:
        ``- flatten``
    """

    name = "flatten"
    aliases = ("Flatten",)
    category = "reshaping"
    examples = (
        Example("flatten", ((32, 5, 5),), (800,)),
        Example("flatten", ((4, 6),), (24,)),
        Example("flatten", ((7,),), (7,)),
    )

    @classmethod
    def infer(cls, p: NoParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        if x.rank == 0:
            raise shape_error("expects at least one axis per sample", x)
        n = x.numel()
        if n is None:
            raise shape_error("needs every axis size known to flatten", x,
                              hint="pool over the dynamic axis first (e.g. global_avg_pool1d)")
        return TensorType((n,), x.dtype, feature_axis=-1)

    @classmethod
    def build(cls, p: NoParams, inputs: list[TensorType]) -> Any:
        from torch import nn

        return nn.Flatten()
