"""``conv1d`` and ``conv2d``: channels-first convolutions with Keras padding semantics."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from pydantic import Field

from ..registry import abstract
from ..types import TensorType
from ._spatial import (
    IntPair,
    Padding,
    PosInt,
    as_tuple,
    check_map,
    same_pads,
    torch_pad,
    window_out,
)
from .base import ActivationName, Example, Initializer, LayerKind, Params, shape_error


class _ConvParams(Params):
    filters: int = Field(gt=0, description="Number of output channels.")
    padding: Padding = Field(
        "valid", description="'valid' (no padding), 'same' (output size = ceil(input / stride), "
        "padded as Keras/TensorFlow pad) or an explicit number of zeros on each side.")
    groups: int = Field(1, gt=0, description="Channel groups; must divide channels and filters.")
    use_bias: bool = Field(True, description="Add a learned bias per filter.")
    activation: ActivationName | None = Field(None, description="Fused activation.")
    kernel_initializer: Initializer = Field("glorot_uniform", description="Kernel initialiser.")
    bias_initializer: Initializer = Field("zeros", description="Bias initialiser.")


class Conv1DParams(_ConvParams):
    kernel: PosInt = Field(description="Kernel length.")
    stride: PosInt = Field(1, description="Step between windows.")
    dilation: PosInt = Field(1, description="Spacing between kernel taps.")


class Conv2DParams(_ConvParams):
    kernel: IntPair = Field(description="Kernel size: an int or [height, width].")
    stride: IntPair = Field(1, description="Step between windows: an int or [height, width].")
    dilation: IntPair = Field(1, description="Spacing between kernel taps: an int or a pair.")


@cache
def _padded_conv(ndim: int) -> type:
    """``nn.ConvNd`` that first pads asymmetrically when Keras 'same' needs it (stride > 1 or
    an even kernel); its parameters keep torch's names (``weight``, ``bias``)."""
    from torch import nn
    from torch.nn import functional as F

    base = nn.Conv1d if ndim == 1 else nn.Conv2d

    class PaddedConv(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, extra_pad: tuple[int, ...] = (), **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.extra_pad = extra_pad

        def forward(self, x: Any) -> Any:
            if self.extra_pad:
                x = F.pad(x, self.extra_pad)
            return super().forward(x)

    PaddedConv.__name__ = PaddedConv.__qualname__ = f"PaddedConv{ndim}d"
    return PaddedConv


@abstract
class _Conv(LayerKind):
    ndim: ClassVar[int]
    feature_axis = 0

    @classmethod
    def _geometry(cls, p: Any) -> tuple[tuple[int, ...], ...]:
        return tuple(as_tuple(v, cls.ndim) for v in (p.kernel, p.stride, p.dilation))

    @classmethod
    def infer(cls, p: Any, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        channels = check_map(x, cls.ndim)
        if channels % p.groups:
            raise shape_error(f"expects input channels divisible by groups={p.groups}", x)
        if p.filters % p.groups:
            raise shape_error(f"expects filters divisible by groups={p.groups}",
                              f"filters={p.filters}")
        kernel, stride, dilation = cls._geometry(p)
        out = window_out(x, kernel, stride, p.padding, dilation)
        return TensorType((p.filters, *out), x.dtype, feature_axis=0)

    @classmethod
    def count_params(cls, p: Any, inputs: list[TensorType]) -> tuple[int, int]:
        kernel, _, _ = cls._geometry(p)
        taps = 1
        for k in kernel:
            taps *= k
        channels = inputs[0].shape[0] or 0
        return (channels // p.groups * taps * p.filters + (p.filters if p.use_bias else 0), 0)

    @classmethod
    def build(cls, p: Any, inputs: list[TensorType]) -> Any:
        from .initializers import apply_init

        x = inputs[0]
        kernel, stride, dilation = cls._geometry(p)
        padding: Any = p.padding if isinstance(p.padding, int) else 0
        extra: tuple[int, ...] = ()
        if p.padding == "same":
            pads = same_pads(x, kernel, stride, dilation)
            if all(a == b for a, b in pads):
                padding = tuple(a for a, _ in pads)
            else:
                extra = torch_pad(pads)
        m = _padded_conv(cls.ndim)(
            x.shape[0], p.filters, kernel, stride=stride, padding=padding, dilation=dilation,
            groups=p.groups, bias=p.use_bias, extra_pad=extra)
        apply_init(m.weight, p.kernel_initializer)
        if m.bias is not None:
            apply_init(m.bias, p.bias_initializer)
        return m


class Conv1D(_Conv):
    """1-D convolution over channels-first sequences ``(channels, length)``.

    Args:
        filters: output channels. kernel: kernel length. stride: window step.
        padding: 'valid', 'same' (Keras/TensorFlow sizes, also for stride > 1) or an int.
        dilation: tap spacing. groups: channel groups. use_bias: learn a bias.
        activation: fused activation. kernel_initializer / bias_initializer: Keras names.

    Input shape: ``(batch, channels, length)``; length may be dynamic.
    Output shape: ``(batch, filters, new_length)``.

    Example:
        ``- conv1d: {filters: 16, kernel: 3, padding: same, activation: relu}``
    """

    name = "conv1d"
    aliases = ("Conv1D", "Convolution1D")
    Params = Conv1DParams
    ndim = 1
    examples = (
        Example("conv1d: {filters: 4, kernel: 3}", ((2, 10),), (4, 8)),
        Example("conv1d: {filters: 4, kernel: 4, stride: 3, padding: same}", ((2, 10),), (4, 4)),
        Example("conv1d: {filters: 6, kernel: 3, dilation: 2, groups: 2, padding: 1}",
                ((4, 9),), (6, 7)),
    )


class Conv2D(_Conv):
    """2-D convolution over channels-first images ``(channels, height, width)``.

    Args:
        filters: output channels. kernel: int or [height, width]. stride: int or pair.
        padding: 'valid', 'same' (Keras/TensorFlow sizes, also for stride > 1) or an int.
        dilation: int or pair. groups: channel groups (channels and filters divisible by it).
        use_bias: learn a bias. activation: fused activation.
        kernel_initializer / bias_initializer: Keras initialiser names.

    Input shape: ``(batch, channels, height, width)``.
    Output shape: ``(batch, filters, new_height, new_width)``.

    Example:
        ``- conv2d: {filters: 16, kernel: 2, activation: relu}``
    """

    name = "conv2d"
    aliases = ("Conv2D", "Convolution2D")
    Params = Conv2DParams
    ndim = 2
    examples = (
        Example("conv2d: {filters: 16, kernel: 2, activation: relu}", ((3, 8, 8),), (16, 7, 7)),
        Example("conv2d: {filters: 4, kernel: 3, stride: 2, padding: same}", ((2, 7, 7),),
                (4, 4, 4)),
        Example("conv2d: {filters: 4, kernel: [3, 2], padding: same}", ((2, 5, 6),), (4, 5, 6)),
        Example("conv2d: {filters: 4, kernel: 3, dilation: 2, groups: 2, use_bias: false}",
                ((2, 9, 9),), (4, 5, 5)),
        Example("conv2d: {filters: 3, kernel: 3, stride: [2, 1], padding: 1}", ((1, 6, 6),),
                (3, 3, 6)),
    )
