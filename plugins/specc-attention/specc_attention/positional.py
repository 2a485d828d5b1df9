"""``positional_encoding``: adds sinusoidal or learned position vectors to a sequence."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator
from specc.layers.base import Example, LayerKind, Params, shape_error
from specc.types import TensorType

from ._common import Dropout, sequence_features


class PositionalEncodingParams(Params):
    mode: Literal["sinusoidal", "learned"] = Field(
        "sinusoidal", description="'sinusoidal' (fixed, any length) or 'learned' (one vector "
        "per position up to max_len).")
    max_len: int | None = Field(None, gt=0, description="Longest sequence; required for "
                                "'learned', optional for 'sinusoidal'.")
    dropout: float = Dropout

    @model_validator(mode="after")
    def _learned_needs_max_len(self) -> PositionalEncodingParams:
        if self.mode == "learned" and self.max_len is None:
            raise ValueError("mode 'learned' needs max_len (the longest sequence)")
        return self


class PositionalEncoding(LayerKind):
    """Adds a position vector to every step of a sequence; the shape is unchanged.

    ``sinusoidal`` uses the fixed sine/cosine table of "Attention Is All You Need" (no weights,
    any length); ``learned`` learns one vector per position up to ``max_len``.

    Args:
        mode: 'sinusoidal' or 'learned'. max_len: longest sequence (required for 'learned').
        dropout: dropout on the sum (training only).

    Input shape: ``(batch, time, features)``. Output shape: the same.

    Example:
        ``- positional_encoding: {mode: learned, max_len: 64}``
    """

    name = "positional_encoding"
    aliases = ("PositionalEncoding",)
    category = "attention"
    Params = PositionalEncodingParams
    feature_axis = -1
    examples = (
        Example("positional_encoding", ((5, 8),), (5, 8)),
        Example("positional_encoding", ((None, 7),), (None, 7)),
        Example("positional_encoding: {mode: learned, max_len: 64}", ((None, 6),), (None, 6)),
        Example("positional_encoding: {mode: learned, max_len: 8, dropout: 0.1}", ((8, 4),),
                (8, 4)),
    )

    @classmethod
    def infer(cls, p: PositionalEncodingParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        sequence_features(x)
        steps = x.shape[0]
        if p.max_len is not None and steps is not None and steps > p.max_len:
            raise shape_error(f"sequence is longer than max_len={p.max_len}", x,
                              hint="raise max_len")
        return x.with_shape(x.shape, feature_axis=-1)

    @classmethod
    def count_params(cls, p: PositionalEncodingParams, inputs: list[TensorType]) -> tuple[int, int]:
        features = sequence_features(inputs[0])
        return (p.max_len * features if p.mode == "learned" else 0, 0)  # type: ignore[operator]

    @classmethod
    def build(cls, p: PositionalEncodingParams, inputs: list[TensorType]) -> Any:
        from ._torch import PositionalEncoding as Module

        learned = p.max_len if p.mode == "learned" else None
        return Module(sequence_features(inputs[0]), learned, p.dropout)
