"""Random augmentation of training batches, in pure PyTorch (``affine_grid`` + ``grid_sample``).

Geometric transforms follow Keras's ``ImageDataGenerator``: rotation (degrees), width/height
shift (fractions of the size), shear (degrees), zoom (``z`` -> factors in [1-z, 1+z], drawn
independently for x and y; < 1 zooms in) and flips, combined into one affine map per sample
and applied with a single bilinear resampling. Noise: additive Gaussian and masking (zeroing
a random fraction of values). All randomness comes from the ``torch.Generator`` passed in, so
a resumed run repeats the same augmentations.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..errors import SpecError
from ..types import TensorType

_PADDING = {"nearest": "border", "constant": "zeros", "reflect": "reflection"}


class Augmenter:
    """Applies an ``AugmentConfig`` to batches of one network input."""

    def __init__(self, cfg: Any, t: TensorType, name: str = "x") -> None:
        self.cfg = cfg
        zoom = cfg.zoom
        self.zoom = (1 - zoom, 1 + zoom) if isinstance(zoom, int | float) else tuple(zoom)
        self.geometric = bool(cfg.rotation or cfg.width_shift or cfg.height_shift or cfg.shear
                              or self.zoom != (1.0, 1.0) or cfg.horizontal_flip
                              or cfg.vertical_flip)
        self.noisy = bool(cfg.gaussian_noise or cfg.masking_noise)
        if self.geometric and (t.rank != 3 or None in t.shape):
            raise SpecError(f"geometric augmentation needs image inputs (C, H, W); input "
                            f"'{name}' has shape {t}", path=("train", "data", "augment"),
                            hint="noise (gaussian_noise, masking_noise) works on any input")
        if (self.geometric or self.noisy) and t.dtype.startswith("int"):
            raise SpecError(f"cannot augment integer input '{name}'",
                            path=("train", "data", "augment"))

    def sample(self, n: int, gen: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
        """Random transform parameters for ``n`` samples (angles in degrees, shifts as
        fractions of the size, flips as +-1)."""
        c = self.cfg

        def uniform(lo: float, hi: float) -> torch.Tensor:
            return lo + (hi - lo) * torch.rand(n, generator=gen, device=device)

        def coin(enabled: bool) -> torch.Tensor:
            if not enabled:
                return torch.ones(n, device=device)
            return torch.where(torch.rand(n, generator=gen, device=device) < 0.5, -1.0, 1.0)

        return {"rotation": uniform(-c.rotation, c.rotation), "shear": uniform(-c.shear, c.shear),
                "zoom_x": uniform(*self.zoom), "zoom_y": uniform(*self.zoom),
                "shift_x": uniform(-c.width_shift, c.width_shift),
                "shift_y": uniform(-c.height_shift, c.height_shift),
                "flip_x": coin(c.horizontal_flip), "flip_y": coin(c.vertical_flip)}

    @staticmethod
    def affine(p: dict[str, torch.Tensor], height: int, width: int) -> torch.Tensor:
        """Affine maps (n, 2, 3) from output to input normalised coordinates:
        input = R(rotation) @ Shear @ Zoom @ Flip @ output + shift, in pixel units."""
        theta, shear = torch.deg2rad(p["rotation"]), torch.deg2rad(p["shear"])
        n, device = len(theta), theta.device
        cos, sin = torch.cos(theta), torch.sin(theta)
        rot = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], 1)
        zero, one = torch.zeros(n, device=device), torch.ones(n, device=device)
        sh = torch.stack([torch.stack([one, -torch.sin(shear)], -1),
                          torch.stack([zero, torch.cos(shear)], -1)], 1)
        zf = torch.stack([torch.stack([p["zoom_x"] * p["flip_x"], zero], -1),
                          torch.stack([zero, p["zoom_y"] * p["flip_y"]], -1)], 1)
        m = rot @ sh @ zf
        # to normalised coordinates: S^-1 M S with S = diag(W/2, H/2)
        s = torch.tensor([width / 2, height / 2], device=device)
        m = m * s[None, None, :] / s[None, :, None]
        t = torch.stack([p["shift_x"] * 2, p["shift_y"] * 2], dim=1)
        return torch.cat([m, t[:, :, None]], dim=2)

    def warp(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode=_PADDING[self.cfg.fill],
                             align_corners=False)

    def apply_geometric(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if not self.geometric:
            return x
        n, _, h, w = x.shape
        return self.warp(x, self.affine(self.sample(n, gen, x.device), h, w))

    def apply_noise(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        c = self.cfg
        if c.gaussian_noise:
            x = x + c.gaussian_noise * torch.randn(x.shape, generator=gen, device=x.device,
                                                   dtype=x.dtype)
        if c.masking_noise:
            keep = torch.rand(x.shape, generator=gen, device=x.device) >= c.masking_noise
            x = x * keep.to(x.dtype)
        return x

