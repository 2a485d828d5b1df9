"""``upsampling2d``: repeat (nearest) or interpolate (bilinear) rows and columns."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..types import TensorType
from ._spatial import IntPair, check_map
from .base import Example, LayerKind, Params


class UpSampling2DParams(Params):
    size: IntPair = Field(2, description="Upsampling factors: an int or [height, width].")
    interpolation: Literal["nearest", "bilinear"] = Field(
        "nearest", description="'nearest' repeats pixels; 'bilinear' interpolates (half-pixel "
        "centres, as Keras/TensorFlow resize).")


class UpSampling2D(LayerKind):
    """Upsamples a channels-first image by integer factors.

    Args:
        size: factors for height and width (int or pair, default 2).
        interpolation: 'nearest' or 'bilinear'.

    Input shape: ``(batch, channels, height, width)``.
    Output shape: ``(batch, channels, height * size[0], width * size[1])``.

    Example:
        ``- upsampling2d: {size: 2}``
    """

    name = "upsampling2d"
    aliases = ("UpSampling2D",)
    Params = UpSampling2DParams
    category = "reshaping"
    feature_axis = 0
    examples = (
        Example("upsampling2d: {size: 2}", ((3, 4, 5),), (3, 8, 10)),
        Example("upsampling2d: {size: [2, 3], interpolation: bilinear}", ((2, 4, 4),),
                (2, 8, 12)),
    )

    @classmethod
    def infer(cls, p: UpSampling2DParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        channels = check_map(x, 2)
        out = tuple(None if s is None else s * f for s, f in zip(x.shape[1:], p.size, strict=True))
        return TensorType((channels, *out), x.dtype, feature_axis=0)

    @classmethod
    def build(cls, p: UpSampling2DParams, inputs: list[TensorType]) -> Any:
        from torch import nn

        return nn.Upsample(scale_factor=tuple(float(f) for f in p.size), mode=p.interpolation)
