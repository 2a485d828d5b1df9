"""Whole-series metrics: ``free_run_nrmse``, the network running free on its own predictions.

A free run warms the network up on the true series, then feeds each prediction back as the
next input. The network's state between calls is its reservoirs' (``reservoir`` nodes carry
it, see :func:`specc.layers.reservoir.carried_state`); a network with other recurrent state
cannot run free this way and is refused. NRMSE is scale-free, so it is computed on the arrays
as the network sees them (a series and its next-value targets share one scaling).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..entries import NoParams, SplitContext, SplitMetric
from ..errors import SpecError

if TYPE_CHECKING:
    import torch

PATH = ("train", "metrics")
CHUNK = 64  # start points run together


def free_run(model: Any, warm: torch.Tensor, horizon: int) -> torch.Tensor:
    """Feed ``model`` the true values ``warm`` (N, W, F), then ``horizon - 1`` more steps,
    each the previous prediction; returns the ``horizon`` predictions (N, horizon, F): the
    first is the one-step prediction after the warm-up."""
    import torch
    from torch import nn

    from ..layers.reservoir import carried_state

    if any(isinstance(m, nn.RNNBase) for m in model.modules()):
        raise SpecError("a free run carries the state of reservoir nodes only; this network "
                        "has other recurrent layers", path=PATH, received="free_run_nrmse")
    with torch.no_grad(), carried_state(model) as carriers:
        if not carriers:
            raise SpecError("a free run needs a network with state to carry (reservoir "
                            "nodes); this one has none", path=PATH, received="free_run_nrmse")
        y = _last(model(warm))
        if y.shape[-1] != warm.shape[-1]:
            raise SpecError(f"a free run feeds the output back as the input, but the output has "
                            f"{y.shape[-1]} features and the input {warm.shape[-1]}",
                            path=PATH, received="free_run_nrmse")
        steps = [y]
        for _ in range(horizon - 1):
            y = _last(model(y))
            steps.append(y)
    return torch.cat(steps, dim=1)


def _last(out: Any) -> torch.Tensor:
    if isinstance(out, tuple):
        raise SpecError("a free run needs a network with one output", path=PATH,
                        received=f"{len(out)} outputs")
    return out[:, -1:]


class FreeRunParams(NoParams):
    horizon: int = Field(84, gt=0, description="Steps run free; the error is read at the last.")
    warmup: int = Field(500, gt=0, description="True steps fed before each start point.")
    stride: int = Field(10, gt=0, description="Steps between start points.")
    min_starts: int = Field(100, gt=0, description="Fewest start points accepted.")


class FreeRunNRMSE(SplitMetric):
    """Free-run NRMSE: warm up on the true series, run free for horizon steps, RMS over start
    points of the error at the last step divided by the series' standard deviation."""

    name = "free_run_nrmse"
    Params = FreeRunParams
    mode = "min"
    task = "regression"

    @classmethod
    def key(cls, p: FreeRunParams) -> str:
        return cls.name if p.horizon == 84 else f"{cls.name}_{p.horizon}"

    @classmethod
    def evaluate(cls, p: FreeRunParams, ctx: SplitContext) -> float:
        import torch

        if ctx.model is None:
            raise SpecError(f"metric '{cls.name}' needs the network, which this regime does "
                            "not give its metrics", path=PATH, received=cls.name)
        if len(ctx.inputs) != 1:
            raise SpecError("a free run needs a network with one input", path=PATH,
                            received=f"{len(ctx.inputs)} inputs")
        ref = next(iter(ctx.model.buffers()), None)
        ref = ref if ref is not None else next(ctx.model.parameters())
        x = torch.as_tensor(next(iter(ctx.inputs.values()))).to(ref.device, ref.dtype)
        if x.dim() != 3:
            raise SpecError("a free run needs a sequence input (time, features)", path=PATH,
                            received=f"shape {tuple(x.shape[1:])}")
        starts = x.shape[0] * len(range(p.warmup, x.shape[1] - p.horizon + 1, p.stride))
        if starts < p.min_starts:
            raise SpecError(f"the {ctx.split} part gives {starts} start points for a free run of "
                            f"{p.horizon} steps after {p.warmup} warm-up steps every "
                            f"{p.stride}, fewer than min_starts ({p.min_starts})", path=PATH,
                            received=starts, hint="hold out a longer part, or lower stride "
                            "or warmup")
        errors = [e for series in x for e in _errors(ctx.model, series, p)]
        return float(torch.cat(errors).square().mean().sqrt())


def _errors(model: Any, series: torch.Tensor, p: FreeRunParams) -> list[torch.Tensor]:
    """Errors at the last free-run step, divided by the series' std, for every start point
    of one series (T, F), in chunks."""
    import torch

    length = series.shape[0]
    std = series.double().std(dim=0, unbiased=False).clamp_min(1e-12)
    starts = torch.arange(p.warmup, length - p.horizon + 1, p.stride)
    out = []
    for chunk in starts.split(CHUNK):
        warm = torch.stack([series[s - p.warmup:s] for s in chunk.tolist()])
        pred = free_run(model, warm, p.horizon)[:, -1]
        true = series[chunk + p.horizon - 1]
        out.append(((pred.double() - true.double()) / std).reshape(-1))
    return out
