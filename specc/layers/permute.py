"""``permute``: reorder the per-sample axes."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params, shape_error


class PermuteParams(Params):
    dims: tuple[int, ...] = Field(
        min_length=1, description="New order of the per-sample axes, 0-based (batch excluded): "
        "output axis i is input axis dims[i].")


@cache
def _permute_module() -> type:
    import torch
    from torch import nn

    class Permute(nn.Module):
        def __init__(self, dims: tuple[int, ...]) -> None:
            super().__init__()
            self.dims = (0, *(d + 1 for d in dims))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.permute(self.dims)

    return Permute


class Permute(LayerKind):
    """Permutes the per-sample axes; the feature axis moves with its data.

    Unlike Keras's 1-based ``Permute((2, 1))``, ``dims`` counts per-sample axes from 0.

    Args:
        dims: a permutation of ``0 .. rank-1``.

    Input shape: ``(batch, d0, ..., dn)``. Output shape: ``(batch, d[dims[0]], ...)``.

    Example:
        ``- permute: {dims: [1, 0]}``
    """

    name = "permute"
    aliases = ("Permute",)
    Params = PermuteParams
    category = "reshaping"
    examples = (
        Example("permute: {dims: [1, 0]}", ((3, 5),), (5, 3)),
        Example("permute: {dims: [2, 0, 1]}", ((2, 3, 4),), (4, 2, 3)),
    )

    @classmethod
    def infer(cls, p: PermuteParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        if sorted(p.dims) != list(range(x.rank)):
            raise shape_error(f"expects dims {list(p.dims)} to be a permutation of the input's "
                              f"axes 0..{x.rank - 1}", x)
        feature = p.dims.index(x.feature_axis % x.rank)
        return TensorType(tuple(x.shape[d] for d in p.dims), x.dtype,
                          feature_axis=-1 if feature == x.rank - 1 else feature)

    @classmethod
    def build(cls, p: PermuteParams, inputs: list[TensorType]) -> Any:
        return _permute_module()(p.dims)
