"""``zero_padding2d``: add rows and columns of zeros around an image."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from ..types import TensorType
from ._spatial import NonNegPair, _pair_schema, check_map
from .base import Example, LayerKind, Params


def _sides(value: Any) -> Any:
    """int -> all sides; [h, w] -> symmetric; [[top, bottom], [left, right]] as given."""
    if isinstance(value, int) and not isinstance(value, bool):
        return ((value, value), (value, value))
    if isinstance(value, list | tuple) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return ((value[0], value[0]), (value[1], value[1]))
    return value


#: The forms :func:`_sides` reads, for ``specc schema``.
_SIDES_SCHEMA = {"anyOf": [{"type": "integer", "minimum": 0}, {
    "type": "array", "items": _pair_schema(0), "minItems": 2, "maxItems": 2}]}


class ZeroPadding2DParams(Params):
    padding: Annotated[tuple[NonNegPair, NonNegPair], BeforeValidator(_sides),
                       WithJsonSchema(_SIDES_SCHEMA)] = Field(
        1, description="Zeros per side: an int, [rows, cols] (both sides each), or "
        "[[top, bottom], [left, right]], as Keras.")


class ZeroPadding2D(LayerKind):
    """Pads a channels-first image with zeros on each side.

    Args:
        padding: int, [rows, cols] or [[top, bottom], [left, right]] (default 1).

    Input shape: ``(batch, channels, height, width)``.
    Output shape: ``(batch, channels, height + top + bottom, width + left + right)``.

    Example:
        ``- zero_padding2d: {padding: [[1, 0], [1, 0]]}``
    """

    name = "zero_padding2d"
    aliases = ("ZeroPadding2D",)
    Params = ZeroPadding2DParams
    category = "reshaping"
    feature_axis = 0
    examples = (
        Example("zero_padding2d", ((3, 4, 5),), (3, 6, 7)),
        Example("zero_padding2d: {padding: [1, 2]}", ((1, 4, 4),), (1, 6, 8)),
        Example("zero_padding2d: {padding: [[1, 0], [0, 3]]}", ((1, 4, 4),), (1, 5, 7)),
    )

    @classmethod
    def infer(cls, p: ZeroPadding2DParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        channels = check_map(x, 2)
        out = tuple(None if s is None else s + a + b
                    for s, (a, b) in zip(x.shape[1:], p.padding, strict=True))
        return TensorType((channels, *out), x.dtype, feature_axis=0)

    @classmethod
    def build(cls, p: ZeroPadding2DParams, inputs: list[TensorType]) -> Any:
        from torch import nn

        (top, bottom), (left, right) = p.padding
        return nn.ZeroPad2d((left, right, top, bottom))
