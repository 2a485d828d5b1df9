"""The trainer (regime) interface, and the epoch loop most regimes share.

A regime is registered under ``specc.trainers`` with a ``name``, a ``Params`` model for
``train.params`` and ``requires_loss``. The engine creates it with a :class:`Session` (device,
data access, checkpoints, signals, progress) and calls :meth:`Regime.fit`, which owns the
training loop and returns the final logs. Module level imports stay torch-free so validating a
spec can look regimes up cheaply; torch is imported by the methods.

:class:`EpochRegime` implements the loop of epochs and steps with exact resume (mid-epoch
included), Ctrl-C handling, early stopping, ``best``/``last`` checkpoints and metrics rows. A
regime built on it supplies ``setup``, ``train_step``, ``evaluate`` and its own state; a regime
with a different shape (closed-form least squares, greedy layer-wise stacks) overrides ``fit``.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import torch

    from .session import Session


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NonFinite(Exception):
    def __init__(self, value: float) -> None:
        super().__init__(value)
        self.value = value


class Regime:
    """Base of training regimes."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    Params: ClassVar[type[BaseModel]] = NoParams
    requires_loss: ClassVar[bool] = False

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cfg = session.cfg
        self.params = self.cfg.regime_params or self.Params()
        self.models: dict[str, Any] = {}

    def setup(self) -> None:
        """Build the models and their optimizers, and prepare the data (``self.data``, a
        :class:`~specc.data.loader.TensorData`, via ``session.tensor_data``). Also used by
        ``specc evaluate``, which then loads trained weights and calls :meth:`evaluate`."""
        raise NotImplementedError

    def fit(self) -> dict[str, Any]:
        """Train (the regime owns its loop) and return the final logs."""
        raise NotImplementedError

    def evaluate(self, split: str) -> dict[str, float]:
        """Loss and metrics on a held-out split, keys without prefix."""
        return {}

    # -- weights ------------------------------------------------------------------------------
    def weights(self) -> dict[str, torch.Tensor]:
        """State dict of the trained network(s); several networks get ``name.`` prefixes."""
        mods = {k: _unwrap(m) for k, m in self.models.items()}
        if len(mods) == 1:
            return dict(next(iter(mods.values())).state_dict())
        return {f"{k}.{p}": v for k, m in mods.items() for p, v in m.state_dict().items()}

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        from .checkpoint import load_into

        mods = {k: _unwrap(m) for k, m in self.models.items()}
        where = "the checkpoint"
        if len(mods) == 1:
            load_into(next(iter(mods.values())), state, where)
            return
        for k, m in mods.items():
            load_into(m, {p[len(k) + 1:]: v for p, v in state.items() if p.startswith(k + ".")},
                      f"{where} (network '{k}')")

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def _unwrap(m: Any) -> Any:
    return getattr(m, "module", m)


class EpochRegime(Regime):
    """A regime trained in epochs of mini-batch steps over the training split."""

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

    # -- shared machinery ---------------------------------------------------------------------
    def check_finite(self, loss: torch.Tensor) -> float:
        """The loss as a float; raises NonFinite (on every process) if it is nan/inf."""
        value = float(loss.detach())
        if self.session.any_rank(not math.isfinite(value)):
            raise NonFinite(value if not math.isfinite(value) else float("nan"))
        return value

    def batch_size(self) -> int:
        n = self.data.train.n
        bs = self.cfg.batch_size
        world = self.session.dist.world
        return -(-n // world) if bs == "full" else int(bs)

    def fit(self) -> dict[str, Any]:
        from ..data.loader import epoch_order
        from .session import Interrupted, nonfinite_error

        s, cfg = self.session, self.cfg
        self.global_step = 0
        self.setup()
        has_val = "val" in self.data.parts
        monitor, mode = cfg.monitor(has_val)
        self.tracker = Tracker(monitor, mode, cfg.early_stopping)
        start_epoch, skip = 0, 0
        if s.resume:
            start_epoch, skip = self._restore()
        sampler = self.data.sampler(cfg.seed, s.dist.world, s.dist.rank)
        bs = self.batch_size()
        logs: dict[str, Any] = dict(self.tracker.last_logs)
        s.progress.start(cfg.epochs)
        self.stop_reason = "finished"
        try:
            with s.catch_interrupt():
                for epoch in range(start_epoch, cfg.epochs):
                    t0 = time.perf_counter()
                    order = epoch_order(sampler, epoch)
                    steps = max(1, -(-len(order) // bs))
                    if skip == 0:
                        self.reset_epoch()
                    s.progress.start_epoch(epoch, steps, skip)
                    for i in range(skip, steps):
                        batch = self.data.train.batch(order[i * bs:(i + 1) * bs], s.device)
                        try:
                            self.train_step(batch)
                        except NonFinite as bad:
                            self.stop_reason = f"non-finite loss at epoch {epoch + 1}, step {i + 1}"
                            raise nonfinite_error(bad.value, epoch, i + 1, s.run,
                                                  s.saved_epoch) from None
                        self.global_step += 1
                        s.progress.step(i + 1, batch.size * s.dist.world, self.running_logs())
                        every = cfg.checkpoint.every_steps
                        if (every and self.global_step % every == 0 and i + 1 < steps):
                            self.checkpoint("last", epoch, i + 1, logs)
                        if s.any_rank(s.stop_requested):
                            self.checkpoint("last", epoch, i + 1, logs)
                            self.stop_reason = f"interrupted at epoch {epoch + 1}, step {i + 1}"
                            where = s.run.path if s.run else "?"
                            raise Interrupted(
                                f"interrupted at epoch {epoch + 1}, step {i + 1} of {steps}; "
                                f"saved {where}/checkpoints/last. Resume with: specc train "
                                f"{where} --resume")
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
        s = self.session
        state = {"epoch": epoch, "step_in_epoch": step_in_epoch, "step": self.global_step,
                 "logs": logs, "networks": list(self.models), "network_hash": network_hash(s.spec)}
        if tag == "last":
            state.update(rng=s.rng_state(), regime=self.state_dict(), tracker=self.tracker.state())
        s.save(tag, self.weights(), state)

    def _restore(self) -> tuple[int, int]:
        from ..errors import SpecError

        s = self.session
        weights, state = s.load("last")
        if state.get("network_hash") not in (None, network_hash(s.spec)):
            raise SpecError("the networks of this spec differ from those of the run being "
                            "resumed", hint="resume with the run's own spec (specc train RUN "
                            "--resume); start a new run for a changed network")
        self.load_weights(weights)
        try:
            self.load_state_dict(state["regime"])
            self.tracker.load(state["tracker"])
            s.set_rng_state(state["rng"])
            self.global_step = int(state["step"])
            s.saved_epoch = int(state["epoch"])
            int(state["step_in_epoch"])
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError) as exc:
            raise SpecError(f"the 'last' checkpoint cannot be resumed from: its state is "
                            f"incomplete or damaged ({type(exc).__name__}: {str(exc)[:200]})",
                            hint="the checkpoint was changed; train the run afresh") from None
        if s.writes:
            s.run.load_rows(state["epoch"])  # type: ignore[union-attr]
        s.progress.note(f"resuming from epoch {state['epoch'] + (1 if state['step_in_epoch'] else 0)}"
                        + (f", step {state['step_in_epoch']}" if state["step_in_epoch"] else ""))
        return state["epoch"], state["step_in_epoch"]


def network_hash(spec: Any) -> str:
    import hashlib
    import json

    nets = {k: v for k, v in spec.resolved.items() if k not in ("train", "specc_version")}
    return hashlib.sha256(json.dumps(nets, sort_keys=True, default=str).encode()).hexdigest()[:16]


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
