"""The fit loop: accumulate sums over the training split, then solve.

:class:`FitRegime` is the loop of closed-form and counting regimes (least squares readouts,
n-gram counts, Hebbian outer products). One pass reads the training split in a fixed order,
batch by batch; the regime adds each batch into float64 running sums (``self.sums``). The
sums are checkpointed with the batch cursor (every ``checkpoint.every_steps`` batches and on
Ctrl-C), so a resumed run continues mid-accumulation and ends with the same sums bit for bit.
With several processes each reads its own contiguous shard and the sums are added across
processes (all-reduce) before :meth:`FitRegime.solve`. Then the loop evaluates the validation
split, writes one metrics row (epoch 1) and the ``best`` and ``last`` checkpoints.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..registry import abstract
from ..spec.training import FitConfig
from .epoch import Tracker
from .regime import Regime, damaged_state

if TYPE_CHECKING:
    import torch


@abstract
class FitRegime(Regime):
    """Accumulate over batches of the training split, then solve (no epochs)."""

    Config = FitConfig
    sums: dict[str, torch.Tensor]
    reduced = False  # set once the sums hold every process's

    # -- hooks --------------------------------------------------------------------------------
    def begin(self) -> None:
        """Allocate ``self.sums`` (float64 zeros); not called on resume."""
        raise NotImplementedError

    def accumulate(self, batch: Any) -> None:
        """Add one batch of the training split into ``self.sums``."""
        raise NotImplementedError

    def solve(self) -> dict[str, float]:
        """Set the weights from the sums (added over processes); return training logs."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"sums": self._gathered_sums()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        sums = state["sums"]
        if self.session.dist.rank != 0:  # rank 0 holds the sums of every process so far
            sums = {k: v.zero_() for k, v in sums.items()}
        self.sums = {k: v.to(self.session.device) for k, v in sums.items()}

    # -- the loop -----------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        s, cfg = self.session, self.cfg
        self.setup()
        has_val = "val" in self.data.parts
        self.tracker = Tracker(*cfg.monitor(has_val), None)
        bs = self.batch_size()
        lo, hi = self.shard()
        steps = max(1, -(-self.shard_size() // bs))  # the same on every process
        cursor = 0
        if s.resume:
            cursor, logs = self._restore()
            if cursor is None:  # the run had finished
                return logs
        else:
            self.initialize()
            self.begin()
        s.progress.start(1)
        s.progress.start_epoch(0, steps, cursor)
        t0 = time.perf_counter()
        try:
            with s.catch_interrupt():
                for i in range(cursor, steps):
                    a, b = min(lo + i * bs, hi), min(lo + (i + 1) * bs, hi)
                    batch = self.data.train.batch(slice(a, b), s.device)
                    if batch.size:
                        self.accumulate(batch)
                    s.progress.step(i + 1, batch.size * s.dist.world, {})
                    every = cfg.checkpoint.every_steps
                    if every and (i + 1) % every == 0 and i + 1 < steps:
                        self.checkpoint("last", i + 1, {})
                    if s.any_rank(s.stop_requested):
                        self.checkpoint("last", i + 1, {})
                        self.stop_reason = f"interrupted at batch {i + 1} of {steps}"
                        raise s.interrupted(f"batch {i + 1} of {steps} of the accumulation")
                self.reduce()
                logs = dict(self.solve())
                fit_time = time.perf_counter() - t0
                if has_val:
                    logs.update({f"val_{k}": v for k, v in self.evaluate("val").items()})
                self.tracker.update(0, logs)
                if cfg.checkpoint.best:
                    self.checkpoint("best", steps, logs, done=True)
                self.checkpoint("last", steps, logs, done=True)
                if s.writes:
                    s.run.log_epoch({"epoch": 1, "step": steps,  # type: ignore[union-attr]
                                     "time": round(fit_time, 4), **logs})
                s.progress.end_epoch(0, logs)
        finally:
            s.progress.stop()
        return logs

    def shard_size(self) -> int:
        """Samples per process (the last process may have fewer)."""
        return -(-self.data.train.n // self.session.dist.world)

    def shard(self) -> tuple[int, int]:
        """This process's contiguous range of the training split."""
        n, per, rank = self.data.train.n, self.shard_size(), self.session.dist.rank
        return min(rank * per, n), min((rank + 1) * per, n)

    def reduce(self) -> None:
        """Add the sums over processes (in place, every process gets the total)."""
        self.reduced = True
        if self.session.dist.active:
            import torch.distributed as dist

            for v in self.sums.values():
                dist.all_reduce(v)

    def _gathered_sums(self) -> dict[str, torch.Tensor]:
        """The sums of all processes so far (a copy; every process must call this)."""
        if not self.session.dist.active or self.reduced:
            return self.sums
        import torch.distributed as dist

        out = {k: v.clone() for k, v in self.sums.items()}
        for v in out.values():
            dist.all_reduce(v)
        return out

    def checkpoint(self, tag: str, cursor: int, logs: dict[str, Any], done: bool = False) -> None:
        self.save_checkpoint(tag, {"epoch": 1 if done else 0, "step_in_epoch": 0 if done
                                   else cursor, "step": cursor}, logs,
                             {"world": self.session.dist.world, "tracker": self.tracker.state()})

    def _restore(self) -> tuple[int | None, dict[str, Any]]:
        from ..errors import SpecError

        s = self.session
        state = self.load_last()
        with damaged_state():
            world = int(state["world"])
            self.tracker.load(state["tracker"])
            done, cursor = int(state["epoch"]) == 1, int(state["step_in_epoch"])
            logs = dict(state["logs"])
        if world != s.dist.world and not done:
            raise SpecError(f"this run accumulated over {world} process(es); resume it with "
                            f"the same number (received --nproc {s.dist.world})",
                            hint=f"specc train RUN --resume --nproc {world}")
        if done:
            s.progress.note("the run had finished; nothing to resume")
            return None, logs
        if s.writes:
            s.run.load_rows(0)  # type: ignore[union-attr]
        s.progress.note(f"resuming the accumulation at batch {cursor + 1}")
        return cursor, logs
