"""``activity_sparsity``: the sparse-autoencoder penalty on mean hidden activations."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params, expect_features


class ActivitySparsityParams(Params):
    target: float = Field(0.05, gt=0.0, lt=1.0,
                          description="Desired mean activation rho of each unit, in (0, 1).")
    weight: float = Field(1.0, ge=0.0, description="Weight beta of the penalty in the loss.")


@cache
def _sparsity_module() -> type:
    import torch
    from torch import nn

    class ActivitySparsity(nn.Module):
        """Identity; sets ``aux_loss = weight * sum_j KL(target || mean activation of j)``."""

        def __init__(self, target: float, weight: float, axis: int) -> None:
            super().__init__()
            self.target, self.weight, self.axis = target, weight, axis
            self.aux_loss: torch.Tensor | None = None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            units = x.movedim(self.axis, -1)
            rho_hat = units.reshape(-1, units.shape[-1]).mean(dim=0).clamp(1e-6, 1 - 1e-6)
            rho = self.target
            kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
            self.aux_loss = self.weight * kl.sum()
            return x

    return ActivitySparsity


class ActivitySparsity(LayerKind):
    """Passes its input through unchanged and adds the sparse-autoencoder penalty to the loss.

    The penalty is ``weight * sum_j KL(target || rho_j)``, rho_j being unit j's mean activation
    over the batch (and over time/positions for sequences and maps).

    The KL is only defined for activations in (0, 1): place it after a ``sigmoid``. The
    penalty is set on every forward, so validation reports it too.

    Args:
        target: desired mean activation rho in (0, 1) (default 0.05).
        weight: penalty weight beta (default 1).

    Input shape: any float; units on its feature axis. Output shape: same as input.

    Example:
        ``- activity_sparsity: {target: 0.05, weight: 3.0}``
    """

    name = "activity_sparsity"
    aliases = ("ActivitySparsity",)
    Params = ActivitySparsityParams
    category = "regularization"
    examples = (
        Example("activity_sparsity", ((16,),), (16,)),
        Example("activity_sparsity: {target: 0.1, weight: 2.0}", ((5, 6),), (5, 6)),
    )

    @classmethod
    def infer(cls, p: ActivitySparsityParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        expect_features(x)
        return x

    @classmethod
    def build(cls, p: ActivitySparsityParams, inputs: list[TensorType]) -> Any:
        x = inputs[0]
        return _sparsity_module()(p.target, p.weight, x.feature_axis % x.rank + 1)
