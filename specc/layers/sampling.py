"""``gaussian_sample``: the VAE reparameterisation ``z = mu + sigma * eps`` with its KL term."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field

from ..types import TensorType, fmt_shape
from .base import Example, LayerKind, Params, expect_float, shape_error


class GaussianSampleParams(Params):
    kl_weight: float = Field(1.0, ge=0.0, description="Weight of the KL term added to the loss.")


@cache
def _sample_module() -> type:
    import torch
    from torch import nn

    class GaussianSample(nn.Module):
        """Samples z ~ N(mu, exp(logvar)) in training, returns mu at inference; ``aux_loss`` is
        ``kl_weight * mean_batch(KL(N(mu, sigma^2) || N(0, 1)))`` summed over features."""

        def __init__(self, kl_weight: float) -> None:
            super().__init__()
            self.kl_weight = kl_weight
            self.aux_loss: torch.Tensor | None = None

        def forward(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
            kl = -0.5 * (1 + logvar - mu.square() - logvar.exp())
            self.aux_loss = self.kl_weight * kl.flatten(1).sum(dim=1).mean()
            if not self.training:
                return mu
            return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    return GaussianSample


class GaussianSample(LayerKind):
    """Samples ``z = mu + exp(logvar / 2) * eps`` in training and returns ``mu`` at inference.

    eps ~ N(0, 1); returning the mean at inference keeps the exported model deterministic.

    Contributes the auxiliary loss ``kl_weight * KL(N(mu, sigma^2) || N(0, 1))`` (summed over
    features, averaged over the batch); it is set on every forward, as it does not depend on
    the sample, so validation can report the ELBO too.

    Args:
        kl_weight: weight of the KL term (>= 0, default 1; beta-VAE for > 1).

    Input shape: two tensors of one float shape, ``mu`` then ``logvar`` (graph form:
    ``{op: gaussian_sample, in: [mu, logvar]}``). Output shape: that shape.

    Example:
        ``- gaussian_sample: {kl_weight: 1.0}``
    """

    name = "gaussian_sample"
    aliases = ("GaussianSample", "Sampling")
    Params = GaussianSampleParams
    min_inputs = 2
    max_inputs = 2
    category = "sampling"
    examples = (
        Example("gaussian_sample", ((8,), (8,)), (8,)),
        Example("gaussian_sample: {kl_weight: 0.5}", ((2, 3, 3), (2, 3, 3)), (2, 3, 3)),
    )

    @classmethod
    def infer(cls, p: GaussianSampleParams, inputs: list[TensorType]) -> TensorType:
        mu, logvar = inputs
        expect_float(mu)
        expect_float(logvar)
        if mu.rank != logvar.rank or any(
                a is not None and b is not None and a != b
                for a, b in zip(mu.shape, logvar.shape, strict=True)):
            raise shape_error("expects mu and logvar of the same shape; they are "
                              f"{fmt_shape(mu.shape)} and {fmt_shape(logvar.shape)}")
        return mu

    @classmethod
    def build(cls, p: GaussianSampleParams, inputs: list[TensorType]) -> Any:
        return _sample_module()(p.kl_weight)
