"""``bidirectional``: run a recurrent layer forwards and backwards and merge the two."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator

from ..types import TensorType
from .base import Example, LayerKind, Params
from .recurrent import (
    GRUParams,
    LSTMParams,
    RecurrentParams,
    SimpleRNNParams,
    build_recurrent,
    cell_of,
    check_sequence,
    recurrent_count,
    recurrent_type,
)


class RecurrentLayer(Params):
    """Exactly one recurrent kind with its parameters, e.g. ``{gru: {units: 32}}``."""

    simple_rnn: SimpleRNNParams | None = Field(
        None, validation_alias=AliasChoices("simple_rnn", "SimpleRNN"), description="A simple_rnn.")
    lstm: LSTMParams | None = Field(
        None, validation_alias=AliasChoices("lstm", "LSTM"), description="An lstm.")
    gru: GRUParams | None = Field(
        None, validation_alias=AliasChoices("gru", "GRU"), description="A gru.")

    @model_validator(mode="after")
    def _exactly_one(self) -> RecurrentLayer:
        given = [k for k in ("simple_rnn", "lstm", "gru") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("needs exactly one of simple_rnn, lstm or gru, e.g. "
                             f"{{gru: {{units: 32}}}} (received {given or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("simple_rnn", "lstm", "gru") if getattr(self, k) is not None)

    @property
    def params(self) -> RecurrentParams:
        return getattr(self, self.kind)


class BidirectionalParams(Params):
    layer: RecurrentLayer = Field(description="The wrapped layer: {simple_rnn|lstm|gru: {...}}.")
    merge_mode: Literal["concat", "sum", "mul", "ave"] = Field(
        "concat", description="How the forward and backward outputs combine.")


class Bidirectional(LayerKind):
    """Runs a recurrent layer forwards and backwards over a sequence and merges the outputs.

    The backward direction has its own weights.

    With ``return_sequences`` the backward outputs are re-aligned to the input's time order;
    without, the backward "last" output is its final state, at the sequence's start.

    Args:
        layer: the wrapped ``simple_rnn``, ``lstm`` or ``gru`` with its parameters.
        merge_mode: concat (default; 2 * units features), sum, mul or ave.

    Input shape: ``(batch, time, features)``. Output shape: ``(batch, [time,] 2 * units)`` for
    concat, ``units`` features otherwise.

    Example:
        ``- bidirectional: {layer: {gru: {units: 32, return_sequences: true}}}``
    """

    name = "bidirectional"
    aliases = ("Bidirectional",)
    Params = BidirectionalParams
    category = "recurrent"
    feature_axis = -1
    examples = (
        Example("bidirectional: {layer: {gru: {units: 4}}}", ((6, 3),), (8,)),
        Example("bidirectional: {layer: {lstm: {units: 4, return_sequences: true}}, "
                "merge_mode: sum}", ((None, 3),), (None, 4)),
        Example("bidirectional: {layer: {simple_rnn: {units: 3, num_layers: 2}}, "
                "merge_mode: ave}", ((5, 2),), (3,)),
    )

    @classmethod
    def infer(cls, p: BidirectionalParams, inputs: list[TensorType]) -> TensorType:
        inner = p.layer.params
        check_sequence(inputs[0])
        units = inner.units * (2 if p.merge_mode == "concat" else 1)
        return recurrent_type(inputs[0], inner, units)

    @classmethod
    def count_params(cls, p: BidirectionalParams, inputs: list[TensorType]) -> tuple[int, int]:
        cell = cell_of(p.layer.kind, p.layer.params)
        return (recurrent_count(cell, p.layer.params, inputs[0].shape[-1] or 0, 2), 0)

    @classmethod
    def build(cls, p: BidirectionalParams, inputs: list[TensorType]) -> Any:
        cell = cell_of(p.layer.kind, p.layer.params)
        return build_recurrent(cell, p.layer.params, check_sequence(inputs[0]),
                               bidirectional=True, merge_mode=p.merge_mode)
