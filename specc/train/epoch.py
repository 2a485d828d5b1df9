"""The epoch loop: epochs of mini-batch steps over the training split.

:class:`EpochRegime` runs setup, data-dependent initialisation, then epochs of steps with
validation, metrics rows, progress, ``best``/``last`` checkpoints, early stopping, Ctrl-C
(save and stop), non-finite losses (stop, keep the last good checkpoint) and exact resume,
mid-epoch included. A regime built on it supplies ``setup``, ``train_step``, ``evaluate`` and
its own state.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ..registry import abstract
from ..spec.training import EpochConfig
from .regime import NonFinite, Regime, damaged_state


@abstract
class EpochRegime(Regime):
    """A regime trained in epochs of mini-batch steps over the training split."""

    Config = EpochConfig
    #: the batch being trained: (index in the epoch, batches, samples, batch size)
    position: tuple[int, int, int, int] = (0, 1, 1, 1)

    # -- hooks --------------------------------------------------------------------------------
    def reset_epoch(self) -> None:
        """Clear the running sums of an epoch."""

    def train_step(self, batch: Any) -> float:
        """One step on a batch; returns the batch loss (call ``check_finite`` before
        updating weights)."""
        raise NotImplementedError

    def epoch_logs(self) -> dict[str, float]:
        """Training logs of the epoch (loss and metrics), summed over processes: every
        process calls it at the end of an epoch."""
        return {}

    def running_logs(self) -> dict[str, float]:
        """This process's logs so far in the epoch, for the progress display."""
        return {}

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        """After validation (learning-rate schedules)."""

    def learning_rate(self) -> float | None:
        return None

    # -- the loop -----------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        from ..data.loader import epoch_order
        from .session import nonfinite_error

        s, cfg = self.session, self.cfg
        self.global_step = 0
        self.setup()
        has_val = "val" in self.data.parts
        monitor, mode = cfg.monitor(has_val)
        self.tracker = Tracker(monitor, mode, cfg.early_stopping)
        start_epoch, skip = 0, 0
        if s.resume:
            start_epoch, skip = self._restore()
        else:
            self.initialize()
        sampler = self.data.sampler(cfg.seed, s.dist.world, s.dist.rank)
        bs = self.batch_size()
        logs: dict[str, Any] = dict(self.tracker.last_logs)
        s.progress.start(cfg.epochs)
        try:
            with s.catch_interrupt():
                for epoch in range(start_epoch, cfg.epochs):
                    t0 = time.perf_counter()
                    self.data.refresh(epoch)  # datasets drawn afresh each epoch
                    order = epoch_order(sampler, epoch)
                    steps = max(1, -(-len(order) // bs))
                    if skip == 0:
                        self.reset_epoch()
                    s.progress.start_epoch(epoch, steps, skip)
                    for i in range(skip, steps):
                        batch = self.data.train.batch(order[i * bs:(i + 1) * bs], s.device)
                        self.position = (i, steps, len(order), bs)  # for accumulation
                        try:
                            self.train_step(batch)
                        except NonFinite as bad:
                            self.stop_reason = f"non-finite loss at epoch {epoch + 1}, step {i + 1}"
                            raise nonfinite_error(bad.value, epoch, i + 1, s.run,
                                                  s.saved_epoch) from None
                        self.global_step += 1
                        s.progress.step(i + 1, batch.size * s.dist.world, self.running_logs())
                        every = cfg.checkpoint.every_steps
                        if every and self.global_step % every == 0 and i + 1 < steps:
                            self.checkpoint("last", epoch, i + 1, logs)
                        if s.any_rank(s.stop_requested):
                            self.checkpoint("last", epoch, i + 1, logs)
                            self.stop_reason = f"interrupted at epoch {epoch + 1}, step {i + 1}"
                            raise s.interrupted(f"epoch {epoch + 1}, step {i + 1} of {steps}")
                    skip = 0
                    train_time = time.perf_counter() - t0
                    logs = self.epoch_logs()
                    if has_val:
                        logs.update({f"val_{k}": v for k, v in self.evaluate("val").items()})
                    lr = self.learning_rate()
                    self.end_epoch(epoch, logs)
                    stop = self.tracker.update(epoch, logs)
                    last_epoch = stop or epoch + 1 == cfg.epochs
                    if self.tracker.improved and cfg.checkpoint.best:
                        self.checkpoint("best", epoch + 1, 0, logs)
                    if last_epoch or (epoch + 1) % cfg.checkpoint.every == 0:
                        self.checkpoint("last", epoch + 1, 0, logs)
                    if s.writes:
                        row = {"epoch": epoch + 1, "step": self.global_step,
                               "time": round(train_time, 4)}
                        if lr is not None:
                            row["lr"] = lr
                        s.run.log_epoch({**row, **logs})  # type: ignore[union-attr]
                    s.progress.end_epoch(epoch, logs)
                    if stop:
                        self.stop_reason = (f"early stopping at epoch {epoch + 1}: "
                                            f"{monitor} did not improve for "
                                            f"{self.tracker.wait} epochs")
                        s.progress.note(self.stop_reason)
                        break
        finally:
            s.progress.stop()
        if cfg.early_stopping is not None and cfg.early_stopping.restore_best \
                and cfg.checkpoint.best and self.tracker.best_epoch is not None:
            weights, _ = s.load("best")
            self.load_weights(weights)
        return logs

    def checkpoint(self, tag: str, epoch: int, step_in_epoch: int, logs: dict[str, Any]) -> None:
        self.save_checkpoint(tag, {"epoch": epoch, "step_in_epoch": step_in_epoch,
                                   "step": self.global_step}, logs,
                             {"tracker": self.tracker.state()})

    def _restore(self) -> tuple[int, int]:
        s = self.session
        state = self.load_last()
        with damaged_state():
            self.tracker.load(state["tracker"])
            self.global_step = int(state["step"])
            epoch, step_in_epoch = int(state["epoch"]), int(state["step_in_epoch"])
        if s.writes:
            s.run.load_rows(epoch)  # type: ignore[union-attr]
        s.progress.note(f"resuming from epoch {epoch + (1 if step_in_epoch else 0)}"
                        + (f", step {step_in_epoch}" if step_in_epoch else ""))
        return epoch, step_in_epoch


class Tracker:
    """Best value of the monitored log, and early stopping."""

    def __init__(self, monitor: str, mode: str, early: Any) -> None:
        self.monitor = monitor
        self.mode = mode
        self.early = early
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.improved = False
        self.last_logs: dict[str, Any] = {}

    def update(self, epoch: int, logs: dict[str, Any]) -> bool:
        """Record an epoch; True when early stopping says stop."""
        self.last_logs = dict(logs)
        value = logs.get(self.monitor)
        self.improved = False
        if value is None or not math.isfinite(value):
            return False
        delta = self.early.min_delta if self.early is not None else 0.0
        better = self.best is None or (value < self.best - delta if self.mode == "min"
                                       else value > self.best + delta)
        if better:
            self.best, self.best_epoch, self.wait, self.improved = value, epoch + 1, 0, True
            return False
        self.wait += 1
        return self.early is not None and self.wait >= max(self.early.patience, 1)

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "logs": self.last_logs}

    def load(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.wait, self.last_logs = state["wait"], dict(state.get("logs") or {})
