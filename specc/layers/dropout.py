"""``dropout``: randomly zero inputs during training (inverted dropout)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params


class DropoutParams(Params):
    rate: float = Field(ge=0.0, lt=1.0, description="Fraction of inputs zeroed in training.")


class Dropout(LayerKind):
    """Zeroes each input with probability ``rate`` in training; identity at inference.

    In training the kept inputs are scaled by ``1 / (1 - rate)``.

    Args:
        rate: drop probability in [0, 1).

    Input shape: any. Output shape: same as input.

    Example:
        ``- dropout: {rate: 0.5}``
    """

    name = "dropout"
    aliases = ("Dropout",)
    Params = DropoutParams
    category = "regularization"
    examples = (
        Example("dropout: {rate: 0.5}", ((10,),), (10,)),
        Example("dropout: {rate: 0.2}", ((3, 4, 4),), (3, 4, 4)),
    )

    @classmethod
    def infer(cls, p: DropoutParams, inputs: list[TensorType]) -> TensorType:
        return inputs[0]

    @classmethod
    def build(cls, p: DropoutParams, inputs: list[TensorType]) -> Any:
        from torch import nn

        return nn.Dropout(p.rate)
