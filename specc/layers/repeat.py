"""``repeat_over_time``: a vector broadcast along the time axis of a sequence (an image code fed
to a caption decoder at every step)."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..types import TensorType
from .base import Example, LayerKind, NoParams, expect_features, shape_error


@cache
def _repeat_module() -> type:
    import torch
    from torch import nn

    class RepeatOverTime(nn.Module):
        """(B, F) and (B, T, ...) -> (B, T, F): the vector at each of the sequence's steps."""

        def forward(self, x: torch.Tensor, seq: torch.Tensor) -> torch.Tensor:
            return x.unsqueeze(1).expand(-1, seq.shape[1], -1)

    return RepeatOverTime


class RepeatOverTime(LayerKind):
    """Repeats a vector at every time step of a second input (the steps come from it).

    Takes two inputs named by ``in:``: the vector to repeat (e.g. an image code) and the
    sequence whose time axis sets the number of steps (e.g. embedded words, or token ids:
    only its length is read). Concatenate the result with the sequence to condition a
    recurrent decoder on the vector at every step.

    Input shape: ``(batch, F)`` and ``(batch, T, ...)`` (T may be dynamic).
    Output shape: ``(batch, T, F)``.

    Example:
        ``- repeat_over_time: {in: [code, words]}``
    """

    name = "repeat_over_time"
    aliases = ("RepeatOverTime",)
    Params = NoParams
    min_inputs = 2
    max_inputs = 2
    category = "merge"
    examples = (
        Example("repeat_over_time", ((6,), (4, 3)), (4, 6)),
        Example("repeat_over_time", ((5,), (None, 2)), (None, 5)),
    )

    @classmethod
    def infer(cls, p: NoParams, inputs: list[TensorType]) -> TensorType:
        vec, seq = inputs
        if vec.rank != 1:
            raise shape_error("expects a vector (F,) per sample as its first input", inputs)
        features = expect_features(vec)
        if seq.rank < 1:
            raise shape_error("expects a sequence (T, ...) per sample as its second input",
                              inputs)
        return TensorType((seq.shape[0], features), vec.dtype, feature_axis=-1)

    @classmethod
    def build(cls, p: NoParams, inputs: list[TensorType]) -> Any:
        return _repeat_module()()
