"""Held-out splits: a fraction with a seed, the last samples in order, or the dataset's own."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import RawData, data_error


def _count(value: float, n: int) -> int:
    """A count, or a fraction rounded up as scikit-learn's train_test_split does."""
    return int(value) if value >= 1 else int(math.ceil(value * n))


def split_indices(n: int, split: Any, raw: RawData, *, series: bool) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Indices of the ``train``/``val``/``test`` parts and a record of how they were made.

    ``split`` is a :class:`~specc.spec.data_section.SplitConfig`, ``"own"``, ``"none"`` or None
    (the dataset's own split when it has one, else 20% validation with seed 0). Series are
    always split in time order: the held-out parts are the end of the series.
    """
    from ..spec.data_section import SplitConfig

    if split is None:
        split = "own" if raw.own_split else SplitConfig(val=0.2, seed=0,
                                                        order="last" if series else "random")
    everything = np.arange(n)
    if split == "none":
        return {"train": everything}, {"kind": "none"}
    if split == "own":
        if not raw.own_split:
            raise data_error("this dataset has no split of its own", "split", received="own",
                             hint="give one, e.g. split: {val: 0.2, seed: 0}")
        held = {k: v[v < n] for k, v in raw.own_split.items()}
        mask = np.ones(n, bool)
        for v in held.values():
            mask[v] = False
        parts = {"train": everything[mask], **held}
        return parts, {"kind": "own", **{k: len(v) for k, v in parts.items()}}
    n_val, n_test = _count(split.val, n), _count(split.test, n)
    if n_val + n_test >= n:
        raise data_error(f"the split holds out {n_val + n_test} of {n} samples, leaving none "
                         "for training", "split")
    record: dict[str, Any] = {"kind": "fraction", "val": split.val, "test": split.test}
    if split.order == "last" or series:
        n_train = n - n_val - n_test
        parts = {"train": everything[:n_train], "val": everything[n_train:n_train + n_val],
                 "test": everything[n_train + n_val:]}
        record["order"] = "last"
    else:
        from sklearn.model_selection import train_test_split

        y = raw.arrays.get("y")
        strat = y[:n] if split.stratify and y is not None else None
        held = n_val + n_test
        train, rest = (everything, everything[:0]) if held == 0 else train_test_split(
            everything, test_size=held, random_state=split.seed, stratify=strat)
        if n_test and n_val:
            val, test = train_test_split(rest, test_size=n_test, random_state=split.seed,
                                         stratify=strat[rest] if strat is not None else None)
        else:
            val, test = (rest, rest[:0]) if n_val else (rest[:0], rest)
        parts = {"train": train, "val": val, "test": test}
        record.update(order="random", seed=split.seed, stratify=split.stratify)
    parts = {k: v for k, v in parts.items() if k == "train" or len(v)}
    record.update({f"n_{k}": len(v) for k, v in parts.items()})
    return parts, record
