"""NumPy files: ``.npy`` (inputs, optional labels file) or ``.npz`` (named arrays)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData, data_error, existing_file, reading


class NpyParams(Params):
    path: str = Field(description=".npy (inputs) or .npz (arrays named by x_key / y_key).")
    labels_path: str | None = Field(None, description="A .npy of targets for a .npy input.")
    x_key: str = "x"
    y_key: str | None = "y"
    task: Literal["auto", "classification", "regression"] = "auto"


def _load(path: str, key: str) -> np.ndarray | dict[str, np.ndarray]:
    """An .npy array or the arrays of an .npz, bounded (see :mod:`specc.data.files`)."""
    from .files import read_npy, read_npz

    p = existing_file(path, key, (".npy", ".npz"))
    with reading(key):
        return read_npz(p) if p.suffix.lower() == ".npz" else read_npy(p)


def _samples(a: np.ndarray, what: str, key: str) -> np.ndarray:
    """``a`` as numeric samples: refuse complex, string and 0-d arrays."""
    from .files import check_dtype

    with reading(key):
        check_dtype(a.dtype, what)
    if a.ndim == 0:
        raise data_error(f"{what} is a single number (0-d array), not samples", key,
                         hint="save an array of shape (samples, ...)")
    return a


class Npy(Dataset):
    """Arrays from ``.npy``/``.npz`` files. An npz with ``x_test``/``y_test`` (the keys plus
    ``_test``) gives the dataset's own test split."""

    name = "npy"
    aliases = ("npz",)
    Params = NpyParams

    @classmethod
    def load(cls, params: Any) -> RawData:
        from .files import as_float32, encode_classes

        data = _load(params.path, "path")
        own = None
        ykey = "labels_path" if params.labels_path else "y_key"
        if isinstance(data, dict):
            keys = list(data)
            if params.x_key not in keys:
                raise data_error(f"'{params.path}' has no array '{params.x_key}'", "x_key",
                                 hint="arrays: " + ", ".join(keys))
            x = _samples(data[params.x_key], f"array '{params.x_key}'", "x_key")
            y = data[params.y_key] if params.y_key and params.y_key in keys else None
            if y is not None:
                y = _samples(y, f"array '{params.y_key}'", "y_key")
            tx, ty = params.x_key + "_test", (params.y_key or "") + "_test"
            if tx in keys:
                xt = _samples(data[tx], f"array '{tx}'", "x_key")
                if xt.shape[1:] != x.shape[1:]:
                    raise data_error(f"array '{tx}' has samples of shape {xt.shape[1:]} but "
                                     f"'{params.x_key}' has {x.shape[1:]}", "x_key")
                own = {"test": np.arange(len(x), len(x) + len(xt))}
                if y is not None and ty in keys:
                    yt = _samples(data[ty], f"array '{ty}'", "y_key")
                    if len(yt) != len(xt) or yt.shape[1:] != y.shape[1:]:
                        raise data_error(f"array '{ty}' does not match '{tx}' and "
                                         f"'{params.y_key}'", "y_key",
                                         received=f"shape {yt.shape}")
                    y = np.concatenate([y, yt])
                elif y is not None:
                    raise data_error(f"'{params.path}' has '{tx}' but no '{ty}'", "y_key")
                x = np.concatenate([x, xt])
        else:
            x = _samples(data, "the input array", "path")
            y = None
            if params.labels_path:
                ys = _load(params.labels_path, "labels_path")
                if isinstance(ys, dict):
                    raise data_error("labels_path must be an .npy file", "labels_path",
                                     received=params.labels_path)
                y = _samples(ys, "the labels array", "labels_path")
        if y is not None and len(y) != len(x):
            raise data_error(f"inputs have {len(x)} samples but labels have {len(y)}", ykey)
        if x.dtype.kind not in "iub":  # integers stay integers (token ids)
            with reading("path" if not isinstance(data, dict) else "x_key"):
                x = as_float32(x, "the inputs")
        arrays = {"x": x}
        if y is None:
            return RawData(arrays, "unsupervised", own_split=own)
        task = params.task
        if task == "auto":
            task = "classification" if y.dtype.kind in "iub" and y.ndim == 1 else "regression"
        if task == "classification":
            with reading(ykey):
                arrays["y"], labels = encode_classes(y)
            return RawData(arrays, task, labels=labels, own_split=own)
        with reading(ykey):
            y = as_float32(y, "the targets")
        arrays["y"] = y[:, None] if y.ndim == 1 else y
        return RawData(arrays, "regression", own_split=own)
