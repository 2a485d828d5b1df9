"""``transformer_encoder``: a stack of transformer encoder blocks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
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


class TransformerEncoderParams(Params):
    num_heads: int = NumHeads
    key_dim: int | None = KeyDim
    ffn_dim: int | None = Field(None, gt=0, description="Hidden size of the feed-forward "
                                "network; default 4 x features.")
    num_layers: int = Field(1, gt=0, description="Number of encoder blocks.")
    norm: Literal["pre", "post"] = Field(
        "pre", description="Layer norm before each sub-layer ('pre', stable) or after the "
        "residual sum ('post', the original transformer).")
    final_norm: bool | None = Field(None, description="Layer norm after the last block; "
                                    "default: true for 'pre', false for 'post'.")
    ffn_activation: Literal["relu", "gelu"] = Field("relu", description="Feed-forward "
                                                    "activation.")
    dropout: float = Dropout
    causal: bool = Causal
    use_bias: bool = UseBias
    layer_norm_eps: float = Field(1e-5, gt=0, description="Epsilon of the layer norms.")


class TransformerEncoder(LayerKind):
    """Transformer encoder blocks (self-attention, feed-forward); keeps the input's shape.

    Each of the two sub-layers is wrapped in a residual connection and a layer norm.

    Args:
        num_heads / key_dim / causal: as in ``multi_head_attention``. ffn_dim: feed-forward
        hidden size (default 4 x features). num_layers: blocks. norm: 'pre' or 'post'.
        final_norm: layer norm after the stack. ffn_activation: relu or gelu.
        dropout: on attention weights, sub-layer outputs and the feed-forward hidden layer.

    Input shape: ``(batch, time, features)``. Output shape: the same.

    Example:
        ``- transformer_encoder: {num_heads: 4, num_layers: 2, ffn_dim: 128}``
    """

    name = "transformer_encoder"
    aliases = ("TransformerEncoder",)
    category = "attention"
    Params = TransformerEncoderParams
    feature_axis = -1
    examples = (
        Example("transformer_encoder: {num_heads: 2}", ((5, 8),), (5, 8)),
        Example("transformer_encoder: {num_heads: 2, num_layers: 2, norm: post, ffn_dim: 16}",
                ((None, 8),), (None, 8)),
        Example("transformer_encoder: {num_heads: 3, key_dim: 5, causal: true, "
                "ffn_activation: gelu, dropout: 0.1}", ((None, 6),), (None, 6)),
    )

    @classmethod
    def infer(cls, p: TransformerEncoderParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        head_dim(sequence_features(x), p.num_heads, p.key_dim, x)
        return x.with_shape(x.shape, feature_axis=-1)

    @classmethod
    def _sizes(cls, p: TransformerEncoderParams, x: TensorType) -> tuple[int, int, int, bool]:
        features = sequence_features(x)
        dim = head_dim(features, p.num_heads, p.key_dim, x)
        final = p.norm == "pre" if p.final_norm is None else p.final_norm
        return features, dim, p.ffn_dim or 4 * features, final

    @classmethod
    def count_params(cls, p: TransformerEncoderParams, inputs: list[TensorType]) -> tuple[int, int]:
        features, dim, ffn, final = cls._sizes(p, inputs[0])
        bias = 1 if p.use_bias else 0
        block = (attention_params(features, p.num_heads, dim, p.use_bias)
                 + 2 * 2 * features  # two layer norms
                 + features * ffn + ffn * bias + ffn * features + features * bias)
        return (p.num_layers * block + (2 * features if final else 0), 0)

    @classmethod
    def build(cls, p: TransformerEncoderParams, inputs: list[TensorType]) -> Any:
        from torch import nn

        from ._torch import EncoderBlock, encoder

        features, dim, ffn, final = cls._sizes(p, inputs[0])
        blocks = [EncoderBlock(features, p.num_heads, dim, ffn, p.dropout, p.ffn_activation,
                               p.norm == "pre", p.causal, p.layer_norm_eps, p.use_bias)
                  for _ in range(p.num_layers)]
        return encoder(blocks, nn.LayerNorm(features, eps=p.layer_norm_eps) if final else None)
