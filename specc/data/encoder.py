"""``encoder``: the encoder problem of Ackley, Hinton and Sejnowski (4-2-4 at ``size: 4``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData, data_error


class EncoderParams(Params):
    size: int = Field(4, ge=2, description="Units of each pattern (size one-hot patterns).")
    copies: int = Field(1, gt=0, description="Copies of each pattern (size x copies samples).")


class Encoder(Dataset):
    """The encoder problem: the ``size`` one-hot patterns, each its own target (x = y).

    A network must pass each pattern through a narrow hidden layer (the 4-2-4 Boltzmann
    machine: 4 visible units, 2 hidden, 4 visible). ``copies`` repeats the patterns
    (pattern by pattern, interleaved), ``size * copies`` samples in all.
    """

    name = "encoder"
    Params = EncoderParams

    @classmethod
    def load(cls, params: Any) -> RawData:
        values = params.size * params.size * params.copies
        if values > 50_000_000:
            raise data_error(f"size x size x copies is {values} values (at most 50,000,000)",
                             "copies", received=params.copies, hint="a smaller size or fewer "
                             "copies")
        x = np.tile(np.eye(params.size, dtype=np.float32), (params.copies, 1))
        return RawData({"x": x, "y": x.copy()}, "regression")
