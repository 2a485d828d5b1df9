"""Pure-Python helpers shared by the convolution, pooling and resampling kinds (no torch)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainValidator, WithJsonSchema

from ..types import TensorType
from .base import conv_out, expect_float, expect_known, expect_rank, same_padding, shape_error

PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]


def _pair(value: Any) -> Any:
    return (value, value) if isinstance(value, int) and not isinstance(value, bool) else value


def _pair_schema(minimum: int) -> dict[str, Any]:
    item = {"type": "integer", "minimum": minimum}
    return {"anyOf": [item, {"type": "array", "items": item, "minItems": 2, "maxItems": 2}]}


#: A positive int or a pair of them (Keras accepts both for kernel sizes and strides).
IntPair = Annotated[tuple[PosInt, PosInt], BeforeValidator(_pair), WithJsonSchema(_pair_schema(1))]
#: A non-negative int or a pair of them.
NonNegPair = Annotated[
    tuple[NonNegInt, NonNegInt], BeforeValidator(_pair), WithJsonSchema(_pair_schema(0))
]


def _padding(value: Any) -> Any:
    if value in ("valid", "same"):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError("must be 'valid', 'same' or a non-negative integer")


#: Keras padding: 'valid' (none), 'same' (output = ceil(input / stride)) or explicit zeros.
Padding = Annotated[
    Literal["valid", "same"] | int,
    PlainValidator(_padding),
    WithJsonSchema({"anyOf": [{"enum": ["valid", "same"]}, {"type": "integer", "minimum": 0}]}),
]
#: Padding without the explicit form (pooling, transposed convolution).
ValidSame = Literal["valid", "same"]

_LAYOUTS = {1: "(channels, length)", 2: "(channels, height, width)"}


def as_tuple(value: int | tuple[int, ...], n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value)


def fmt_size(sizes: tuple[int | None, ...]) -> str:
    """``5x5`` / ``7`` / ``?x4``."""
    return "x".join("?" if s is None else str(s) for s in sizes)


def check_map(x: TensorType, ndim: int) -> int:
    """Check a channels-first float map with ``ndim`` spatial axes; return its channel count."""
    expect_float(x)
    expect_rank(x, ndim + 1, _LAYOUTS[ndim])
    return expect_known(x, 0, "channel (first) axis")


def window_out(x: TensorType, kernel: tuple[int, ...], stride: tuple[int, ...],
               padding: str | int, dilation: tuple[int, ...] | None = None,
               what: str = "kernel") -> tuple[int | None, ...]:
    """Spatial output sizes of a sliding window over the axes after the channel axis of ``x``.

    Raises a shape error when the (dilated) window does not fit the (padded) input, and when
    'same' padding with stride > 1 meets a dynamic axis (its padding depends on the size).
    """
    sizes = x.shape[1:]
    dilation = dilation or (1,) * len(sizes)
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    if padding == "same":
        same_pads(x, kernel, stride, dilation)
    else:
        pad = 0 if padding == "valid" else int(padding)
        if any(s is not None and s + 2 * pad < e for s, e in zip(sizes, eff, strict=True)):
            need = tuple(max(e - 2 * pad, 1) for e in eff)
            dilated = "" if eff == kernel else f" (dilated to {fmt_size(eff)})"
            raise shape_error(
                f"expects a spatial size of at least {fmt_size(need)} to fit {what} "
                f"{fmt_size(kernel)}{dilated} with padding {padding!r}", x)
    return tuple(
        conv_out(s, k, st, padding, d)
        for s, k, st, d in zip(sizes, kernel, stride, dilation, strict=True)
    )


def same_pads(x: TensorType, kernel: tuple[int, ...], stride: tuple[int, ...],
              dilation: tuple[int, ...] | None = None) -> list[tuple[int, int]]:
    """(before, after) 'same' padding per spatial axis of ``x``, as Keras/TensorFlow pad."""
    sizes = x.shape[1:]
    dilation = dilation or (1,) * len(sizes)
    pads = []
    for size, k, s, d in zip(sizes, kernel, stride, dilation, strict=True):
        if size is None:
            if s != 1:
                raise shape_error("needs known spatial sizes for padding 'same' with stride > 1", x)
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append(same_padding(size, k, s, d))
    return pads


def torch_pad(pads: list[tuple[int, int]]) -> tuple[int, ...]:
    """Per-axis (before, after) pairs -> the flat, last-axis-first tuple ``F.pad`` takes."""
    return tuple(v for pair in reversed(pads) for v in pair)
