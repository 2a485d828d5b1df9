"""``activation``: element-wise activation functions, standalone or fused into other layers."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..registry import current
from ..types import TensorType
from .base import ActivationName, Example, LayerKind, Params


def make_activation(name: str, axis: int = -1, negative_slope: float = 0.3) -> Any:
    """A torch module computing activation ``name`` (a registry entry); ``axis`` is the softmax
    axis (batched); ``negative_slope`` goes to functions that take it (leaky_relu)."""
    entry = current().activations.get(name)
    params = {"negative_slope": negative_slope} if "negative_slope" in entry.Params.model_fields \
        else {}
    return entry.build(entry.Params(**params), axis)


class ActivationParams(Params):
    function: ActivationName = Field(description="Activation function name.")
    axis: int | None = Field(
        None, description="Softmax axis per sample (0 = first axis after batch); default: the "
        "input's feature axis (channels for conv maps, last axis otherwise).")
    negative_slope: float = Field(0.3, ge=0, description="Slope of leaky_relu for x < 0.")


class Activation(LayerKind):
    """Applies an activation function element-wise (softmax along the feature axis).

    Args:
        function: relu, leaky_relu, elu, selu, gelu, sigmoid, hard_sigmoid, tanh, softmax,
            log_softmax, softplus, softsign, swish/silu, step, relu6 or linear.
        axis: softmax axis per sample; negative_slope: leaky_relu slope (Keras default 0.3).

    Input shape: any. Output shape: same as input.

    Example:
        ``- activation: {function: relu}``
    """

    name = "activation"
    aliases = ("Activation",)
    Params = ActivationParams
    category = "activation"
    examples = (
        Example("activation: {function: tanh}", ((3, 4, 4),), (3, 4, 4)),
        Example("activation: {function: softmax}", ((10,),), (10,)),
        Example("activation: {function: step}", ((6,),), (6,)),
    )

    @classmethod
    def infer(cls, p: ActivationParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        if p.axis is not None and not -x.rank <= p.axis < x.rank:
            from .base import shape_error

            raise shape_error(f"axis {p.axis} is out of range for a rank-{x.rank} input", x)
        return x

    @classmethod
    def build(cls, p: ActivationParams, inputs: list[TensorType]) -> Any:
        x = inputs[0]
        axis = x.feature_axis if p.axis is None else p.axis
        return make_activation(p.function, batched_axis(axis), p.negative_slope)


def batched_axis(axis: int) -> int:
    """Per-sample axis -> axis of the batched tensor."""
    return axis if axis < 0 else axis + 1


def _shortcut(function: str) -> type[LayerKind]:
    """A kind named after the function itself (``- relu``), as Keras offers ``ReLU()``."""

    class Shortcut(Activation):
        __doc__ = f"""Shortcut for ``activation: {{function: {function}}}``.

        Input shape: any. Output shape: same as input.

        Example:
            ``- {function}``
        """
        name = function
        aliases = ()
        examples = (Example(function, ((5,),), (5,)),)

        class Params(Params):  # type: ignore[no-redef]
            axis: int | None = None
            negative_slope: float = Field(0.3, ge=0)

        @classmethod
        def build(cls, p: Any, inputs: list[TensorType]) -> Any:
            axis = inputs[0].feature_axis if p.axis is None else p.axis
            return make_activation(function, batched_axis(axis), p.negative_slope)

        @classmethod
        def infer(cls, p: Any, inputs: list[TensorType]) -> TensorType:
            return inputs[0]

    Shortcut.__name__ = Shortcut.__qualname__ = function.title().replace("_", "")
    return Shortcut


ReLU = _shortcut("relu")
ReLU.aliases = ("ReLU",)
LeakyReLU = _shortcut("leaky_relu")
LeakyReLU.aliases = ("LeakyReLU",)
Softmax = _shortcut("softmax")
Softmax.aliases = ("Softmax",)
Sigmoid = _shortcut("sigmoid")
Tanh = _shortcut("tanh")
