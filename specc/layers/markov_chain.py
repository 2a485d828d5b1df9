"""``markov_chain``: an n-gram model of the next token, a lookup of counted probabilities."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_validator

from ..types import TensorType
from .base import Example, LayerKind, Params, shape_error

INT64_MAX = 2**63 - 1


class MarkovChainParams(Params):
    order: int = Field(3, ge=2, le=16, description="n-gram order: the model reads the last "
                       "order - 1 tokens (order 3 = 2 tokens of context).")
    vocab: int = Field(gt=1, description="Vocabulary size: token ids run from 0 to vocab - 1; "
                       "must equal the training data's vocabulary.")
    alpha: float = Field(0.1, gt=0, allow_inf_nan=False, description="Add-alpha smoothing: every (context, next) "
                         "count gets alpha, so an unseen context gives the uniform distribution.")

    @model_validator(mode="after")
    def _fits_int64(self) -> MarkovChainParams:
        if self.vocab ** self.order > INT64_MAX:
            raise ValueError(f"vocab ** order must fit in 64 bits (the index of a (context, "
                             f"next) pair); {self.vocab} ** {self.order} does not")
        return self


class MarkovChain(LayerKind):
    """An n-gram Markov chain: the probabilities of the next token given the previous ones.

    ``order`` is the n-gram order, not the context length: an order-n chain reads the last
    n - 1 tokens (order 2 = bigram, one token of context; order 3 = two). Its table is not
    trained by gradients but counted by the ``counting`` regime: P(next | context) = (count +
    alpha) / (context count + alpha * vocab). Only contexts seen in training are stored (sorted
    context indices and one probability row each, non-trainable buffers whose size is set by
    the data), plus one uniform row that every unseen context gets, so the model always gives a
    distribution. The forward turns the context ids into one index (base-``vocab`` digits),
    finds it by a binary search unrolled over the stored contexts and gathers its row: plain
    integer ops and gathers, so it exports to ONNX.

    Args:
        order: n-gram order (>= 2; default 3). vocab: vocabulary size (token ids 0..vocab-1).
        alpha: add-alpha smoothing (> 0; default 0.1).

    Input shape: ``(batch, T)`` int64 token ids, a fixed T >= order - 1; the last order - 1
    ids are the context.
    Output shape: ``(batch, vocab)`` probabilities of the next token.

    Example:
        ``- markov_chain: {order: 3, vocab: 103}``
    """

    name = "markov_chain"
    aliases = ("ngram",)
    Params = MarkovChainParams
    category = "probabilistic"
    regimes: ClassVar[tuple[str, ...] | None] = ("counting",)
    examples = (
        Example("markov_chain: {order: 3, vocab: 20}", ((2,),), (20,), dtype="int64"),
        Example("markov_chain: {order: 2, vocab: 5}", ((4,),), (5,), dtype="int64"),
    )

    @classmethod
    def infer(cls, p: MarkovChainParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        if not x.dtype.startswith(("int", "uint")) or x.rank != 1:
            raise shape_error("expects a sequence of integer token ids per sample (int64, "
                              "shape [T])", x,
                              hint="declare the input as e.g. 'chars: {shape: [2], dtype: "
                              "int64}'")
        if x.shape[0] is None or x.shape[0] < p.order - 1:
            raise shape_error(f"an order-{p.order} chain reads the last {p.order - 1} tokens; "
                              f"the input has {x.shape[0] or 'a dynamic number of'}", x,
                              hint=f"give the input a fixed length of at least {p.order - 1}")
        return TensorType((p.vocab,), "float32", feature_axis=-1)

    @classmethod
    def count_params(cls, p: MarkovChainParams, inputs: list[TensorType]) -> tuple[int, int]:
        return (0, p.vocab)  # untrained: no stored context, the uniform row only

    @classmethod
    def build(cls, p: MarkovChainParams, inputs: list[TensorType]) -> Any:
        from ._markov_chain_torch import MarkovChainModule

        return MarkovChainModule(p.order, p.vocab, p.alpha)
