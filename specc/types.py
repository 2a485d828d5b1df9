"""Tensor types used by shape inference: per-sample shape (batch implicit) and dtype."""

from __future__ import annotations

from dataclasses import dataclass

FLOAT = "float32"
INT = "int64"
DTYPES = (FLOAT, INT, "float16", "bfloat16", "float64", "bool")


@dataclass(frozen=True)
class TensorType:
    """The type of one tensor, without the batch axis.

    ``shape`` holds ints, or None for a dynamic axis (e.g. sequence length). ``feature_axis`` is
    the per-sample axis holding features/channels: 0 for channels-first conv tensors (C, H, W),
    -1 for vectors and sequences (T, F). Softmax and normalisation default to it.
    """

    shape: tuple[int | None, ...]
    dtype: str = FLOAT
    feature_axis: int = -1

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def features(self) -> int | None:
        return self.shape[self.feature_axis] if self.shape else None

    def numel(self) -> int | None:
        n = 1
        for d in self.shape:
            if d is None:
                return None
            n *= d
        return n

    def with_shape(self, shape: tuple[int | None, ...], feature_axis: int | None = None) -> TensorType:
        return TensorType(tuple(shape), self.dtype, self.feature_axis if feature_axis is None else feature_axis)

    def __str__(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        text = f"(None, {dims})" if dims else "(None,)"
        return text if self.dtype == FLOAT else f"{text} {self.dtype}"


def fmt_shape(shape: tuple[int | None, ...]) -> str:
    dims = ["?" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
