"""scikit-learn's bundled toy datasets: digits, iris, wine, breast_cancer, diabetes."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import abstract
from .base import Dataset, RawData


def _bunch(loader: str) -> Any:
    import sklearn.datasets

    return getattr(sklearn.datasets, loader)()


class Digits(Dataset):
    """scikit-learn digits: 1797 grey 8x8 images of 0-9, pixel values 0-16.

    Samples are (8, 8): ``view: auto`` shapes them as the input wants — images (1, 8, 8),
    sequences of 8 rows x 8 features, or flat vectors of 64.
    """

    name = "digits"

    @classmethod
    def load(cls, params: Any) -> RawData:
        b = _bunch("load_digits")
        return RawData({"x": b.images.astype(np.float32), "y": b.target.astype(np.int64)},
                       "classification", labels=[str(i) for i in range(10)], value_max=16.0,
                       image=True)


@abstract
class _Table(Dataset):
    loader = ""

    @classmethod
    def load(cls, params: Any) -> RawData:
        b = _bunch(cls.loader)
        x = np.asarray(b.data, dtype=np.float32)
        if cls.task == "regression":
            y = np.asarray(b.target, dtype=np.float32)[:, None]
            return RawData({"x": x, "y": y}, "regression",
                           meta={"features": list(b.feature_names)})
        names = [str(n) for n in getattr(b, "target_names", range(int(b.target.max()) + 1))]
        return RawData({"x": x, "y": np.asarray(b.target, dtype=np.int64)}, "classification",
                       labels=names, meta={"features": list(b.feature_names)})


class Iris(_Table):
    """scikit-learn iris: 150 flowers, 4 features, 3 species."""

    name = "iris"
    loader = "load_iris"


class Wine(_Table):
    """scikit-learn wine: 178 wines, 13 chemical features, 3 cultivars."""

    name = "wine"
    loader = "load_wine"


class BreastCancer(_Table):
    """scikit-learn breast cancer (Wisconsin): 569 samples, 30 features, malignant/benign."""

    name = "breast_cancer"
    loader = "load_breast_cancer"


class Diabetes(_Table):
    """scikit-learn diabetes: 442 patients, 10 features, disease progression (regression)."""

    name = "diabetes"
    loader = "load_diabetes"
    task = "regression"
