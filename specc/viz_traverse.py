"""Latent traversals of a VAE (``specc sample RUN --traverse``).

One held-out sample is encoded (z = the encoder's mean); each row of the picture then sweeps one
code dimension over ``-3 .. 3`` (prior standard deviations, the code's prior being N(0, I)) with
the other dimensions held at the sample's code, and decodes every step. Rows are the dimensions
the encoder uses most first: ordered by their mean KL divergence from the prior over the
held-out split (a dimension with KL near 0 is ignored by the encoder and its row stays flat).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .errors import SpecError
from .figures import mosaic, pyplot, save_figure
from .viz import _as_images, held_out_inputs, run_from

SPAN = 3.0  # prior standard deviations each side
STEPS = 9
MAX_ROWS = 32


def code_node(spec: Any) -> tuple[Any, str]:
    """(graph, name of its ``gaussian_sample`` node) of the run's spec, or a SpecError."""
    for graph in spec.networks.values():
        name = next((n for n, node in graph.nodes.items() if node.kind == "gaussian_sample"),
                    None)
        if name is not None:
            return graph, name
    raise SpecError(f"spec '{spec.name}' has no gaussian_sample code to traverse",
                    path=("--traverse",),
                    hint="--traverse draws latent traversals of variational autoencoders (a "
                    "gaussian_sample layer, e.g. the built-in vae or dcign); leave it out for "
                    "the other pictures")


def traverse_grid(spec: Any, model: Any, output: str | Path, title: str, *,
                  n: int | None = None, seed: int = 0, split: str | None = None) -> Path:
    """Draw the traversal grid of a trained VAE: ``n`` steps (default 9) per row; ``seed``
    picks the held-out sample."""
    import torch

    graph, code = code_node(spec)
    steps = STEPS if n is None else n
    if steps < 2:
        raise SpecError("a traversal needs at least 2 steps", path=("-n",), received=steps,
                        hint=f"e.g. -n {STEPS}")
    if len(graph.inputs) != 1:
        raise SpecError(f"--traverse encodes one input; network '{graph.name}' has "
                        f"{len(graph.inputs)}", path=("--traverse",))
    x = held_out_inputs(spec, split)
    mu, logvar = _encode(model, graph, code, x)
    index = int(np.random.default_rng(seed).integers(len(x)))
    dims, kl, z = traversal_codes(mu, logvar, index, steps)
    own = mu[index:index + 1].reshape(1, -1)
    decoded = decode(model, graph, code, torch.from_numpy(np.concatenate([own, z])))
    top = decoded[:1]
    shown = x[index].size == top.size  # the network reconstructs its input: show that too
    if shown:
        top = np.concatenate([x[index:index + 1].reshape(top.shape), top])
    labels = ["input, reconstruction" if shown else "reconstruction"]
    labels += [f"z[{dim}]  KL {kl[dim]:.2f}" for dim in dims]
    return _draw(top, decoded[1:], labels, steps, output,
                 f"{title}: latent traversal of held-out sample {index}")


def _draw(top: np.ndarray, grid: np.ndarray, labels: list[str], steps: int,
          output: str | Path, title: str) -> Path:
    """One mosaic: the sample and its reconstruction on top, then a row per code dimension
    (labelled on the left, the swept values below)."""
    plt = pyplot()
    _, _, h, w = grid.shape
    blank = np.ones((steps - len(top),) + grid.shape[1:], np.float32)
    tile = mosaic(np.clip(np.concatenate([top, blank, grid]), 0.0, 1.0), steps)
    rows = len(labels)
    cell = min(0.8, 14 / rows)
    fig, ax = plt.subplots(figsize=(max(cell * steps + 2.2, 7.0), cell * rows + 1.2))
    grey = tile.shape[-1] == 1
    ax.imshow(tile[..., 0] if grey else tile, cmap="gray" if grey else None, vmin=0, vmax=1,
              interpolation="nearest")
    centre = np.arange(rows) * (h + 1) + 1 + h / 2
    ax.set_yticks(centre, labels, fontsize=8)
    ax.set_xticks(np.arange(steps) * (w + 1) + 1 + w / 2,
                  [f"{v:.3g}" for v in np.linspace(-SPAN, SPAN, steps)], fontsize=8)
    ax.set_xlabel("code value (prior standard deviations)", fontsize=9)
    ax.tick_params(length=0)
    return save_figure(fig, title, output)


def traversal_codes(mu: np.ndarray, logvar: np.ndarray, index: int,
                    steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dimensions drawn, most used first; each dimension's mean KL from the prior; the codes,
    ``steps`` a dimension) for encoder means and log variances (N, ...) of a split, sweeping
    around the code of sample ``index``."""
    kl = (-0.5 * (1 + logvar - mu**2 - np.exp(logvar))).reshape(len(mu), -1).mean(axis=0)
    dims = np.argsort(-kl, kind="stable")[:MAX_ROWS]
    values = np.linspace(-SPAN, SPAN, steps, dtype=np.float32)
    z = np.repeat(mu[index].reshape(1, -1), len(dims) * steps, axis=0)
    for row, dim in enumerate(dims):
        z[row * steps:(row + 1) * steps, dim] = values
    return dims, kl, z


def _encode(model: Any, graph: Any, code: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and log variance arriving at the code node for ``x``."""
    import torch

    mean, logvar = graph.nodes[code].inputs
    env = run_from(model, graph, {next(iter(graph.inputs)): torch.from_numpy(
        np.ascontiguousarray(x))})
    return env[mean].cpu().numpy(), env[logvar].cpu().numpy()


def decode(model: Any, graph: Any, code: str, z: Any) -> np.ndarray:
    """The network's output for codes ``z`` (a tensor, N x the code's shape) as images
    (N, C, H, W)."""
    env = run_from(model, graph, {code: z.reshape((len(z),) + tuple(graph.type_of(code).shape))})
    out = graph.outputs[0]
    if out not in env:
        raise SpecError(f"output '{out}' does not depend on the sampled code '{code}' alone")
    return _as_images(env[out], graph.type_of(out).shape)
