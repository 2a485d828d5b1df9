"""``hopfield``: a Hopfield network of +-1 units recalled by a fixed number of synchronous steps.

The inference form is ``steps`` synchronous updates from the input, unrolled (so it exports as
plain ONNX ``MatMul``/``Where`` nodes): the input is first read as states (``x >= 0`` -> +1,
else -1), then each step sets every unit at once to the sign of its field ``h = W s``; a unit
whose field is exactly 0 keeps its previous state (a tie never moves a unit, so a stored
pattern stays put however the sum is ordered). Synchronous updates can end in a 2-cycle; the
output is the state after the last step.

The weights are a symmetric buffer with a zero diagonal, set by a regime (``hebbian``). They
are kept integer-valued: every partial sum of ``W s`` is then an integer below 2^24, exact in
float32 in any summation order, so onnxruntime recalls every probe exactly as torch does
(with ``W / N`` weights 831 of 1280 probes came out differently). Before training they are a
random symmetric matrix of -1/0/+1 (a random network, from the builder's seed).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params, expect_features, shape_error

if TYPE_CHECKING:
    import torch


class HopfieldParams(Params):
    units: int = Field(gt=0, description="Number of +-1 units (input and output features).")
    steps: int = Field(10, ge=1, le=1000, description="Synchronous update steps at inference.")


@cache
def _module() -> type:
    import torch
    from torch import nn

    class HopfieldModule(nn.Module):
        """``s <- sign(W s)`` for ``steps`` steps (a zero field keeps the state)."""

        def __init__(self, units: int, steps: int) -> None:
            super().__init__()
            self.steps = steps
            w = torch.randint(-1, 2, (units, units)).float().triu(1)
            self.register_buffer("weight", w + w.T)

        def states(self, x: torch.Tensor) -> torch.Tensor:
            """The input read as +-1 states (``x >= 0``: +1)."""
            return (x >= 0).to(x.dtype) * 2 - 1

        def step(self, s: torch.Tensor) -> torch.Tensor:
            """One synchronous update of every unit."""
            h = s @ self.weight  # W is symmetric: row i of s W is (W s)_i
            return torch.where(h == 0, s, torch.sign(h))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s = self.states(x)
            for _ in range(self.steps):
                s = self.step(s)
            return s

        def energy(self, s: torch.Tensor) -> torch.Tensor:
            """``E = -1/2 s^T W s`` per sample (in the units of the stored weights)."""
            return -0.5 * ((s @ self.weight) * s).sum(-1)

    return HopfieldModule


class Hopfield(LayerKind):
    """Hopfield network: +-1 units recalled by synchronous updates ``s <- sign(W s)``.

    Args:
        units: number of units (must equal the input's features). steps: synchronous
        updates at inference (10); a unit whose field is 0 keeps its state.

    Input shape: ``(batch, units)`` float, read as states (``>= 0``: +1, else -1).
    Output shape: ``(batch, units)``: the +-1 state after ``steps`` updates.
    Parameters: none trainable; the ``units x units`` weight buffer (symmetric, zero
    diagonal, integer-valued for exact ONNX parity), set by the ``hebbian`` regime. The
    module's ``energy(s)`` gives ``-1/2 s^T W s`` per sample.

    Example:
        ``- hopfield: {units: 32, steps: 3}``
    """

    name = "hopfield"
    Params = HopfieldParams
    category = "energy"
    regimes = ("hebbian",)
    feature_axis = -1
    fuses_activation = False
    examples = (
        Example("hopfield: {units: 6}", ((6,),), (6,)),
        Example("hopfield: {units: 32, steps: 3}", ((32,),), (32,)),
    )

    @classmethod
    def infer(cls, p: HopfieldParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        if x.rank != 1:
            raise shape_error("expects one feature axis per sample (batch, units)", x)
        features = expect_features(x)
        if features != p.units:
            raise shape_error(f"has {p.units} units but its input has {features} features", x,
                              hint=f"units: {features}")
        return TensorType((p.units,), x.dtype, feature_axis=-1)

    @classmethod
    def count_params(cls, p: HopfieldParams, inputs: list[TensorType]) -> tuple[int, int]:
        return (0, p.units * p.units)

    @classmethod
    def build(cls, p: HopfieldParams, inputs: list[TensorType]) -> Any:
        return _module()(p.units, p.steps)

    @classmethod
    def draw(cls, p: HopfieldParams, module: torch.nn.Module, ctx: Any) -> Any:
        """Held-out probes, their recall and the bits it changed as images (white +1, black
        -1), with the mean energy before and after (``specc sample``)."""
        import numpy as np
        import torch

        if ctx.what not in (None, "recall"):
            ctx.refuse(("recall",))
        probes = ctx.arriving()[: ctx.n or 8]
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(probes)).to(module.weight)
            s0, s = module.states(x), module(x)
            e0, e1 = module.energy(s0), module.energy(s)
        shape = _picture_shape(p.units)
        rows = [(f"held-out probes (mean energy {float(e0.mean()):.4g})", s0),
                (f"recalled after {p.steps} steps (mean energy {float(e1.mean()):.4g})", s),
                ("bits the recall changed (white)", torch.where(s != s0, 1.0, -1.0))]
        return ctx.save_grid([(label, ((v.cpu().numpy() + 1) / 2).reshape((-1, 1) + shape))
                              for label, v in rows], "Hopfield recall")


def _picture_shape(units: int) -> tuple[int, int]:
    """(height, width) with height the largest divisor of ``units`` up to its square root."""
    import math

    h = max(d for d in range(1, math.isqrt(units) + 1) if units % d == 0)
    return (h, units // h)
