"""What every regime shares: device, seeds and RNG state, data, checkpoints, signals, progress.

A :class:`Session` is handed to a regime. It owns the run directory (rank 0 only), the RNG
states saved with checkpoints, the Ctrl-C flag, and the stopping errors (interrupt, non-finite
loss).
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import SpecError
from ..runs.folder import RunDir
from .progress import Progress


@dataclass
class DistInfo:
    world: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


class Interrupted(Exception):
    """Ctrl-C: the run stopped after a step and saved ``last``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def nonfinite_error(value: float, epoch: int, step: int, run: RunDir | None,
                    saved_epoch: int | None) -> SpecError:
    where = f"epoch {epoch + 1}, step {step}"
    if run is not None and saved_epoch is not None:
        kept = f"; the last good checkpoint is {run.path / 'checkpoints' / 'last'}.* " \
               f"(after epoch {saved_epoch})"
    else:
        kept = "; no checkpoint had been written yet"
    return SpecError(f"the loss became {value} at {where}: training stopped{kept}",
                     path=("train",), hint="lower the learning rate, clip gradients "
                     "(clip: {norm: 1.0}) or scale the data (scale: standard)")


class Session:
    """Shared machinery for one training run (one process of it)."""

    def __init__(self, spec: Any, cfg: Any, *, device: torch.device, run: RunDir | None,
                 progress: Progress, dist: DistInfo | None = None, resume: bool = False) -> None:
        self.spec = spec
        self.cfg = cfg
        self.device = device
        self.run = run
        self.progress = progress
        self.dist = dist or DistInfo()
        self.resume = resume
        self.stop_requested = False
        self.channels_last = False  # set by build() for conv nets on CPU
        self.saved_epoch: int | None = None
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(cfg.seed + 7919 * self.dist.rank)
        self.seed_everything()

    # -- seeds and RNG state ------------------------------------------------------------------
    def seed_everything(self) -> None:
        seed = self.cfg.seed + 7919 * self.dist.rank
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        if self.cfg.deterministic:
            if self.device.type == "cuda":
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
                torch.backends.cudnn.benchmark = False
                torch.backends.cudnn.deterministic = True
            torch.use_deterministic_algorithms(True)
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def rng_state(self) -> list[dict[str, Any]] | None:
        """Every process's RNG states as a list by rank, gathered on rank 0 (``None`` on the
        other ranks; all processes must call this)."""
        own: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                               "python": random.getstate(), "augment": self.generator.get_state()}
        if self.device.type == "cuda":
            own["cuda"] = torch.cuda.get_rng_state(self.device)
        if not self.dist.active:
            return [own]
        import torch.distributed as dist

        states: list[Any] | None = [None] * self.dist.world if self.dist.main else None
        dist.gather_object(own, states, dst=0)
        return states

    def set_rng_state(self, states: list[dict[str, Any]] | dict[str, Any]) -> None:
        """Restore this rank's RNG states from :meth:`rng_state`'s list (a single dict is a
        checkpoint of one process from before the list)."""
        saved = [states] if isinstance(states, dict) else list(states)
        if len(saved) != self.dist.world:
            def procs(n: int) -> str:
                return f"{n} process" + ("es" if n > 1 else "")

            raise SpecError(
                f"this run was trained by {procs(len(saved))} and cannot be resumed exactly "
                f"by {procs(self.dist.world)}: every process's random state is saved",
                received=f"--nproc {self.dist.world}" if self.dist.world > 1 else "no --nproc",
                hint=f"resume with --nproc {len(saved)} (in all, over every node), or start "
                     "a new run")
        state = saved[self.dist.rank]
        torch.set_rng_state(state["torch"])
        np.random.set_state(state["numpy"])
        py = state["python"]
        random.setstate((py[0], tuple(py[1]), py[2]))
        self.generator.set_state(state["augment"])
        if "cuda" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda"], self.device)

    # -- building -----------------------------------------------------------------------------
    def build(self, network: str | None = None, *, logits: bool = True, seed_offset: int = 0) -> Any:
        """The compiled network on the session's device (seeded from ``train.seed``)."""
        from ..backends.torch import build_module

        graph = self.spec.network(network)
        model = build_module(graph, seed=self.cfg.seed + seed_offset, logits=logits,
                             device=self.device, pretrained=self.spec.pretrained_for(network))
        if self.device.type == "cpu" and channels_last_helps(graph):
            model = model.to(memory_format=torch.channels_last)
            self.channels_last = True
        return model

    # -- data -------------------------------------------------------------------------------
    def locate(self, err: SpecError) -> SpecError:
        """``err`` with file:line:col from the spec's source, where known."""
        source = getattr(self.spec, "source", None)
        return source.error(err) if source is not None else err

    def tensor_data(self, inputs: dict[str, Any], outputs: dict[str, Any], raw: Any = None) -> Any:
        """Prepared data for a network with these inputs and (loss, target) outputs, as
        tensors; rank 0 records the split and preprocessing in the run directory."""
        from ..data.loader import TensorData
        from ..data.prepare import prepare

        try:
            prep = prepare(self.cfg.data, inputs, outputs, raw)
        except SpecError as err:
            raise self.locate(err) from None
        if self.writes:
            record = dict(prep.split_record)
            for name, part in prep.parts.items():
                if name != "train" and part.n <= 100_000:
                    record[f"{name}_index"] = part.index.tolist()
            self.run.write_json("split.json", record)  # type: ignore[union-attr]
            self.run.write_json("data.json", prep.record())  # type: ignore[union-attr]
        return TensorData(prep)

    # -- checkpoints --------------------------------------------------------------------------
    @property
    def writes(self) -> bool:
        """Only rank 0 writes the run directory."""
        return self.run is not None and self.dist.main

    def save(self, tag: str, weights: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        """Rank 0 commits checkpoint ``tag``; other ranks wait for it."""
        if self.writes:
            self.run.checkpoints.save(tag, weights, state)  # type: ignore[union-attr]
        if tag == "last":
            self.saved_epoch = state.get("epoch")
        self.barrier()

    def load(self, tag: str = "last") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Checkpoint ``tag``. With several processes rank 0 reads it and sends it to the
        others, so the nodes of a multi-node run need no shared filesystem (all processes
        must call this)."""
        if self.run is None:
            raise SpecError("this session has no run directory to resume from")
        if not self.dist.active:
            return self.run.checkpoints.load(tag, map_location=self.device)
        import torch.distributed as dist

        box: list[Any] = [None]
        if self.dist.main:
            try:
                box[0] = self.run.checkpoints.load(tag, map_location="cpu")
            except SpecError as err:
                box[0] = str(err)
                dist.broadcast_object_list(box, src=0)
                raise
        dist.broadcast_object_list(box, src=0)
        if isinstance(box[0], str):
            raise SpecError(f"rank 0 could not read the '{tag}' checkpoint: {box[0]}")
        weights, state = box[0]
        return {k: v.to(self.device) for k, v in weights.items()}, state

    # -- processes ----------------------------------------------------------------------------
    def barrier(self) -> None:
        if self.dist.active:
            import torch.distributed as dist

            dist.barrier()

    def any_rank(self, flag: bool) -> bool:
        """True when ``flag`` is set on any process (all processes must call this)."""
        if not self.dist.active:
            return flag
        import torch.distributed as dist

        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t)
        return bool(t.item() > 0)

    def interrupted(self, at: str) -> Interrupted:
        """The error that stops a run after Ctrl-C, once ``last`` is saved (``at``: where)."""
        where = self.run.path if self.run else "?"
        return Interrupted(f"interrupted at {at}; saved {where}/checkpoints/last. "
                           f"Resume with: specc train {where} --resume")

    # -- signals ------------------------------------------------------------------------------
    @contextmanager
    def catch_interrupt(self) -> Iterator[None]:
        """Ctrl-C sets ``stop_requested`` (the loop saves and stops after the current step);
        a second Ctrl-C interrupts at once."""
        def handler(signum: int, frame: Any) -> None:
            self.stop_requested = True
            signal.signal(signal.SIGINT, signal.default_int_handler)

        try:
            previous = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def channels_last_helps(graph: Any) -> bool:
    """Run 2-D convolution nets channels_last on CPU (``SPECC_CHANNELS_LAST=0`` turns it off).

    Measured here (2 cores, one Adam training step, interleaved, medians, idle machine): the
    seed CNN at 3x128x128 batch 32 took 124.5 ms channels_last vs 151.3 ms contiguous with 2
    threads (1.22x) and 140 vs 210 ms with 1 thread (1.50x); dcn at 1x28x28 batch 64 9.8 vs
    12.0 ms (1.22x). Outputs match the contiguous layout to float rounding.
    """
    return os.environ.get("SPECC_CHANNELS_LAST", "1") != "0" and any(
        n.kind in ("conv2d", "conv2d_transpose")
        for n in graph.nodes.values())
