"""Figures written as image files: headless matplotlib (Agg, imported on first use), image
grids of samples, and atomic writes. Low in the import order, so training can draw too (a
GAN's sample grid each epoch) as well as :mod:`specc.viz`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SpecError


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# -- images -------------------------------------------------------------------------------------


def image_shape(shape: tuple[int | None, ...]) -> tuple[int, int, int]:
    """(channels, height, width) to draw a sample of this per-sample shape as."""
    if len(shape) == 3 and shape[0] in (1, 3) and None not in shape:
        return shape  # type: ignore[return-value]
    if len(shape) == 2 and None not in shape:
        return (1, shape[0], shape[1])  # type: ignore[return-value]
    n = math.prod(d or 1 for d in shape)
    for c in (1, 3):
        side = math.isqrt(n // c)
        if n % c == 0 and side * side * c == n:
            return (c, side, side)
    raise SpecError(f"cannot draw samples of shape {list(shape)} as images",
                    hint="sample draws image-like data: (C, H, W), (H, W) or a square number of "
                    "values")


def mosaic(images: np.ndarray, cols: int, pad: int = 1, fill: float = 1.0) -> np.ndarray:
    """Images (N, C, H, W) tiled in a grid with ``cols`` columns; (rows*H', cols*W', C)."""
    n, c, h, w = images.shape
    rows = max(1, -(-n // cols))
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), fill, np.float32)
    for i, img in enumerate(images):
        r, k = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        out[y:y + h, x:x + w] = np.moveaxis(img, 0, -1)
    return out


def save_grid(rows: list[tuple[str, np.ndarray]], output: str | Path, title: str,
              cols: int | None = None, normalize: bool = False) -> Path:
    """Draw labelled rows of images (each (N, C, H, W), values in [0, 1] unless
    ``normalize``) as one PNG."""
    plt = pyplot()
    if normalize:
        rows = [(label, _normalize(imgs)) for label, imgs in rows]
    cols = cols or max(len(imgs) for _, imgs in rows)
    tiles = [mosaic(np.clip(imgs, 0.0, 1.0), cols) for _, imgs in rows]
    height = sum(t.shape[0] for t in tiles)
    width = max(t.shape[1] for t in tiles)
    scale = min(10 / width, 10 / height) * 1.0
    fig, axes = plt.subplots(len(rows), 1, squeeze=False,
                             figsize=(max(width * scale, 3), height * scale + 0.6 + 0.3 * len(rows)),
                             gridspec_kw={"height_ratios": [t.shape[0] for t in tiles]})
    for ax, (label, _), tile in zip(axes[:, 0], rows, tiles, strict=True):
        grey = tile.shape[-1] == 1
        ax.imshow(tile[..., 0] if grey else tile, cmap="gray" if grey else None, vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if label:
            ax.set_title(label, fontsize=9, loc="left")
    return save_figure(fig, title, output)


def _normalize(imgs: np.ndarray) -> np.ndarray:
    """Each image scaled on its own to [0, 1] (filters have arbitrary scales)."""
    flat = imgs.reshape(len(imgs), -1)
    lo, hi = flat.min(axis=1), flat.max(axis=1)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    return ((flat - lo[:, None]) / span[:, None]).reshape(imgs.shape)


def image_format(output: str | Path) -> str:
    """The image format of ``output`` from its extension (png when it has none)."""
    import matplotlib.backends.backend_agg as agg

    suffix = Path(output).suffix.lower()
    fmt = suffix.lstrip(".") or "png"
    known = agg.FigureCanvasAgg.get_supported_filetypes()
    if fmt not in known:
        raise SpecError(f"cannot write an image of type '{suffix}'", path=("--output",),
                        received=str(output),
                        hint="use one of " + ", ".join(f".{k}" for k in sorted(known)))
    return fmt


def save_figure(fig: Any, title: str, output: str | Path) -> Path:
    """Title, lay out, write (PNG, or the format of the extension) through a temporary file
    (creating the folder) and free the figure."""
    import matplotlib.pyplot as plt

    from .fileio import atomic_output

    try:
        fmt = image_format(output)
        fig.suptitle(title, fontsize=11)
        fig.tight_layout()
        with atomic_output(output, "image file", parents=True) as tmp:
            fig.savefig(tmp, dpi=100, format=fmt)
    finally:
        plt.close(fig)
    return Path(output)
