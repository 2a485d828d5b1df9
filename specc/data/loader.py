"""Prepared arrays as tensors, and batches drawn from them.

The built-in datasets are small, so each split lives in memory as tensors (series windows are
strided views, not copies) and a batch is an index gather. The order of an epoch comes from
``DistributedSampler`` (seeded by seed + epoch; one replica in single-process runs), so it
needs no saved state: a resumed run replays the same order and skips the steps already done.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DistributedSampler

from .prepare import Part, Prepared, fresh_train


@dataclass
class Batch:
    inputs: dict[str, torch.Tensor]
    targets: dict[str, torch.Tensor]
    extras: dict[str, torch.Tensor]
    size: int


def _tensor(a: np.ndarray) -> torch.Tensor:
    try:
        return torch.from_numpy(a)  # shares memory, strided views included
    except ValueError:  # negative strides
        return torch.from_numpy(np.ascontiguousarray(a))


class TensorPart:
    """One split as tensors."""

    def __init__(self, part: Part) -> None:
        import warnings

        with warnings.catch_warnings():  # read-only strided views are never written to
            warnings.simplefilter("ignore", UserWarning)
            self.inputs = {k: _tensor(v) for k, v in part.inputs.items()}
            self.targets = {k: _tensor(v) for k, v in part.targets.items()}
            self.extras = {k: _tensor(v) for k, v in part.extras.items()
                           if v.dtype.kind in "iufb"}
        self.n = part.n

    def batch(self, idx: torch.Tensor | slice, device: torch.device) -> Batch:
        def take(d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {k: v[idx].to(device, non_blocking=True) for k, v in d.items()}

        size = len(range(self.n)[idx]) if isinstance(idx, slice) else len(idx)
        return Batch(take(self.inputs), take(self.targets), take(self.extras), size)

    def batches(self, batch_size: int, device: torch.device) -> Iterator[Batch]:
        """In order, for evaluation."""
        for start in range(0, self.n, batch_size):
            yield self.batch(slice(start, min(start + batch_size, self.n)), device)


class TensorData:
    """All splits of a :class:`Prepared` as tensors."""

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        self.parts = {k: TensorPart(p) for k, p in prepared.parts.items()}

    @property
    def train(self) -> TensorPart:
        return self.parts["train"]

    def refresh(self, epoch: int) -> None:
        """Draw the training split afresh for ``epoch`` when the dataset makes new samples
        every epoch (``fresh_each_epoch``); otherwise keep it."""
        part = fresh_train(self.prepared, epoch)
        if part is not None:
            self.parts["train"] = TensorPart(part)

    def sampler(self, seed: int, world: int = 1, rank: int = 0) -> DistributedSampler[Any]:
        return DistributedSampler(range(self.train.n), num_replicas=world, rank=rank,
                                  shuffle=True, seed=seed, drop_last=False)


def masked(pred: torch.Tensor, target: torch.Tensor,
           mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The elements of an output and its targets that a loss mask marks (``mask`` covers the
    leading axes of both, e.g. (batch, time) of (batch, time, bits)); both unchanged without
    a mask."""
    if mask is None:
        return pred, target
    keep = mask > 0
    return pred[keep], target[keep]


def epoch_order(sampler: DistributedSampler[Any], epoch: int) -> torch.Tensor:
    """The sample order of ``epoch`` (0-based) for this replica."""
    sampler.set_epoch(epoch)
    return torch.tensor(list(iter(sampler)), dtype=torch.long)
