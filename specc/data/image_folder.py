"""A folder of images with one subfolder per class (Pillow)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from .base import Dataset, Params, RawData, data_error, reading

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


MAX_SIZE = 4096  # largest resize target (height or width)


class ImageFolderParams(Params):
    path: str = Field(description="Folder holding one subfolder of images per class.")
    size: int | tuple[int, int] | None = Field(
        None, description=f"Resize every image to (height, width), each 1..{MAX_SIZE}; needed "
        "when sizes differ.")
    color: Literal["grey", "rgb", "auto"] = Field(
        "auto", description="auto: grey when every image is single-channel, else rgb.")

    @field_validator("size")
    @classmethod
    def _size(cls, v: Any) -> Any:
        sides = (v, v) if isinstance(v, int) else v
        if sides is not None and not all(1 <= s <= MAX_SIZE for s in sides):
            raise ValueError(f"each side must be between 1 and {MAX_SIZE} pixels")
        return v


class ImageFolder(Dataset):
    """Images from ``path/<class>/*.png|jpg|...``: samples (C, H, W), values 0-255, labels
    from the sorted class folder names."""

    name = "image_folder"
    aliases = ("images",)
    Params = ImageFolderParams

    @classmethod
    def load(cls, params: Any) -> RawData:
        from PIL import Image

        from ..fileio import expand_user
        from .files import max_data_bytes, open_image

        root = expand_user(params.path)
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
        paths = [(k, f) for k, c in enumerate(classes) for f in files[c]]
        mode = params.color
        if mode == "auto":  # from the headers only
            modes = []
            for _, f in paths:
                with reading("path"), open_image(f, header_only=True) as im:
                    modes.append(im.mode)
            mode = "grey" if all(m in ("L", "1", "I;16", "I") for m in modes) else "rgb"
        budget, used = max_data_bytes(), 0
        arrays, labels = [], []
        for k, f in paths:
            with reading("path"):
                im = open_image(f)
            with im:
                im = im.convert("L" if mode == "grey" else "RGB")
                if size is not None:
                    im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                a = np.asarray(im, dtype=np.float32)
            a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
            if arrays and a.shape != arrays[0].shape:
                raise data_error(f"images differ in size: '{f}' is {a.shape[2]}x{a.shape[1]} "
                                 f"but the first is {arrays[0].shape[2]}x{arrays[0].shape[1]}",
                                 "size", hint="set size: [height, width] to resize them")
            used += a.nbytes * 2  # the list and the stacked array
            if used > budget:
                raise data_error(f"the images of '{params.path}' take more than "
                                 f"{budget / 2**30:.1f} GiB as float32", "path",
                                 hint="set a smaller size, or raise SPECC_MAX_DATA_BYTES")
            arrays.append(a)
            labels.append(k)
        return RawData({"x": np.stack(arrays), "y": np.array(labels, dtype=np.int64)},
                       "classification", labels=classes, value_max=255.0, image=True)
