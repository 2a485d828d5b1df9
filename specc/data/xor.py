"""``xor``: the exclusive-or of two binary inputs, as the four corner points or noisy copies."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)


class XorParams(Params):
    copies: int = Field(25, gt=0, description="Samples per corner (4 x copies in all).")
    noise: float = Field(0.1, ge=0, description="Std of Gaussian noise added to each point.")
    seed: int = Field(0, ge=0, description="Seed of the noise.")


class Xor(Dataset):
    """XOR: points near the corners of the unit square, labelled by their corner's x1 xor x2 (0 or 1).

    ``copies`` noisy copies of each corner (default 25, noise std 0.1, seed 0), interleaved
    corner by corner; ``copies: 1, noise: 0`` gives the four points themselves.
    """

    name = "xor"
    Params = XorParams

    @classmethod
    def load(cls, params: Any) -> RawData:
        x = np.tile(CORNERS, (params.copies, 1))
        y = np.tile((CORNERS[:, 0] != CORNERS[:, 1]).astype(np.int64), params.copies)
        if params.noise:
            rng = np.random.default_rng(params.seed)
            x = x + rng.normal(0.0, params.noise, x.shape).astype(np.float32)
        return RawData({"x": x, "y": y}, "classification", labels=["0", "1"])
