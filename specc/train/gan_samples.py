"""Samples of a trained generator: drawn from seeded noise, mapped back to the dataset's raw
units (the run's input preprocessing inverted) or to [0, 1] for pictures, and sample grids.

The adversarial regime draws its fixed-noise grid every epoch and gives the ``generate``
callable to metrics; ``specc sample`` on a GAN run draws a grid of the (EMA) generator's
samples. Torch is imported inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

CHUNK = 256  # samples per generator forward


def latent(graph: Any, n: int, gen: torch.Generator, device: Any = None,
           categories: int = 0, labels: torch.Tensor | None = None
           ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(z, c)``: ``n`` N(0, 1) codes for the generator ``graph``'s one input, drawn from
    ``gen``, with ``categories`` K their last K entries a one-hot categorical code instead
    (InfoGAN), and ``c`` the categories (``labels`` when given, else uniform draws after the
    noise; None without categories)."""
    import torch

    shape = tuple(next(iter(graph.inputs.values())).shape)
    z = torch.randn((n, *shape), generator=gen, device=gen.device)
    if not categories:
        return z.to(device or gen.device), None
    c = labels.to(gen.device) if labels is not None else \
        torch.randint(0, categories, (n,), generator=gen, device=gen.device)
    z[:, -categories:] = torch.nn.functional.one_hot(c, categories).to(z.dtype)
    dev = device or gen.device
    return z.to(dev), c.to(dev)


def generate(module: Any, graph: Any, n: int, seed: int, device: Any = None,
             categories: int = 0, labels: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` samples of ``module`` (in eval mode, no gradients) from codes seeded by ``seed``
    (with ``categories``: of the categories ``labels`` when given, else uniform), in the
    network's own units, on the CPU."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    was = module.training
    module.eval()
    out = []
    with torch.no_grad():
        for i in range(0, n, CHUNK):
            m = min(CHUNK, n - i)
            part = None if labels is None else labels[i:i + m]
            z, _ = latent(graph, m, gen, device or "cpu", categories, part)
            y = module(z)
            out.append((y[0] if isinstance(y, tuple) else y).float().cpu())
    module.train(was)
    return torch.cat(out) if out else torch.zeros((0,))


def invert(rec: dict[str, Any] | None, x: np.ndarray, t: Any) -> np.ndarray:
    """Raw units of samples ``x`` preprocessed by record ``rec`` (its steps undone, last
    first)."""
    from ..data.prepare import preprocess_steps

    if not rec:
        return x
    x = x.astype(np.float32, copy=True)
    for op, c in reversed(preprocess_steps(rec, t, x.ndim)):
        if op == "mul":
            x /= c
        elif op == "sub":
            x += c
        else:
            x *= c
    return x


def to_unit(rec: dict[str, Any] | None, x: np.ndarray, t: Any) -> np.ndarray:
    """Samples as pictures in [0, 1]: raw units over the data's maximum (``scale: unit``),
    else the whole batch min-max scaled with one range."""
    raw = invert(rec, x, t)
    if rec and rec.get("scale") == "unit":
        return np.clip(raw / float(rec["max"]), 0.0, 1.0)
    lo, hi = float(raw.min()), float(raw.max())
    return (raw - lo) / (hi - lo if hi - lo > 1e-12 else 1.0)


def grid_codes(n: int, categories: int) -> tuple[Any, int | None]:
    """The categories of a grid of ``n`` samples, one per column (None without a code), and
    its column count."""
    import torch

    if not categories:
        return None, None
    return torch.arange(n) % categories, categories


def save_samples(images: np.ndarray, shape: tuple[int | None, ...], output: str | Path,
                 title: str, cols: int | None = None) -> Path:
    """A grid of samples (values in [0, 1]) as an image file, ``cols`` (8, or sqrt n) a
    row."""
    import math

    from ..figures import image_shape, save_grid

    imgs = images.reshape((len(images), *image_shape(shape)))
    cols = max(1, min(len(imgs), cols or max(8, math.isqrt(len(imgs)))))
    return save_grid([("", imgs)], output, title, cols=cols)


def sample_run(run: str | Path, output: str | Path, *, n: int | None, seed: int,
               checkpoint: str) -> Path:
    """``specc sample`` on an adversarial run: a grid of ``n`` (64) samples of the checkpoint's
    generator (the EMA weights when the run keeps them) from codes seeded by ``seed``."""
    from ..runs.folder import load_run
    from .api import load_model

    spec, _, info = load_run(run, checkpoint)
    cfg = spec.train
    graph = spec.network(cfg.generator)
    model = load_model(run, cfg.generator, info["checkpoint"])
    disc = spec.network(cfg.discriminator)
    name, t = next(iter(disc.inputs.items()))
    rec = ((info.get("data") or {}).get("preprocess") or {}).get(name)
    categories = cfg.info.categories if cfg.info else 0
    labels, cols = grid_codes(n or 64, categories)
    out = generate(model, graph, n or 64, seed, None, categories, labels).numpy()
    ema = " (EMA)" if cfg.ema is not None else ""
    code = ", one category a column" if categories else ""
    title = (f"{spec.name}: generator{ema} samples ({info['checkpoint']} checkpoint, epoch "
             f"{info['epoch']}, seed {seed}{code})")
    return save_samples(to_unit(rec if isinstance(rec, dict) else None, out, t),
                        tuple(t.shape), output, title, cols=cols)
