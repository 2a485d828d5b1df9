"""NumPy files: ``.npy`` (inputs, optional labels file) or ``.npz`` (named arrays)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData, data_error, existing_file


class NpyParams(Params):
    path: str = Field(description=".npy (inputs) or .npz (arrays named by x_key / y_key).")
    labels_path: str | None = Field(None, description="A .npy of targets for a .npy input.")
    x_key: str = "x"
    y_key: str | None = "y"
    task: Literal["auto", "classification", "regression"] = "auto"


def _load(path: str, key: str) -> Any:
    try:
        return np.load(existing_file(path, key, (".npy", ".npz")), allow_pickle=False)
    except ValueError as exc:
        raise data_error(f"cannot read '{path}': {exc}", key) from None


class Npy(Dataset):
    """Arrays from ``.npy``/``.npz`` files. An npz with ``x_test``/``y_test`` (the keys plus
    ``_test``) gives the dataset's own test split."""

    name = "npy"
    aliases = ("npz",)
    Params = NpyParams

    @classmethod
    def load(cls, params: Any) -> RawData:
        data = _load(params.path, "path")
        own = None
        if isinstance(data, np.lib.npyio.NpzFile):
            keys = list(data.keys())
            if params.x_key not in keys:
                raise data_error(f"'{params.path}' has no array '{params.x_key}'", "x_key",
                                 hint="arrays: " + ", ".join(keys))
            x = data[params.x_key]
            y = data[params.y_key] if params.y_key and params.y_key in keys else None
            tx, ty = params.x_key + "_test", (params.y_key or "") + "_test"
            if tx in keys:
                own = {"test": np.arange(len(x), len(x) + len(data[tx]))}
                x = np.concatenate([x, data[tx]])
                if y is not None and ty in keys:
                    y = np.concatenate([y, data[ty]])
        else:
            x = data
            y = _load(params.labels_path, "labels_path") if params.labels_path else None
        if y is not None and len(y) != len(x):
            raise data_error(f"inputs have {len(x)} samples but labels have {len(y)}",
                             "labels_path" if params.labels_path else "y_key")
        arrays = {"x": x if x.dtype.kind in "iub" else x.astype(np.float32)}
        if y is None:
            return RawData(arrays, "unsupervised", own_split=own)
        task = params.task
        if task == "auto":
            task = "classification" if y.dtype.kind in "iub" and y.ndim == 1 else "regression"
        if task == "classification":
            y = y.astype(np.int64)
            arrays["y"] = y
            return RawData(arrays, task, labels=[str(i) for i in range(int(y.max()) + 1)],
                           own_split=own)
        y = y.astype(np.float32)
        arrays["y"] = y[:, None] if y.ndim == 1 else y
        return RawData(arrays, "regression", own_split=own)
