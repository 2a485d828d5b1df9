"""Training several networks side by side: an optimizer, schedule and clipping per network.

``optimizers: {generator: ..., discriminator: ...}`` (and ``schedules:``) in a ``train:``
section name networks of the spec; a network they leave out takes the section's single
``optimizer:`` (``schedule:``). :func:`check_tables` reports a name that is not a network at
its field, with a did-you-mean; :class:`NetOptim` is one network's optimizer, schedule and
clipping, with their state for exact resume. Pure Python at import; torch inside.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpecError, did_you_mean

TABLES = ("optimizers", "schedules")


def check_tables(cfg: Any, networks: dict[str, Any]) -> list[SpecError]:
    """A key of ``cfg.optimizers`` / ``cfg.schedules`` that is not one of ``networks``."""
    errs = []
    for table in TABLES:
        for name in getattr(cfg, table, None) or {}:
            if name not in networks:
                errs.append(SpecError(f"no network '{name}'", path=(table, name),
                                      received=name, hint=did_you_mean(name, networks)
                                      or "networks: " + ", ".join(networks)))
    return errs


class NetOptim:
    """The optimizer, schedule and gradient clipping of one network (``name``)."""

    def __init__(self, cfg: Any, name: str, module: Any) -> None:
        from .optim import Schedule, make_optimizer

        self.module = module
        self.clip = cfg.clip
        choice = (cfg.optimizers or {}).get(name, cfg.optimizer)
        self.optimizer = make_optimizer(choice, module.parameters())
        sched = (cfg.schedules or {}).get(name, cfg.schedule)
        self.schedule = Schedule(sched, self.optimizer, cfg.epochs) if sched else None

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def step(self) -> None:
        """Clip the gradients (as ``train.clip`` says) and take the optimizer's step."""
        import torch

        clip = self.clip
        if clip is not None:
            params = [p for p in self.module.parameters() if p.grad is not None]
            if clip.value:
                torch.nn.utils.clip_grad_value_(params, clip.value)
            if clip.norm:
                torch.nn.utils.clip_grad_norm_(params, clip.norm)
        self.optimizer.step()

    def end_epoch(self, logs: dict[str, float]) -> None:
        if self.schedule is not None:
            self.schedule.step(logs)

    def learning_rate(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict() if self.schedule else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.schedule is not None and state.get("schedule") is not None:
            self.schedule.load_state_dict(state["schedule"])
