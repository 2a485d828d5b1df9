"""``som``: a Kohonen self-organising map, a grid of units each holding a codebook vector.

The codebook is a buffer (nothing in it is learned by backprop): the ``competitive`` regime
writes it. The module exposes the map's math to regimes and metrics: squared and Euclidean
distances of inputs to every unit, the best-matching unit (BMU), the units' (row, col) grid
coordinates, their positions in the plane (a hexagonal grid uses offset coordinates, odd rows
shifted right by half a unit, so the six neighbours of a cell all lie at distance 1), the
distances between units on the grid, grid steps and adjacency. Its inference form is one of
three outputs: the BMU's index (int64), its grid coordinates, or the distances to every unit.

``specc sample RUN`` draws the U-matrix (mean distance of each unit's codebook vector to its
grid neighbours; hexagons for a hexagonal map) and, with ``--what planes``, the component
planes (one map per input feature).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params, expect_features

if TYPE_CHECKING:
    import numpy as np
    import torch

PICTURES = ("umatrix", "planes")
SQRT3_2 = math.sqrt(3.0) / 2.0


class SOMParams(Params):
    rows: int = Field(gt=0, description="Rows of the grid of units.")
    cols: int = Field(gt=0, description="Columns of the grid of units.")
    topology: Literal["rectangular", "hexagonal"] = Field(
        "rectangular", description="Grid of squares (8 neighbours) or hexagons (6 neighbours, "
        "odd rows shifted right by half a unit).")
    output: Literal["bmu", "coordinates", "distances"] = Field(
        "bmu", description="The best-matching unit's index (int64), its (row, col) grid "
        "coordinates, or the Euclidean distances to every unit.")


class SOM(LayerKind):
    """Kohonen self-organising map: a rows x cols grid of codebook vectors (a buffer).

    Args:
        rows, cols: the grid (>= 1 each). topology: ``rectangular`` or ``hexagonal``.
        output: ``bmu`` (index of the best-matching unit, int64, row-major), ``coordinates``
        (its (row, col)) or ``distances`` (to every unit).

    Trained by the ``competitive`` regime (Kohonen's batch or online rule).

    Input shape: ``(batch, ..., features)``. Output shape: ``(batch, ..., 1)`` int64,
    ``(batch, ..., 2)`` or ``(batch, ..., rows * cols)``.

    Example:
        ``- som: {rows: 7, cols: 7, topology: hexagonal}``
    """

    name = "som"
    Params = SOMParams
    category = "competitive"
    regimes = ("competitive",)
    feature_axis = -1
    fuses_activation = False
    examples = (
        Example("som: {rows: 3, cols: 4}", ((5,),), (1,)),
        Example("som: {rows: 2, cols: 3, topology: hexagonal, output: coordinates}",
                ((4,),), (2,)),
        Example("som: {rows: 2, cols: 2, output: distances}", ((6, 3),), (6, 4)),
    )

    @classmethod
    def infer(cls, p: SOMParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        expect_features(x, -1, "feature (last) axis")
        if p.output == "bmu":
            return TensorType(x.shape[:-1] + (1,), "int64")
        size = 2 if p.output == "coordinates" else p.rows * p.cols
        return TensorType(x.shape[:-1] + (size,), x.dtype)

    @classmethod
    def count_params(cls, p: SOMParams, inputs: list[TensorType]) -> tuple[int, int]:
        return (0, p.rows * p.cols * (inputs[0].shape[-1] or 0))

    @classmethod
    def build(cls, p: SOMParams, inputs: list[TensorType]) -> Any:
        return _module(p, inputs[0].shape[-1])

    @classmethod
    def draw(cls, p: SOMParams, module: torch.nn.Module, ctx: Any) -> Any:
        """The U-matrix (default, ``--what umatrix``) or the component planes."""
        what = ctx.what or PICTURES[0]
        if what not in PICTURES:
            ctx.refuse(PICTURES)
        codebook = module.codebook.detach().cpu().double().numpy()
        if what == "umatrix":
            values = umatrix(codebook, module.neighbours().cpu().numpy())
            panels = [("U-matrix (mean distance to neighbours)", values)]
            title = "U-matrix"
        else:
            names = _feature_names(ctx, codebook.shape[1])
            panels = [(name, codebook[:, i]) for i, name in enumerate(names)]
            title = "component planes"
        return _draw_panels(ctx, p, module.positions().numpy(), panels, title)


def umatrix(codebook: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Mean Euclidean distance of each unit's codebook vector to those of its grid
    neighbours (units, ); 0 for a unit with none (a 1x1 map)."""
    import numpy as np

    d = np.sqrt(((codebook[:, None, :] - codebook[None, :, :]) ** 2).sum(-1))
    count = neighbours.sum(1)
    return np.where(count > 0, (d * neighbours).sum(1) / np.maximum(count, 1), 0.0)


def _feature_names(ctx: Any, features: int) -> list[str]:
    """Names of the input features: the dataset's when the SOM reads a graph input and the
    dataset names them (iris), else ``feature i``."""
    names: list[Any] = []
    if ctx.graph.nodes[ctx.node].inputs[0] in ctx.graph.inputs and ctx.spec.train is not None:
        from ..registry import current

        data = ctx.spec.train.data
        dataset = current().datasets.get(data.dataset)
        raw = dataset.load(dataset.Params.model_validate(data.dataset_params))
        names = raw.meta.get("features") or []
    return [str(names[i]) if i < len(names) else f"feature {i}" for i in range(features)]


def _draw_panels(ctx: Any, p: SOMParams, pos: np.ndarray,
                 panels: list[tuple[str, np.ndarray]], title: str) -> Any:
    """One panel per (label, value per unit), each unit a square or a hexagon."""
    from matplotlib.collections import PolyCollection

    plt = ctx.pyplot()
    cols = min(len(panels), 4)
    rows = -(-len(panels) // cols)
    aspect = (p.rows * (SQRT3_2 if p.topology == "hexagonal" else 1.0) + 1) / (p.cols + 1.5)
    side = 5.5 if len(panels) == 1 else 3.6  # inches per panel
    fig, axes = plt.subplots(rows, cols, squeeze=False,
                             figsize=(side * cols, side * rows * max(aspect, 0.3) + 0.6))
    shape = _cell(p.topology)
    for k, (label, values) in enumerate(panels):
        ax = axes[k // cols][k % cols]
        cells = PolyCollection([xy + shape for xy in pos], array=values, cmap="viridis",
                               edgecolors="white", linewidths=0.5)
        ax.add_collection(cells)
        ax.set_xlim(pos[:, 0].min() - 0.7, pos[:, 0].max() + 0.7)
        ax.set_ylim(pos[:, 1].max() + 0.7, pos[:, 1].min() - 0.7)  # row 0 at the top
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(label, fontsize=9)
        fig.colorbar(cells, ax=ax, fraction=0.046, pad=0.04)
    for k in range(len(panels), rows * cols):
        axes[k // cols][k % cols].axis("off")
    return ctx.save(fig, title)


def _cell(topology: str) -> np.ndarray:
    """Corners of one cell around its centre: a unit square or a hexagon with unit spacing."""
    import numpy as np

    if topology == "rectangular":
        return np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    angles = np.deg2rad(np.arange(6) * 60 + 30)
    return np.stack([np.cos(angles), np.sin(angles)], 1) / math.sqrt(3.0)


def grid_coordinates(rows: int, cols: int) -> list[tuple[int, int]]:
    """(row, col) of every unit, row-major (unit index = row * cols + col)."""
    return [(r, c) for r in range(rows) for c in range(cols)]


def _module(p: SOMParams, features: int) -> Any:
    import torch
    from torch import nn

    class SOMLayer(nn.Module):
        """The map: ``codebook`` (rows * cols, features), unit index = row * cols + col."""

        def __init__(self) -> None:
            super().__init__()
            self.rows, self.cols, self.topology = p.rows, p.cols, p.topology
            self.register_buffer("codebook", torch.randn(p.rows * p.cols, features))

        # -- distances to inputs ----------------------------------------------------------
        def squared_distances(self, x: torch.Tensor) -> torch.Tensor:
            """Squared Euclidean distance of each input vector to every unit (..., units)."""
            return ((x.unsqueeze(-2) - self.codebook) ** 2).sum(-1)

        def distances(self, x: torch.Tensor) -> torch.Tensor:
            """Euclidean distance of each input vector to every unit (..., units)."""
            return self.squared_distances(x).sqrt()

        def bmu(self, x: torch.Tensor) -> torch.Tensor:
            """Index of the best-matching unit of each input vector (...,), int64 (the first
            on a tie)."""
            return self.squared_distances(x).argmin(-1)

        # -- the grid ---------------------------------------------------------------------
        def grid(self) -> torch.Tensor:
            """(row, col) of every unit (units, 2), float32."""
            return torch.tensor(grid_coordinates(self.rows, self.cols), dtype=torch.float32)

        def positions(self) -> torch.Tensor:
            """Centre of every unit in the plane (units, 2) as (x, y): (col, row) on a
            rectangular grid; a hexagonal one shifts odd rows by 0.5 and spaces rows by
            sqrt(3)/2, so adjacent cells are 1 apart."""
            rc = self.grid().double()
            if self.topology == "rectangular":
                return rc.flip(1)
            x = rc[:, 1] + 0.5 * (rc[:, 0] % 2)
            return torch.stack([x, rc[:, 0] * SQRT3_2], 1)

        def grid_distances(self) -> torch.Tensor:
            """Euclidean distance between every two units' positions (units, units), float64:
            the distance a Gaussian neighbourhood reads."""
            pos = self.positions()
            return torch.cdist(pos, pos)

        def steps(self) -> torch.Tensor:
            """Cells crossed between every two units (units, units), int64: the Chebyshev
            distance on a rectangular grid (diagonal cells are neighbours), the hex distance
            (through cube coordinates of the odd-row offset grid) on a hexagonal one."""
            rc = self.grid().long()
            r, c = rc[:, 0], rc[:, 1]
            if self.topology == "rectangular":
                return torch.maximum((r[:, None] - r).abs(), (c[:, None] - c).abs())
            q = c - (r - (r & 1)) // 2  # odd-r offset -> axial (q, r); cube s = -q - r
            s = -q - r
            return torch.stack([(q[:, None] - q).abs(), (r[:, None] - r).abs(),
                                (s[:, None] - s).abs()]).amax(0)

        def neighbours(self) -> torch.Tensor:
            """Whether two units are adjacent on the grid (units, units), bool: 8 neighbours
            on a rectangular grid, 6 on a hexagonal one."""
            return self.steps() == 1

        # -- initialisation ---------------------------------------------------------------
        def init_pca(self, mean: torch.Tensor, cov: torch.Tensor) -> None:
            """Kohonen's linear initialisation: the codebook spans the plane of the two
            principal components of the data (mean, covariance), each grid axis from -1 to +1
            times the component's standard deviation, the first along the longer axis."""
            mean, cov = mean.detach().double().cpu(), cov.detach().double().cpu()
            lam, vec = torch.linalg.eigh(cov)
            order = lam.argsort(descending=True)
            lam, vec = lam[order].clamp(min=0), vec[:, order]
            vec = vec * vec.gather(0, vec.abs().argmax(0)[None]).sign()  # largest entry > 0
            rc = self.grid().double()
            along = [_span(rc[:, 0], self.rows), _span(rc[:, 1], self.cols)]
            if self.cols > self.rows:
                along.reverse()
            w = mean.expand(len(rc), -1).clone()
            for k in range(min(2, vec.shape[1])):
                w += along[k][:, None] * lam[k].sqrt() * vec[:, k]
            self.codebook.copy_(w.to(self.codebook))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if p.output == "distances":
                return self.distances(x)
            index = self.bmu(x)
            if p.output == "bmu":
                return index.unsqueeze(-1)
            return self.grid().to(x.device)[index]

    return SOMLayer()


def _span(index: torch.Tensor, size: int) -> torch.Tensor:
    """Grid indices 0 .. size - 1 mapped to -1 .. 1 (0 for a grid of one)."""
    return index * (2.0 / (size - 1)) - 1.0 if size > 1 else index * 0.0
