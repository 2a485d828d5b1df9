"""Mixed precision and gradient accumulation for the gradient regimes (``train.precision``,
``train.accumulate``).

:class:`Precision` runs the forward pass under autocast (bf16 on CPU and CUDA, fp16 on CUDA)
and, for fp16, scales the loss dynamically (``torch.amp.GradScaler``): a step whose gradients
overflow is skipped and the scale lowered. Its state (the scale) is part of a run's resumable
state. :class:`Accumulator` groups the batches of an epoch for ``accumulate: N``: each batch's
loss is weighted by its share of the group's samples, so N batches of 16 add up to the gradient
of one batch of 16N, the epoch's last group included when it is short. Torch is imported
inside.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from ..errors import SpecError

if TYPE_CHECKING:
    import torch


class Precision:
    """Autocast and loss scaling of one ``precision`` on one device."""

    def __init__(self, precision: str, device: torch.device) -> None:
        import torch

        if precision == "fp16" and device.type != "cuda":
            raise SpecError("precision fp16 needs a CUDA device: fp16 training with loss "
                            f"scaling is not supported on {device.type}",
                            path=("train", "precision"), received=precision,
                            hint="use precision: bf16 (CPU and CUDA) or fp32, or train on CUDA")
        self.precision = precision
        self.device = device
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None

    def autocast(self) -> AbstractContextManager[Any]:
        """The forward pass's context: autocast to the precision's dtype (none for fp32)."""
        if self.dtype is None:
            return nullcontext()
        import torch

        return torch.autocast(self.device.type, dtype=self.dtype)

    def full(self, outs: dict[str, Any]) -> dict[str, Any]:
        """Outputs computed in the low precision, back in float32 for the losses."""
        if self.dtype is None:
            return outs
        return {k: v.float() if v.dtype == self.dtype else v for k, v in outs.items()}

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate ``loss`` (scaled for fp16)."""
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer, params: list[Any], clip: Any = None) -> None:
        """Clip the (unscaled) gradients of ``params`` as ``clip`` says, then step; for fp16 a
        step with non-finite gradients is skipped and the scale lowered."""
        import torch

        if self.scaler is not None:
            self.scaler.unscale_(optimizer)
        if clip is not None:
            grads = [p for p in params if p.grad is not None]
            if clip.value:
                torch.nn.utils.clip_grad_value_(grads, clip.value)
            if clip.norm:
                torch.nn.utils.clip_grad_norm_(grads, clip.norm)
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        return {"precision": self.precision,
                "scaler": self.scaler.state_dict() if self.scaler is not None else None}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scaler is not None and state and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])


class Accumulator:
    """Which batches of an epoch step the optimizer, for ``accumulate`` batches a step.

    ``start(step, steps, samples, batch)`` before each batch (its index in the epoch, the
    epoch's number of batches and samples on this process, the batch size) sets ``weight``,
    the batch's share of its group's samples (the loss multiplier), and ``last``, whether the
    batch ends its group (then the optimizer steps and, with several processes, the gradients
    are synchronised). Accumulated gradients of a group cut by a checkpoint travel with the
    checkpoint (:meth:`partial`, :meth:`restore`)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.weight = 1.0
        self.last = True

    def start(self, step: int, steps: int, samples: int, batch: int) -> None:
        first = step - step % self.n
        end = min(first + self.n, steps)
        group = min(end * batch, samples) - first * batch
        this = min((step + 1) * batch, samples) - step * batch
        self.weight = this / group if self.n > 1 else 1.0
        self.last = step + 1 == end

    def no_sync(self, model: Any) -> AbstractContextManager[Any]:
        """Skip the data-parallel gradient sync on a batch that does not end its group."""
        if self.last or not hasattr(model, "no_sync"):
            return nullcontext()
        return model.no_sync()

    def partial(self, session: Any, params: list[Any]) -> list[Any] | None:
        """Every process's accumulated gradients when the last batch did not end its group
        (rank order; all processes call this), else None."""
        if self.last:
            return None
        mine = [None if p.grad is None else p.grad.detach().cpu().clone() for p in params]
        if not session.dist.active:
            return [mine]
        import torch.distributed as dist

        everyone: list[Any] = [None] * session.dist.world
        dist.all_gather_object(everyone, mine)
        return everyone

    def restore(self, session: Any, params: list[Any], partial: list[Any] | None) -> None:
        """Put this process's accumulated gradients back (``partial`` from a checkpoint)."""
        self.last = partial is None
        if partial is None:
            return
        if len(partial) != session.dist.world:
            raise SpecError(f"the run stopped inside an accumulation group with "
                            f"{len(partial)} process(es); resume it with as many",
                            path=("train", "accumulate"),
                            hint=f"--nproc {len(partial)}" if len(partial) > 1
                            else "train without --nproc")
        for p, g in zip(params, partial[session.dist.rank], strict=True):
            p.grad = None if g is None else g.to(p.device)


def mixed_precision(session: Any, cfg: Any) -> tuple[Precision, Accumulator]:
    """The :class:`Precision` and :class:`Accumulator` of a gradient regime's config (an
    error located in the spec for a precision the device cannot train)."""
    try:
        precision = Precision(cfg.precision, session.device)
    except SpecError as err:
        raise session.locate(err) from None
    return precision, Accumulator(cfg.accumulate)
