"""CSV files: pick the feature and label columns."""

from __future__ import annotations

import csv
from typing import Any, Literal

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData, class_labels, data_error, existing_file


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
        path = existing_file(params.path)
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh, delimiter=params.delimiter) if r]
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
            x = np.array([[float(r[i]) for i in feats] for r in body], dtype=np.float32)
        except ValueError as exc:
            raise data_error(f"a feature column is not numeric: {exc}", "features",
                             hint="choose numeric columns with features: [...]") from None
        arrays = {"x": x}
        if label is None:
            return RawData(arrays, "unsupervised", meta={"columns": [names[i] for i in feats]})
        raw = [r[label].strip() for r in body]
        task = params.task
        numeric = all(_is_number(v) for v in raw)
        if task == "auto":
            task = "classification" if not numeric or all(float(v).is_integer() for v in raw) \
                else "regression"
        if task == "regression":
            if not numeric:
                raise data_error("regression labels must be numbers", "label")
            arrays["y"] = np.array(raw, dtype=np.float32)[:, None]
            return RawData(arrays, "regression")
        if numeric and all(float(v).is_integer() and float(v) >= 0 for v in raw):
            y = np.array([int(float(v)) for v in raw], dtype=np.int64)
            arrays["y"] = y
            return RawData(arrays, "classification",
                           labels=[str(i) for i in range(int(y.max()) + 1)])
        arrays["y"], labels = class_labels(np.array(raw))
        return RawData(arrays, "classification", labels=labels)
