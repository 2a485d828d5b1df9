"""Quality of a self-organising map: ``quantization_error`` and ``topographic_error``.

``quantization_error`` is the mean Euclidean (not squared, not L1) distance of each input to
its best-matching unit; ``topographic_error`` the fraction of inputs whose best and second-best
matching units are not neighbours on the grid (8 neighbours on a rectangular grid, the 6
adjacent cells on a hexagonal one). Both read the ``som`` node of the network (the activations
arriving at it), so they are whole-split metrics; the ``competitive`` regime logs both every
epoch (monitorable: ``early_stopping: {monitor: quantization_error}``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..entries import SplitContext, SplitMetric
from ..errors import SpecError
from ..registry import abstract

if TYPE_CHECKING:
    import torch

PATH = ("train", "metrics")
CHUNK = 4096


def map_errors(module: Any, x: torch.Tensor) -> tuple[float, float]:
    """(sum of distances to the best-matching unit, count of topographic errors) of the
    input vectors ``x`` (n, features) on the map ``module``, in chunks."""
    import torch

    neighbours = module.neighbours().to(x.device) if len(module.codebook) > 1 else None
    dist, wrong = 0.0, 0.0
    with torch.no_grad():
        for part in x.split(CHUNK):
            d2 = module.squared_distances(part.to(module.codebook))
            k = min(2, d2.shape[-1])
            best, idx = d2.topk(k, dim=-1, largest=False)
            dist += float(best[:, 0].clamp(min=0).double().sqrt().sum())
            if neighbours is not None:
                wrong += float((~neighbours[idx[:, 0], idx[:, 1]]).sum())
    return dist, wrong


def map_figures(module: Any, x: torch.Tensor) -> dict[str, float]:
    """``quantization_error`` and ``topographic_error`` of ``x`` on the map (nan without
    inputs; the topographic error of a one-unit map is nan: there is no second unit)."""
    n = len(x)
    if n == 0:
        return {"quantization_error": float("nan"), "topographic_error": float("nan")}
    dist, wrong = map_errors(module, x)
    te = wrong / n if len(module.codebook) > 1 else float("nan")
    return {"quantization_error": dist / n, "topographic_error": te}


def find_som(model: Any, name: str) -> Any:
    """The one ``som`` module of ``model`` (a SpecError naming metric ``name`` otherwise)."""
    maps = [m for m in model.modules() if hasattr(m, "codebook") and hasattr(m, "neighbours")]
    if len(maps) != 1:
        raise SpecError(f"metric '{name}' reads a network with one 'som' node; this one has "
                        f"{len(maps)}", path=PATH, received=name)
    return maps[0]


def arriving(model: Any, module: Any, inputs: dict[str, Any]) -> torch.Tensor:
    """The vectors arriving at ``module`` when ``model`` runs on ``inputs`` (arrays by graph
    input), flattened to (n, features)."""
    import torch

    seen: list[torch.Tensor] = []
    handle = module.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    ref = module.codebook
    arrays = [torch.as_tensor(v) for v in inputs.values()]
    try:
        with torch.no_grad():
            for start in range(0, len(arrays[0]), CHUNK):
                model(*[a[start:start + CHUNK].to(ref.device) for a in arrays])
    finally:
        handle.remove()
    x = torch.cat(seen) if seen else ref.new_zeros((0, ref.shape[1]))
    return x.reshape(-1, ref.shape[1])


@abstract
class _MapMetric(SplitMetric):
    mode = "min"

    @classmethod
    def evaluate(cls, p: Any, ctx: SplitContext) -> float:
        if ctx.model is None:
            raise SpecError(f"metric '{cls.name}' needs the network, which this regime does "
                            "not give its metrics", path=PATH, received=cls.name)
        module = find_som(ctx.model, cls.name)
        was = ctx.model.training
        ctx.model.eval()
        try:
            x = arriving(ctx.model, module, ctx.inputs)
        finally:
            ctx.model.train(was)
        return map_figures(module, x)[cls.name]


class QuantizationError(_MapMetric):
    """Mean Euclidean distance of each input to its best-matching unit of the SOM."""

    name = "quantization_error"
    aliases = ("qe",)


class TopographicError(_MapMetric):
    """Fraction of inputs whose best and second-best matching units are not grid neighbours."""

    name = "topographic_error"
    aliases = ("te",)
