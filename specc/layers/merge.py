"""Merge kinds: element-wise ``add``, ``subtract``, ``multiply``, ``average``, ``maximum``,
``minimum``, and ``concat`` along an axis. Each takes two or more inputs (``subtract`` exactly
two) and returns one tensor."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from pydantic import Field

from ..errors import SpecError
from ..registry import abstract
from ..types import TensorType
from .base import ActivationName, Example, LayerKind, NoParams, Params, shape_error


class FusedParams(Params):
    activation: ActivationName | None = Field(None, description="Fused activation.")


class ConcatParams(Params):
    axis: int | None = Field(
        None, description="Per-sample axis to join along (0 = first axis after batch; negative "
        "counts from the end); default: the inputs' feature axis (channels for conv maps, last "
        "axis otherwise).")


def _mismatch(expected: str, inputs: list[TensorType]) -> SpecError:
    """A shape error listing every input's shape in order (the list is never truncated)."""
    return shape_error(expected, inputs)


def _check_dtypes(inputs: list[TensorType]) -> None:
    if len({t.dtype for t in inputs}) > 1:
        raise shape_error("expects all inputs to have the same dtype",
                          ", ".join(t.dtype for t in inputs))


def _agrees(shape: list[int | None], t: TensorType, skip: int | None = None) -> bool:
    """Whether ``t`` has ``shape`` (a dynamic size agrees with any), axis ``skip`` excepted."""
    return len(shape) == t.rank and all(
        i == skip or a is None or b is None or a == b
        for i, (a, b) in enumerate(zip(shape, t.shape, strict=True)))


@cache
def _merge_module() -> type:
    import torch
    from torch import nn

    class Merge(nn.Module):
        """Folds its inputs with an element-wise op, or concatenates them along ``dim``."""

        def __init__(self, op: str, dim: int = -1) -> None:
            super().__init__()
            self.op, self.dim = op, dim

        def forward(self, *xs: torch.Tensor) -> torch.Tensor:
            if self.op == "concat":
                return torch.cat(xs, dim=self.dim)
            if self.op == "subtract":
                return xs[0] - xs[1]
            out = xs[0]
            for x in xs[1:]:
                if self.op in ("add", "average"):
                    out = out + x
                elif self.op == "multiply":
                    out = out * x
                elif self.op == "maximum":
                    out = torch.maximum(out, x)
                else:
                    out = torch.minimum(out, x)
            return out / len(xs) if self.op == "average" else out

    return Merge


@abstract
class _ElementWise(LayerKind):
    op: ClassVar[str]
    min_inputs = 2
    max_inputs = None
    category = "merge"

    @classmethod
    def infer(cls, p: Any, inputs: list[TensorType]) -> TensorType:
        _check_dtypes(inputs)
        first = inputs[0]
        shape = list(first.shape)
        for t in inputs[1:]:
            if not _agrees(shape, t):
                raise _mismatch("expects all inputs to have the same shape", inputs)
            shape = [b if a is None else a for a, b in zip(shape, t.shape, strict=True)]
        return TensorType(tuple(shape), first.dtype, first.feature_axis)

    @classmethod
    def build(cls, p: Any, inputs: list[TensorType]) -> Any:
        return _merge_module()(cls.op)


def _elementwise_kind(op: str, aliases: tuple[str, ...], summary: str, fused: bool,
                      n_inputs: int | None = None) -> type[LayerKind]:
    count = "exactly two" if n_inputs == 2 else "two or more"
    example = (f"``- {op}: {{in: [a, b], activation: relu}}``" if fused
               else f"``- {op}: {{in: [a, b]}}``")
    args = "activation: fused activation applied to the result." if fused else "none."

    class Kind(_ElementWise):
        __doc__ = f"""{summary}

        Takes {count} inputs of one shape, named by ``in:`` (``a`` and ``b`` are earlier
        layers' ``name:`` s or inputs; in the sequential form ``in:`` replaces the previous
        layer's output). Graph form: ``{{op: {op}, in: [a, b]}}``.

        Args:
            {args}

        Input shape: {count} tensors of the same shape. Output shape: that shape.

        Example:
            {example}
        """

    Kind.name, Kind.op, Kind.aliases = op, op, aliases
    Kind.Params = FusedParams if fused else NoParams
    if n_inputs is not None:
        Kind.max_inputs = n_inputs
    layer = f"{op}: {{activation: relu}}" if fused else op
    Kind.examples = (
        Example(layer, ((6,), (6,)), (6,)),
        Example(op, ((2, 3, 3),) * (n_inputs or 3), (2, 3, 3)),
    )
    Kind.__name__ = Kind.__qualname__ = op.title()
    return Kind


Add = _elementwise_kind("add", ("Add",), "Adds its inputs element-wise (residual connections).",
                        fused=True)
Subtract = _elementwise_kind("subtract", ("Subtract",),
                             "Subtracts the second input from the first, element-wise.",
                             fused=False, n_inputs=2)
Multiply = _elementwise_kind("multiply", ("Multiply",),
                             "Multiplies its inputs element-wise (gating).", fused=True)
Average = _elementwise_kind("average", ("Average",), "Averages its inputs element-wise.",
                            fused=False)
Maximum = _elementwise_kind("maximum", ("Maximum",),
                            "Takes the element-wise maximum of its inputs.", fused=False)
Minimum = _elementwise_kind("minimum", ("Minimum",),
                            "Takes the element-wise minimum of its inputs.", fused=False)


class Concat(LayerKind):
    """Concatenates its inputs along one axis; all other sizes must agree.

    Args:
        axis: per-sample axis (0 = first after batch, negative from the end); default: the
            feature axis (channels for conv maps, the last axis otherwise).

    Input shape: two or more tensors of one rank, named by ``in:`` (earlier layers' ``name:`` s
    or inputs; in the sequential form ``in:`` replaces the previous layer's output; graph form:
    ``{op: concat, in: [a, b]}``). Output shape: the common shape with the axis sizes summed.

    Example:
        ``- concat: {in: [left, right], axis: -1}``
    """

    name = "concat"
    aliases = ("Concatenate", "concatenate")
    Params = ConcatParams
    min_inputs = 2
    max_inputs = None
    category = "merge"
    examples = (
        Example("concat", ((4,), (6,)), (10,)),
        Example("concat", ((5, 3), (5, 2), (5, 1)), (5, 6)),
        Example("concat: {axis: 0}", ((2, 4), (3, 4)), (5, 4)),
    )

    @classmethod
    def axis(cls, p: ConcatParams, inputs: list[TensorType]) -> int:
        """The per-sample axis joined along, as a non-negative index."""
        first = inputs[0]
        axis = first.feature_axis if p.axis is None else p.axis
        if not -first.rank <= axis < first.rank:
            raise shape_error(f"axis {axis} is out of range for rank-{first.rank} inputs", first)
        return axis % first.rank

    @classmethod
    def infer(cls, p: ConcatParams, inputs: list[TensorType]) -> TensorType:
        _check_dtypes(inputs)
        first = inputs[0]
        if first.rank == 0:
            raise shape_error("expects inputs with at least one axis", first)
        axis = cls.axis(p, inputs)
        shape = list(first.shape)
        for t in inputs[1:]:
            if not _agrees(shape, t, skip=axis):
                raise _mismatch(f"expects inputs whose sizes agree except on axis {axis}", inputs)
            joined = (shape[axis], t.shape[axis])
            shape = [b if a is None else a for a, b in zip(shape, t.shape, strict=True)]
            shape[axis] = None if None in joined else joined[0] + joined[1]
        return TensorType(tuple(shape), first.dtype, first.feature_axis)

    @classmethod
    def build(cls, p: ConcatParams, inputs: list[TensorType]) -> Any:
        return _merge_module()("concat", cls.axis(p, inputs) + 1)
