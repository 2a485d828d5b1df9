"""Shape helpers and parameters shared by the attention kinds (pure Python, no torch)."""

from __future__ import annotations

from pydantic import Field
from specc.layers.base import expect_float, expect_known, expect_rank, shape_error
from specc.types import TensorType


def sequence_features(x: TensorType) -> int:
    """The feature size of a ``(time, features)`` sequence; time may be dynamic."""
    expect_rank(x, 2, "(time, features)")
    expect_float(x)
    return expect_known(x, -1, "feature (last) axis")


def head_dim(features: int, num_heads: int, key_dim: int | None, x: TensorType) -> int:
    """Per-head size: ``key_dim``, or the features split evenly over the heads."""
    if key_dim is not None:
        return key_dim
    if features % num_heads:
        raise shape_error(f"needs features divisible by num_heads={num_heads} when key_dim is "
                          "not set", x, hint="set key_dim, or change num_heads")
    return features // num_heads


def attention_params(features: int, num_heads: int, dim: int, bias: bool) -> int:
    """Weights of query, key, value and output projections."""
    inner = num_heads * dim
    return 3 * (features * inner + (inner if bias else 0)) + inner * features + \
        (features if bias else 0)


NumHeads = Field(gt=0, description="Number of attention heads.")
KeyDim = Field(None, gt=0, description="Size of each head's queries, keys and values; "
               "default: features / num_heads.")
Dropout = Field(0.0, ge=0.0, lt=1.0, description="Dropout rate (training only).")
Causal = Field(False, description="Mask future steps: step t attends to steps <= t.")
UseBias = Field(True, description="Learn biases in the projections.")
