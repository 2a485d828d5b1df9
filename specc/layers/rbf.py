"""``rbf``: a layer of Gaussian radial basis functions (centres and widths)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..errors import SpecError
from ..types import TensorType
from .base import Example, LayerKind, Params, expect_features

if TYPE_CHECKING:
    import torch

#: Lloyd iterations after the k-means++ seeding (stops earlier when no centre moves).
KMEANS_ITERATIONS = 100


class RBFParams(Params):
    units: int = Field(gt=0, description="Number of centres (output features).")
    trainable_centres: bool = Field(True, description="Train the centres by backprop.")
    trainable_widths: bool = Field(True, description="Train the widths by backprop.")
    from_data: bool = Field(True, description="Place the centres by k-means++ (then k-means) "
                            "on the training data before step 1.")
    width: float | None = Field(None, gt=0, description="Initial width of every centre; "
                                "default d_max / sqrt(2 units) from the data-placed centres "
                                "(d_max: their largest distance), 1.0 without from_data.")


class RBF(LayerKind):
    """Gaussian radial basis layer: ``y_j = exp(-||x - c_j||^2 / (2 sigma_j^2))``.

    Args:
        units: number of centres. trainable_centres / trainable_widths: learn them by
        backprop (``false``: fixed). from_data: before step 1, centres from k-means++ and
        k-means (seeded) on the activations arriving at the node over the training split.
        width: initial sigma; default ``d_max / sqrt(2 units)``.

    Input shape: ``(batch, ..., features)``. Output shape: ``(batch, ..., units)``.

    Example:
        ``- rbf: {units: 10}``
    """

    name = "rbf"
    Params = RBFParams
    feature_axis = -1
    examples = (
        Example("rbf: {units: 5}", ((3,),), (5,)),
        Example("rbf: {units: 4, trainable_widths: false, width: 0.5}", ((6, 2),), (6, 4)),
    )

    @classmethod
    def infer(cls, p: RBFParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        expect_features(x, -1, "feature (last) axis")
        return TensorType(x.shape[:-1] + (p.units,), x.dtype)

    @classmethod
    def count_params(cls, p: RBFParams, inputs: list[TensorType]) -> tuple[int, int]:
        centres, widths = p.units * (inputs[0].shape[-1] or 0), p.units
        trainable = centres * p.trainable_centres + widths * p.trainable_widths
        return (trainable, centres + widths - trainable)

    @classmethod
    def build(cls, p: RBFParams, inputs: list[TensorType]) -> Any:
        return _module(p, inputs[0].shape[-1])

    @classmethod
    def init_from_data(cls, p: RBFParams, module: torch.nn.Module, x: torch.Tensor,
                       generator: torch.Generator) -> None:
        if not p.from_data:
            return
        import torch

        points = x.reshape(-1, x.shape[-1]).to(torch.float64)
        centres = kmeans(points, p.units, generator)
        module.centres.copy_(centres.to(module.centres))
        if p.width is None:
            module.widths.fill_(width_from_spread(centres))


def width_from_spread(centres: torch.Tensor) -> float:
    """sigma = d_max / sqrt(2 k), d_max the largest distance between two of the k centres
    (1.0 when they all coincide)."""
    import math

    import torch

    d_max = float(torch.cdist(centres, centres).max())
    return d_max / math.sqrt(2 * len(centres)) if d_max > 0 else 1.0


def kmeans(points: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding (``generator`` draws) then Lloyd iterations; (k, features)."""
    import torch

    n = len(points)
    if n < k:
        raise SpecError(f"an 'rbf' layer with {k} centres needs at least {k} training samples "
                        f"to place them; the training split has {n}", received=n,
                        hint="use fewer units, more data, or from_data: false")
    first = int(torch.randint(n, (1,), generator=generator))
    centres = points[first:first + 1]
    d2 = ((points - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        weights = d2 if float(d2.sum()) > 0 else torch.ones_like(d2)
        i = int(torch.multinomial(weights.cpu(), 1, generator=generator))
        centres = torch.cat([centres, points[i:i + 1]])
        d2 = torch.minimum(d2, ((points - points[i]) ** 2).sum(1))
    for _ in range(KMEANS_ITERATIONS):
        assign = torch.cdist(points, centres).argmin(1)
        counts = torch.bincount(assign, minlength=k).to(points.dtype)
        sums = torch.zeros_like(centres).index_add_(0, assign, points)
        moved = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centres)
        if torch.equal(moved, centres):
            break
        centres = moved
    return centres


def _module(p: RBFParams, features: int) -> Any:
    import torch
    from torch import nn

    class RBFLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self._add("centres", torch.randn(p.units, features), p.trainable_centres)
            self._add("widths", torch.full((p.units,), p.width or 1.0), p.trainable_widths)

        def _add(self, name: str, value: torch.Tensor, trainable: bool) -> None:
            """A parameter, or a buffer when fixed (saved and exported, never optimised)."""
            if trainable:
                self.register_parameter(name, nn.Parameter(value))
            else:
                self.register_buffer(name, value)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            d2 = ((x.unsqueeze(-2) - self.centres) ** 2).sum(-1)
            return torch.exp(-d2 / (2 * (self.widths * self.widths).clamp(min=1e-12)))

    return RBFLayer()
