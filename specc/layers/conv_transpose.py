"""``conv1d_transpose`` and ``conv2d_transpose``: transposed convolutions with Keras sizes."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from pydantic import Field, model_validator

from ..registry import abstract
from ..types import TensorType
from ._spatial import IntPair, NonNegInt, NonNegPair, PosInt, ValidSame, as_tuple, check_map
from .base import ActivationName, Example, Initializer, LayerKind, Params


class _ConvTransposeParams(Params):
    filters: int = Field(gt=0, description="Number of output channels.")
    padding: ValidSame = Field(
        "valid", description="'same': output = input * stride; 'valid': output = "
        "(input - 1) * stride + kernel (input * stride when kernel < stride), as in Keras.")
    use_bias: bool = Field(True, description="Add a learned bias per filter.")
    activation: ActivationName | None = Field(None, description="Fused activation.")
    kernel_initializer: Initializer = Field("glorot_uniform", description="Kernel initialiser.")
    bias_initializer: Initializer = Field("zeros", description="Bias initialiser.")

    @model_validator(mode="after")
    def _output_padding_below_stride(self) -> _ConvTransposeParams:
        op = getattr(self, "output_padding", None)
        if op is not None:
            stride = self.stride
            n = 1 if isinstance(stride, int) else len(stride)
            if any(o >= s for o, s in zip(as_tuple(op, n), as_tuple(stride, n), strict=True)):
                raise ValueError(f"output_padding must be smaller than stride (received "
                                 f"output_padding={op}, stride={stride})")
        return self


class Conv1DTransposeParams(_ConvTransposeParams):
    kernel: PosInt = Field(description="Kernel length.")
    stride: PosInt = Field(1, description="Upsampling step.")
    output_padding: NonNegInt | None = Field(
        None, description="Extra length on one side of the output (smaller than stride); "
        "default: inferred from padding as Keras does.")


class Conv2DTransposeParams(_ConvTransposeParams):
    kernel: IntPair = Field(description="Kernel size: an int or [height, width].")
    stride: IntPair = Field(1, description="Upsampling step: an int or [height, width].")
    output_padding: NonNegPair | None = Field(
        None, description="Extra size on one side of each output axis (smaller than stride); "
        "default: inferred from padding as Keras does.")


def keras_length(size: int | None, kernel: int, stride: int, padding: str,
                 output_padding: int | None) -> int | None:
    """Output length of a Keras ``ConvNDTranspose`` along one axis."""
    if size is None:
        return None
    if output_padding is None:
        return size * stride + (max(kernel - stride, 0) if padding == "valid" else 0)
    pad = kernel // 2 if padding == "same" else 0
    return (size - 1) * stride + kernel - 2 * pad + output_padding


def torch_geometry(kernel: int, stride: int, padding: str,
                   output_padding: int | None) -> tuple[int, int, int]:
    """(padding, output_padding, crop at the end) reproducing Keras/TensorFlow on one axis.

    TensorFlow crops the full transposed output (length ``(n - 1) * stride + kernel``) at the
    front by the 'same' padding of the matching forward convolution; torch crops ``padding``
    from both ends and appends ``output_padding``, so an odd total crop needs one more slice.
    None of the three depends on the input length ``n``.
    """
    n = 1  # any length gives the same answer; see the docstring
    out = keras_length(n, kernel, stride, padding, output_padding)
    assert out is not None
    full = (n - 1) * stride + kernel
    before = max(full - out, 0) // 2 if padding == "same" else 0
    extra = out - full + 2 * before
    return (before, max(extra, 0), max(-extra, 0))


@cache
def _cropped_conv_transpose(ndim: int) -> type:
    """``nn.ConvTransposeNd`` that drops trailing positions where TensorFlow crops unevenly."""
    from torch import nn

    base = nn.ConvTranspose1d if ndim == 1 else nn.ConvTranspose2d

    class CroppedConvTranspose(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, crop: tuple[int, ...] = (), **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.crop = crop

        def forward(self, x: Any) -> Any:
            y = super().forward(x)
            if any(self.crop):
                y = y[(..., *(slice(None, -c if c else None) for c in self.crop))]
            return y

    CroppedConvTranspose.__name__ = f"CroppedConvTranspose{ndim}d"
    CroppedConvTranspose.__qualname__ = CroppedConvTranspose.__name__
    return CroppedConvTranspose


@abstract
class _ConvTranspose(LayerKind):
    ndim: ClassVar[int]
    feature_axis = 0

    @classmethod
    def _axes(cls, p: Any) -> list[tuple[int, int, int | None]]:
        kernel, stride = as_tuple(p.kernel, cls.ndim), as_tuple(p.stride, cls.ndim)
        op = (None,) * cls.ndim if p.output_padding is None else as_tuple(p.output_padding,
                                                                           cls.ndim)
        return list(zip(kernel, stride, op, strict=True))

    @classmethod
    def infer(cls, p: Any, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        check_map(x, cls.ndim)
        out = tuple(keras_length(size, k, s, p.padding, op)
                    for size, (k, s, op) in zip(x.shape[1:], cls._axes(p), strict=True))
        return TensorType((p.filters, *out), x.dtype, feature_axis=0)

    @classmethod
    def count_params(cls, p: Any, inputs: list[TensorType]) -> tuple[int, int]:
        taps = 1
        for k, _, _ in cls._axes(p):
            taps *= k
        channels = inputs[0].shape[0] or 0
        return (channels * taps * p.filters + (p.filters if p.use_bias else 0), 0)

    @classmethod
    def build(cls, p: Any, inputs: list[TensorType]) -> Any:
        from .initializers import apply_init

        axes = cls._axes(p)
        geometry = [torch_geometry(k, s, p.padding, op) for k, s, op in axes]
        m = _cropped_conv_transpose(cls.ndim)(
            inputs[0].shape[0], p.filters, tuple(k for k, _, _ in axes),
            stride=tuple(s for _, s, _ in axes), padding=tuple(g[0] for g in geometry),
            output_padding=tuple(g[1] for g in geometry), bias=p.use_bias,
            crop=tuple(g[2] for g in geometry))
        apply_init(m.weight, p.kernel_initializer)
        if m.bias is not None:
            apply_init(m.bias, p.bias_initializer)
        return m


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution ("deconvolution") over ``(channels, length)``.

    Args:
        filters: output channels. kernel: kernel length. stride: upsampling step.
        padding: 'same' (length * stride) or 'valid' ((length - 1) * stride + kernel).
        output_padding: explicit extra length (< stride), as Keras.
        use_bias, activation, kernel_initializer, bias_initializer: as ``conv1d``.

    Input shape: ``(batch, channels, length)``. Output shape: ``(batch, filters, new_length)``.

    Example:
        ``- conv1d_transpose: {filters: 8, kernel: 4, stride: 2, padding: same}``
    """

    name = "conv1d_transpose"
    aliases = ("Conv1DTranspose", "Convolution1DTranspose")
    Params = Conv1DTransposeParams
    ndim = 1
    examples = (
        Example("conv1d_transpose: {filters: 3, kernel: 4, stride: 2, padding: same}",
                ((2, 5),), (3, 10)),
        Example("conv1d_transpose: {filters: 3, kernel: 3, stride: 2}", ((2, 5),), (3, 11)),
        Example("conv1d_transpose: {filters: 3, kernel: 2, stride: 3}", ((2, 5),), (3, 15)),
    )


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution ("deconvolution") over ``(channels, height, width)``.

    Args:
        filters: output channels. kernel: int or [height, width]. stride: int or pair.
        padding: 'same' (size * stride) or 'valid' ((size - 1) * stride + kernel), as Keras.
        output_padding: explicit extra size per axis (< stride), as Keras.
        use_bias, activation, kernel_initializer, bias_initializer: as ``conv2d``.

    Input shape: ``(batch, channels, height, width)``.
    Output shape: ``(batch, filters, new_height, new_width)``.

    Example:
        ``- conv2d_transpose: {filters: 16, kernel: 4, stride: 2, padding: same, activation: relu}``
    """

    name = "conv2d_transpose"
    aliases = ("Conv2DTranspose", "Convolution2DTranspose", "Deconvolution2D")
    Params = Conv2DTransposeParams
    ndim = 2
    examples = (
        Example("conv2d_transpose: {filters: 4, kernel: 4, stride: 2, padding: same}",
                ((3, 7, 7),), (4, 14, 14)),
        Example("conv2d_transpose: {filters: 2, kernel: 3, stride: 2, padding: same}",
                ((3, 4, 5),), (2, 8, 10)),
        Example("conv2d_transpose: {filters: 2, kernel: [3, 2], stride: 2}", ((1, 4, 4),),
                (2, 9, 8)),
        Example("conv2d_transpose: {filters: 2, kernel: 3, stride: 2, output_padding: 1, "
                "padding: same}", ((1, 4, 4),), (2, 8, 8)),
    )
