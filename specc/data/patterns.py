"""``random_patterns``: random +-1 patterns and noisy probes of them (associative memory)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData, data_error


class RandomPatternsParams(Params):
    units: int = Field(200, gt=0, description="Units N of each pattern.")
    patterns: int = Field(20, gt=0, description="Patterns P to store.")
    flip: float = Field(0.1, ge=0, le=0.5, allow_inf_nan=False,
                        description="Fraction of each probe's bits flipped (round(flip N) bits).")
    probes: int = Field(64, gt=0, description="Noisy probes of each pattern.")
    seed: int = Field(0, ge=0, description="Seed of the patterns and the flips.")


class RandomPatterns(Dataset):
    """Random +-1 patterns (x: a probe with a fraction of its bits flipped, y: the clean pattern).

    ``patterns`` patterns of ``units`` independent fair +-1 bits (default 20 of 200, seed 0);
    each has ``probes`` copies (64) with exactly ``round(flip * units)`` bits flipped (10%),
    interleaved pattern by pattern (probe r of pattern p is sample ``r * patterns + p``), so
    any prefix of the samples holds every pattern. ``y`` is the clean pattern a Hopfield
    network should recall; the ``hebbian`` regime stores the distinct ``y`` of the training
    split; ``pattern`` is each sample's pattern index.
    """

    name = "random_patterns"
    Params = RandomPatternsParams
    task = "regression"

    @classmethod
    def load(cls, params: Any) -> RawData:
        n, p, r = params.units, params.patterns, params.probes
        if n * p * r > 50_000_000:
            raise data_error(f"units x patterns x probes is {n * p * r} values (at most "
                             "50,000,000)", "probes", received=r, hint="fewer probes")
        rng = np.random.default_rng(params.seed)
        clean = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(p, n))
        y = np.tile(clean, (r, 1))
        flips = int(round(params.flip * n))
        # each row's first `flips` positions of a random permutation are flipped
        order = np.argsort(rng.random((p * r, n)), axis=1)[:, :flips]
        x = y.copy()
        np.put_along_axis(x, order, -np.take_along_axis(x, order, axis=1), axis=1)
        pattern = np.tile(np.arange(p, dtype=np.int64), r)
        return RawData({"x": x, "y": y, "pattern": pattern}, "regression",
                       meta={"flipped_bits": flips})
