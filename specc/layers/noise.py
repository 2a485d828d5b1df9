"""Input corruption for denoising autoencoders: ``gaussian_noise`` and ``masking_noise``.

Both act in training only and are the identity at inference (and in the ONNX export).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params, expect_float


class GaussianNoiseParams(Params):
    stddev: float = Field(ge=0.0, description="Standard deviation of the added noise.")


class MaskingNoiseParams(Params):
    rate: float = Field(ge=0.0, lt=1.0, description="Fraction of inputs set to zero.")


@cache
def _noise_module() -> type:
    import torch
    from torch import nn

    class Noise(nn.Module):
        """Adds N(0, amount^2) noise ('gaussian') or zeroes a fraction ('masking'), training only."""

        def __init__(self, mode: str, amount: float) -> None:
            super().__init__()
            self.mode, self.amount = mode, amount

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not self.training or self.amount == 0:
                return x
            if self.mode == "gaussian":
                return x + torch.randn_like(x) * self.amount
            return x * (torch.rand_like(x) >= self.amount).to(x.dtype)

    return Noise


class GaussianNoise(LayerKind):
    """Adds zero-mean Gaussian noise in training; identity at inference.

    Args:
        stddev: standard deviation of the noise.

    Input shape: any float. Output shape: same as input.

    Example:
        ``- gaussian_noise: {stddev: 0.3}``
    """

    name = "gaussian_noise"
    aliases = ("GaussianNoise",)
    Params = GaussianNoiseParams
    category = "regularization"
    examples = (Example("gaussian_noise: {stddev: 0.3}", ((64,),), (64,)),)

    @classmethod
    def infer(cls, p: GaussianNoiseParams, inputs: list[TensorType]) -> TensorType:
        expect_float(inputs[0])
        return inputs[0]

    @classmethod
    def build(cls, p: GaussianNoiseParams, inputs: list[TensorType]) -> Any:
        return _noise_module()("gaussian", p.stddev)


class MaskingNoise(LayerKind):
    """Sets a random fraction ``rate`` of the inputs to zero in training; identity at inference.

    The rest is not rescaled (the masking corruption of denoising autoencoders).

    Args:
        rate: fraction of inputs zeroed, in [0, 1).

    Input shape: any float. Output shape: same as input.

    Example:
        ``- masking_noise: {rate: 0.25}``
    """

    name = "masking_noise"
    aliases = ("MaskingNoise",)
    Params = MaskingNoiseParams
    category = "regularization"
    examples = (Example("masking_noise: {rate: 0.25}", ((64,),), (64,)),)

    @classmethod
    def infer(cls, p: MaskingNoiseParams, inputs: list[TensorType]) -> TensorType:
        expect_float(inputs[0])
        return inputs[0]

    @classmethod
    def build(cls, p: MaskingNoiseParams, inputs: list[TensorType]) -> Any:
        return _noise_module()("masking", p.rate)
