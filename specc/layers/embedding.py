"""``embedding``: look up a learned vector for each integer token id."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..types import TensorType
from .base import Example, Initializer, LayerKind, Params, shape_error


class EmbeddingParams(Params):
    input_dim: int = Field(gt=0, description="Vocabulary size: ids run from 0 to input_dim - 1.")
    output_dim: int = Field(gt=0, description="Size of each embedding vector.")
    embeddings_initializer: Initializer = Field(
        "uniform", description="Initialiser of the table (Keras default: uniform in +-0.05).")


class Embedding(LayerKind):
    """Maps integer token ids to learned dense vectors (one table row per id).

    Args:
        input_dim: vocabulary size. output_dim: vector size.
        embeddings_initializer: Keras initialiser name (default uniform +-0.05).

    Input shape: ``(batch, ...)`` of int64 ids in [0, input_dim), usually ``(batch, T)``.
    Output shape: ``(batch, ..., output_dim)``.

    Example:
        ``- embedding: {input_dim: 1000, output_dim: 64}``
    """

    name = "embedding"
    aliases = ("Embedding",)
    Params = EmbeddingParams
    examples = (
        Example("embedding: {input_dim: 50, output_dim: 8}", ((12,),), (12, 8), dtype="int64"),
        Example("embedding: {input_dim: 50, output_dim: 4}", ((None,),), (None, 4),
                dtype="int64"),
    )

    @classmethod
    def infer(cls, p: EmbeddingParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        if not x.dtype.startswith(("int", "uint")):
            raise shape_error(
                "expects integer token ids (int64)", x,
                hint="declare the input with an integer dtype, e.g. "
                "'tokens: {shape: [20], dtype: int64}'; float features go to 'dense' instead")
        return TensorType(x.shape + (p.output_dim,), "float32", feature_axis=-1)

    @classmethod
    def count_params(cls, p: EmbeddingParams, inputs: list[TensorType]) -> tuple[int, int]:
        return (p.input_dim * p.output_dim, 0)

    @classmethod
    def build(cls, p: EmbeddingParams, inputs: list[TensorType]) -> Any:
        from torch import nn

        from .initializers import apply_init

        m = nn.Embedding(p.input_dim, p.output_dim)
        apply_init(m.weight, p.embeddings_initializer)
        return m
