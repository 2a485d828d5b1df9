"""``multi_head_attention``: multi-head self-attention over a sequence."""

from __future__ import annotations

from typing import Any

from specc.layers.base import Example, LayerKind, Params
from specc.types import TensorType

from ._common import (
    Causal,
    Dropout,
    KeyDim,
    NumHeads,
    UseBias,
    attention_params,
    head_dim,
    sequence_features,
)


class MultiHeadAttentionParams(Params):
    num_heads: int = NumHeads
    key_dim: int | None = KeyDim
    dropout: float = Dropout
    causal: bool = Causal
    use_bias: bool = UseBias


class MultiHeadAttention(LayerKind):
    """Multi-head scaled dot-product self-attention; the output has the input's shape.

    Queries, keys and values are projections of the input to ``num_heads`` heads of size
    ``key_dim``; the heads are concatenated and projected back to the input's features.

    Args:
        num_heads: attention heads. key_dim: size per head (default features / num_heads).
        dropout: dropout on the attention weights. causal: step t sees only steps <= t.
        use_bias: biases in the projections.

    Input shape: ``(batch, time, features)``, time may be dynamic.
    Output shape: ``(batch, time, features)``.

    Example:
        ``- multi_head_attention: {num_heads: 4, causal: true}``
    """

    name = "multi_head_attention"
    aliases = ("MultiHeadAttention",)
    category = "attention"
    Params = MultiHeadAttentionParams
    feature_axis = -1
    examples = (
        Example("multi_head_attention: {num_heads: 2}", ((5, 8),), (5, 8)),
        Example("multi_head_attention: {num_heads: 3, key_dim: 4, causal: true}",
                ((None, 6),), (None, 6)),
        Example("multi_head_attention: {num_heads: 1, use_bias: false, dropout: 0.1}",
                ((None, 4),), (None, 4)),
    )

    @classmethod
    def infer(cls, p: MultiHeadAttentionParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        head_dim(sequence_features(x), p.num_heads, p.key_dim, x)
        return x.with_shape(x.shape, feature_axis=-1)

    @classmethod
    def count_params(cls, p: MultiHeadAttentionParams, inputs: list[TensorType]) -> tuple[int, int]:
        x = inputs[0]
        features = sequence_features(x)
        dim = head_dim(features, p.num_heads, p.key_dim, x)
        return (attention_params(features, p.num_heads, dim, p.use_bias), 0)

    @classmethod
    def build(cls, p: MultiHeadAttentionParams, inputs: list[TensorType]) -> Any:
        from ._torch import SelfAttention

        x = inputs[0]
        features = sequence_features(x)
        dim = head_dim(features, p.num_heads, p.key_dim, x)
        return SelfAttention(features, p.num_heads, dim, p.dropout, p.causal, p.use_bias)
