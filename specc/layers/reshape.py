"""``reshape``: give each sample a new shape with the same number of elements."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field, field_validator

from ..types import TensorType, fmt_shape
from .base import Example, LayerKind, Params, shape_error


class ReshapeParams(Params):
    shape: tuple[int, ...] = Field(
        min_length=1, description="Target per-sample shape (batch excluded); at most one -1, "
        "which takes the size that keeps the element count.")

    @field_validator("shape")
    @classmethod
    def _sizes(cls, shape: tuple[int, ...]) -> tuple[int, ...]:
        if any(d == 0 or d < -1 for d in shape):
            raise ValueError("sizes must be positive, or -1 for one inferred axis")
        if shape.count(-1) > 1:
            raise ValueError("at most one size may be -1")
        return shape


@cache
def _reshape_module() -> type:
    import torch
    from torch import nn

    class Reshape(nn.Module):
        def __init__(self, shape: tuple[int, ...]) -> None:
            super().__init__()
            self.shape = shape

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.reshape(x.shape[0], *self.shape)

    return Reshape


class Reshape(LayerKind):
    """Reshapes each sample to ``shape``; the element count must stay the same.

    A rank-3 result is taken as a channels-first map (channels on axis 0), anything else as
    features on the last axis.

    Args:
        shape: target per-sample shape; one size may be -1 (inferred).

    Input shape: ``(batch, ...)`` with every size known. Output shape: ``(batch, *shape)``.

    Example:
        ``- reshape: {shape: [-1, 4]}``
    """

    name = "reshape"
    aliases = ("Reshape",)
    Params = ReshapeParams
    category = "reshaping"
    examples = (
        Example("reshape: {shape: [2, 3, 4]}", ((24,),), (2, 3, 4)),
        Example("reshape: {shape: [-1, 4]}", ((2, 3, 4),), (6, 4)),
        Example("reshape: {shape: [12]}", ((3, 4),), (12,)),
    )

    @classmethod
    def resolve(cls, p: ReshapeParams, x: TensorType) -> tuple[int, ...]:
        """The target shape with any -1 replaced, checking the element count."""
        n = x.numel()
        if n is None:
            raise shape_error("needs every input axis size known", x)
        known = 1
        for d in p.shape:
            known *= d if d != -1 else 1
        if -1 in p.shape:
            if n % known:
                raise shape_error(f"expects an element count divisible by {known} to reshape "
                                  f"into {fmt_shape(p.shape)}", x)
            return tuple(n // known if d == -1 else d for d in p.shape)
        if known != n:
            raise shape_error(f"expects an input of {known} elements to reshape into "
                              f"{fmt_shape(p.shape)}", x)
        return p.shape

    @classmethod
    def infer(cls, p: ReshapeParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        shape = cls.resolve(p, x)
        return TensorType(shape, x.dtype, feature_axis=0 if len(shape) == 3 else -1)

    @classmethod
    def build(cls, p: ReshapeParams, inputs: list[TensorType]) -> Any:
        return _reshape_module()(cls.resolve(p, inputs[0]))
