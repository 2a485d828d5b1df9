"""Pooling kinds: max, average, min and sum pooling (1-D and 2-D), and global pooling.

Windows follow Keras: ``stride`` defaults to ``size``; 'same' padding gives
``ceil(input / stride)`` outputs and padded positions never win or count (max and min pools
ignore them, average pools divide by the number of real inputs in the window, sum pools add
nothing for them).
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from pydantic import Field

from ..registry import abstract
from ..types import TensorType
from ._spatial import (
    IntPair,
    PosInt,
    ValidSame,
    as_tuple,
    check_map,
    same_pads,
    torch_pad,
    window_out,
)
from .base import Example, LayerKind, Params


class Pool1DParams(Params):
    size: PosInt = Field(2, description="Window length.")
    stride: PosInt | None = Field(None, description="Step between windows; default: size.")
    padding: ValidSame = Field("valid", description="'valid' or 'same' (ceil(length / stride)).")


class Pool2DParams(Params):
    size: IntPair = Field(2, description="Window size: an int or [height, width].")
    stride: IntPair | None = Field(None, description="Step between windows; default: size.")
    padding: ValidSame = Field("valid", description="'valid' or 'same' (ceil(size / stride)).")


@cache
def _pool_module() -> type:
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Pool(nn.Module):
        """Max/avg/min/sum pooling over the trailing ``ndim`` axes, with Keras 'same' padding."""

        def __init__(self, mode: str, ndim: int, size: tuple[int, ...], stride: tuple[int, ...],
                     pad: tuple[int, ...]) -> None:
            super().__init__()
            self.mode, self.size, self.stride, self.pad = mode, size, stride, pad
            self.max_pool = F.max_pool1d if ndim == 1 else F.max_pool2d
            self.avg_pool = F.avg_pool1d if ndim == 1 else F.avg_pool2d

        def _padded(self, x: torch.Tensor, value: float = 0.0) -> torch.Tensor:
            return F.pad(x, self.pad, value=value) if any(self.pad) else x

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.mode == "max":
                return self.max_pool(self._padded(x, float("-inf")), self.size, self.stride)
            if self.mode == "min":
                return -self.max_pool(self._padded(-x, float("-inf")), self.size, self.stride)
            mean = self.avg_pool(self._padded(x), self.size, self.stride)
            if self.mode == "sum":
                area = 1
                for s in self.size:
                    area *= s
                return mean * area
            if not any(self.pad):
                return mean
            # Average over real inputs only: divide by the share of the window inside x.
            inside = self.avg_pool(self._padded(torch.ones_like(x[:, :1])), self.size, self.stride)
            return mean / inside

    return Pool


@abstract
class _Pool(LayerKind):
    ndim: ClassVar[int]
    mode: ClassVar[str]
    category = "pooling"
    feature_axis = 0

    @classmethod
    def _window(cls, p: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
        size = as_tuple(p.size, cls.ndim)
        return size, size if p.stride is None else as_tuple(p.stride, cls.ndim)

    @classmethod
    def infer(cls, p: Any, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        channels = check_map(x, cls.ndim)
        size, stride = cls._window(p)
        out = window_out(x, size, stride, p.padding, what="pool size")
        return TensorType((channels, *out), x.dtype, feature_axis=0)

    @classmethod
    def build(cls, p: Any, inputs: list[TensorType]) -> Any:
        size, stride = cls._window(p)
        pad = torch_pad(same_pads(inputs[0], size, stride)) if p.padding == "same" else ()
        return _pool_module()(cls.mode, cls.ndim, size, stride, pad)


def _pool_kind(mode: str, ndim: int, aliases: tuple[str, ...], what: str,
               examples: tuple[Example, ...]) -> type[LayerKind]:
    """One pooling kind; the docstring is written from the mode and rank."""
    layout = "(channels, length)" if ndim == 1 else "(channels, height, width)"
    name = f"{mode}_pool{ndim}d"
    size = "size: window length" if ndim == 1 else "size: window, an int or [height, width]"

    class Kind(_Pool):
        __doc__ = f"""{what} over windows of a channels-first {ndim}-D map {layout}.

        Args:
            {size} (default 2). stride: window step (default: size).
            padding: 'valid' or 'same' (Keras sizes; padding is ignored by the pooling).

        Input shape: ``(batch, {layout[1:-1]})``. Output shape: same channels, pooled sizes.

        Example:
            ``- {name}: {{size: 2}}``
        """

    Kind.name, Kind.aliases, Kind.mode, Kind.ndim = name, aliases, mode, ndim
    Kind.Params = Pool1DParams if ndim == 1 else Pool2DParams
    Kind.examples = examples
    Kind.__name__ = Kind.__qualname__ = f"{mode.title()}Pool{ndim}D"
    return Kind


MaxPool1D = _pool_kind("max", 1, ("MaxPooling1D", "MaxPool1D"), "Maximum", (
    Example("max_pool1d: {size: 2}", ((3, 9),), (3, 4)),
    Example("max_pool1d: {size: 3, stride: 2, padding: same}", ((3, 8),), (3, 4)),
))
MaxPool2D = _pool_kind("max", 2, ("MaxPooling2D", "MaxPool2D"), "Maximum", (
    Example("max_pool2d: {size: 2, stride: 2}", ((16, 7, 7),), (16, 3, 3)),
    Example("max_pool2d: {size: 3, stride: 2, padding: same}", ((2, 7, 7),), (2, 4, 4)),
    Example("max_pool2d: {size: [2, 1]}", ((2, 6, 5),), (2, 3, 5)),
))
AvgPool1D = _pool_kind("avg", 1, ("AveragePooling1D", "AvgPool1D"), "Average", (
    Example("avg_pool1d: {size: 2}", ((3, 9),), (3, 4)),
    Example("avg_pool1d: {size: 3, stride: 2, padding: same}", ((3, 8),), (3, 4)),
))
AvgPool2D = _pool_kind("avg", 2, ("AveragePooling2D", "AvgPool2D"), "Average", (
    Example("avg_pool2d: {size: 2}", ((2, 6, 6),), (2, 3, 3)),
    Example("avg_pool2d: {size: 2, stride: 2, padding: same}", ((2, 5, 5),), (2, 3, 3)),
))
MinPool1D = _pool_kind("min", 1, ("MinPooling1D",), "Minimum", (
    Example("min_pool1d: {size: 2}", ((3, 8),), (3, 4)),
    Example("min_pool1d: {size: 2, padding: same}", ((3, 7),), (3, 4)),
))
MinPool2D = _pool_kind("min", 2, ("MinPooling2D",), "Minimum", (
    Example("min_pool2d: {size: 2}", ((2, 6, 6),), (2, 3, 3)),
    Example("min_pool2d: {size: 3, stride: 2, padding: same}", ((2, 6, 6),), (2, 3, 3)),
))
SumPool1D = _pool_kind("sum", 1, ("SumPooling1D",), "Sum", (
    Example("sum_pool1d: {size: 3}", ((2, 9),), (2, 3)),
    Example("sum_pool1d: {size: 2, padding: same}", ((2, 9),), (2, 5)),
))
SumPool2D = _pool_kind("sum", 2, ("SumPooling2D",), "Sum", (
    Example("sum_pool2d: {size: 2}", ((2, 6, 6),), (2, 3, 3)),
    Example("sum_pool2d: {size: 2, stride: 1, padding: same}", ((2, 5, 5),), (2, 5, 5)),
))


class GlobalPoolParams(Params):
    keepdims: bool = Field(False, description="Keep the pooled axes with size 1.")


@cache
def _global_pool_module() -> type:
    import torch
    from torch import nn

    class GlobalPool(nn.Module):
        """Max or mean over the trailing ``ndim`` axes."""

        def __init__(self, mode: str, ndim: int, keepdims: bool) -> None:
            super().__init__()
            self.mode, self.dims, self.keepdims = mode, tuple(range(2, 2 + ndim)), keepdims

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.mode == "max":
                return torch.amax(x, dim=self.dims, keepdim=self.keepdims)
            return torch.mean(x, dim=self.dims, keepdim=self.keepdims)

    return GlobalPool


@abstract
class _GlobalPool(LayerKind):
    ndim: ClassVar[int]
    mode: ClassVar[str]
    category = "pooling"
    Params = GlobalPoolParams

    @classmethod
    def infer(cls, p: GlobalPoolParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        channels = check_map(x, cls.ndim)
        if p.keepdims:
            return TensorType((channels,) + (1,) * cls.ndim, x.dtype, feature_axis=0)
        return TensorType((channels,), x.dtype, feature_axis=-1)

    @classmethod
    def build(cls, p: GlobalPoolParams, inputs: list[TensorType]) -> Any:
        return _global_pool_module()(cls.mode, cls.ndim, p.keepdims)


def _global_kind(mode: str, ndim: int, aliases: tuple[str, ...],
                 examples: tuple[Example, ...]) -> type[LayerKind]:
    layout = "(channels, length)" if ndim == 1 else "(channels, height, width)"
    name = f"global_{mode}_pool{ndim}d"
    what = "Maximum" if mode == "max" else "Average"

    class Kind(_GlobalPool):
        __doc__ = f"""{what} over all positions of a channels-first map {layout}.

        Args:
            keepdims: keep the pooled axes with size 1 (default false).

        Input shape: ``(batch, {layout[1:-1]})``. Output shape: ``(batch, channels)``.

        Example:
            ``- {name}``
        """

    Kind.name, Kind.aliases, Kind.mode, Kind.ndim = name, aliases, mode, ndim
    Kind.examples = examples
    Kind.__name__ = Kind.__qualname__ = f"Global{mode.title()}Pool{ndim}D"
    return Kind


GlobalMaxPool1D = _global_kind("max", 1, ("GlobalMaxPooling1D", "GlobalMaxPool1D"), (
    Example("global_max_pool1d", ((4, 9),), (4,)),
    Example("global_max_pool1d: {keepdims: true}", ((4, 9),), (4, 1)),
))
GlobalMaxPool2D = _global_kind("max", 2, ("GlobalMaxPooling2D", "GlobalMaxPool2D"), (
    Example("global_max_pool2d", ((4, 5, 6),), (4,)),
))
GlobalAvgPool1D = _global_kind("avg", 1, ("GlobalAveragePooling1D", "GlobalAvgPool1D"), (
    Example("global_avg_pool1d", ((4, 9),), (4,)),
))
GlobalAvgPool2D = _global_kind("avg", 2, ("GlobalAveragePooling2D", "GlobalAvgPool2D"), (
    Example("global_avg_pool2d", ((4, 5, 6),), (4,)),
    Example("global_avg_pool2d: {keepdims: true}", ((4, 5, 6),), (4, 1, 1)),
))
