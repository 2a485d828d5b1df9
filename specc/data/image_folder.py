"""A folder of images with one subfolder per class (Pillow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData, data_error

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageFolderParams(Params):
    path: str = Field(description="Folder holding one subfolder of images per class.")
    size: int | tuple[int, int] | None = Field(
        None, description="Resize every image to (height, width); needed when sizes differ.")
    color: Literal["grey", "rgb", "auto"] = Field(
        "auto", description="auto: grey when every image is single-channel, else rgb.")


class ImageFolder(Dataset):
    """Images from ``path/<class>/*.png|jpg|...``: samples (C, H, W), values 0-255, labels
    from the sorted class folder names."""

    name = "image_folder"
    aliases = ("images",)
    Params = ImageFolderParams

    @classmethod
    def load(cls, params: Any) -> RawData:
        from PIL import Image, UnidentifiedImageError

        root = Path(params.path).expanduser()
        if not root.is_dir():
            raise data_error(f"image folder '{params.path}' does not exist" if not root.exists()
                             else f"'{params.path}' is not a folder", "path", received=params.path)
        classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        files = {c: sorted(f for f in (root / c).iterdir() if f.suffix.lower() in EXTENSIONS)
                 for c in classes}
        classes = [c for c in classes if files[c]]
        if not classes:
            raise data_error(f"image folder '{params.path}' has no classes: expected one "
                             "subfolder of images per class", "path", received=params.path,
                             hint=f"e.g. {params.path}/cat/1.png, {params.path}/dog/2.png")
        size = (params.size, params.size) if isinstance(params.size, int) else params.size
        images, labels = [], []
        for k, c in enumerate(classes):
            for f in files[c]:
                try:
                    with Image.open(f) as im:
                        im.load()
                        images.append(im.copy())
                except (UnidentifiedImageError, OSError) as exc:
                    raise data_error(f"cannot read image '{f}': {exc}", "path") from None
                labels.append(k)
        mode = params.color
        if mode == "auto":
            mode = "grey" if all(im.mode in ("L", "1", "I;16", "I") for im in images) else "rgb"
        arrays = []
        for im, f in zip(images, (f for c in classes for f in files[c]), strict=True):
            im = im.convert("L" if mode == "grey" else "RGB")
            if size is not None:
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            a = np.asarray(im, dtype=np.float32)
            a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
            if arrays and a.shape != arrays[0].shape:
                raise data_error(f"images differ in size: '{f}' is {a.shape[2]}x{a.shape[1]} "
                                 f"but the first is {arrays[0].shape[2]}x{arrays[0].shape[1]}",
                                 "size", hint="set size: [height, width] to resize them")
            arrays.append(a)
        return RawData({"x": np.stack(arrays), "y": np.array(labels, dtype=np.int64)},
                       "classification", labels=classes, value_max=255.0, image=True)
