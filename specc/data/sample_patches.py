"""Patches of scikit-learn's two bundled sample photos (china.jpg, flower.jpg)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData


class SamplePatchesParams(Params):
    patches: int = Field(10000, gt=0, description="Number of patches, drawn evenly from both photos.")
    size: int = Field(8, gt=1, le=64, description="Patch side in pixels.")
    seed: int = Field(0, description="Seed of the patch positions.")
    normalize: bool = Field(
        True, description="As the UFLDL sparse-autoencoder exercise: remove each patch's mean, "
        "clip at 3 standard deviations and map to [0.1, 0.9]; else grey levels 0-255.")


class SamplePatches(Dataset):
    """Random grey patches (size x size) of scikit-learn's two sample photos, for sparse
    autoencoders and filter learning; no labels."""

    name = "sample_patches"
    aliases = ("sample_images",)
    Params = SamplePatchesParams
    task = "unsupervised"

    @classmethod
    def load(cls, params: Any) -> RawData:
        from sklearn.datasets import load_sample_images

        photos = [img.astype(np.float32).mean(axis=2) for img in load_sample_images().images]
        rng = np.random.default_rng(params.seed)
        s = params.size
        out = []
        for i, photo in enumerate(photos):
            count = params.patches // len(photos) + (i < params.patches % len(photos))
            rows = rng.integers(0, photo.shape[0] - s + 1, count)
            cols = rng.integers(0, photo.shape[1] - s + 1, count)
            out.append(np.stack([photo[r:r + s, c:c + s] for r, c in zip(rows, cols, strict=True)]))
        x = np.concatenate(out)[rng.permutation(params.patches)]
        if not params.normalize:
            return RawData({"x": x}, "unsupervised", value_max=255.0, image=True)
        x = x - x.mean(axis=(1, 2), keepdims=True)
        limit = 3 * x.std()
        x = (np.clip(x, -limit, limit) / limit + 1) * 0.4 + 0.1
        return RawData({"x": x.astype(np.float32)}, "unsupervised", value_max=1.0, image=True)
