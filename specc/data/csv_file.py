"""CSV files: pick the feature and label columns."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData, class_labels, data_error, reading
from .files import csv_rows, read_text


class CsvParams(Params):
    path: str
    label: str | int | None = Field(None, description="Label column (name or 0-based index); "
                                    "none for unlabelled data.")
    features: list[str | int] | None = Field(None, description="Feature columns (default: "
                                             "every column but the label).")
    header: bool | Literal["auto"] = "auto"
    delimiter: str = Field(",", min_length=1, max_length=1)
    task: Literal["auto", "classification", "regression"] = Field(
        "auto", description="auto: non-numeric or integer labels are classes.")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _column(ref: str | int, names: list[str], key: str) -> int:
    if isinstance(ref, int):
        if not 0 <= ref < len(names):
            raise data_error(f"column index {ref} is out of range (the file has {len(names)} "
                             "columns)", key, received=ref)
        return ref
    if ref not in names:
        from ..errors import did_you_mean

        raise data_error(f"no column named '{ref}'", key, received=ref,
                         hint=did_you_mean(ref, names) or "columns: " + ", ".join(names))
    return names.index(ref)


class Csv(Dataset):
    """A CSV file: numeric feature columns and an optional label column."""

    name = "csv"
    Params = CsvParams

    @classmethod
    def load(cls, params: Any) -> RawData:
        with reading("path"):
            rows = csv_rows(read_text(params.path), params.delimiter, params.path)
        if not rows:
            raise data_error(f"'{params.path}' has no rows", "path")
        header = params.header
        if header == "auto":
            header = not all(_is_number(c) for c in rows[0]) and len(rows) > 1 and \
                any(_is_number(c) for c in rows[1])
        names = [c.strip() for c in rows[0]] if header else [str(i) for i in range(len(rows[0]))]
        body = rows[1:] if header else rows
        if not body:
            raise data_error(f"'{params.path}' has a header but no data rows", "path")
        width = len(names)
        for i, r in enumerate(body):
            if len(r) != width:
                raise data_error(f"row {i + 1 + int(header)} has {len(r)} columns, expected "
                                 f"{width}", "path")
        label = None if params.label is None else _column(params.label, names, "label")
        feats = ([_column(f, names, "features") for f in params.features]
                 if params.features is not None else [i for i in range(width) if i != label])
        try:
            x64 = np.array([[float(r[i]) for i in feats] for r in body], dtype=np.float64)
        except ValueError as exc:
            raise data_error(f"a feature column is not numeric: {str(exc)[:120]}", "features",
                             hint="choose numeric columns with features: [...]") from None
        bad = ~np.isfinite(x64) | (np.abs(x64) > np.finfo(np.float32).max)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise data_error(f"feature column '{names[feats[col]]}' holds a missing, infinite "
                             "or too large value (beyond float32)", "features",
                             received=body[row][feats[col]][:60], file=params.path,
                             line=row + 1 + int(header))
        x = x64.astype(np.float32)
        arrays = {"x": x}
        if label is None:
            return RawData(arrays, "unsupervised", meta={"columns": [names[i] for i in feats]})
        raw = [r[label].strip() for r in body]
        task = params.task
        numeric = all(_finite(v) for v in raw)
        if task == "auto":
            task = "classification" if not numeric or all(float(v).is_integer() for v in raw) \
                else "regression"
        if task == "regression":
            bad = next((i for i, v in enumerate(raw) if not _finite(v)), None)
            if bad is not None:
                raise data_error("regression labels must be finite numbers", "label",
                                 received=raw[bad][:60], line=bad + 1 + int(header),
                                 file=params.path)
            y32 = np.array(raw, dtype=np.float64)
            if np.any(np.abs(y32) > np.finfo(np.float32).max):
                raise data_error("a regression label is too large for float32", "label",
                                 received=float(np.max(np.abs(y32))))
            arrays["y"] = y32.astype(np.float32)[:, None]
            return RawData(arrays, "regression")
        with reading("label"):
            if numeric and all(float(v).is_integer() for v in raw):
                arrays["y"], labels = class_labels(np.array([float(v) for v in raw]))
            else:
                arrays["y"], labels = class_labels(np.array(raw))
        return RawData(arrays, "classification", labels=labels)
