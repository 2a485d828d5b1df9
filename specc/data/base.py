"""The dataset contract: a registered source that loads samples as NumPy arrays.

A dataset is a class with ``name`` (the ``train.data.dataset`` keyword), optional ``aliases``,
``Params`` (a pydantic model, ``extra="forbid"``: the dataset's own keys under ``train.data``)
and ``load(params) -> RawData``. Loading imports heavy libraries lazily, so validating a spec
never pays for scikit-learn or torch. Datasets register through the ``specc.datasets``
entry-point group, exactly like third-party ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel

from ..errors import SpecError
from ..registry import abstract
from ..strict import Strict

Task = Literal["classification", "regression", "series", "unsupervised"]


class Params(Strict):
    """Base of dataset parameters: unknown keys are errors."""


class NoParams(Params):
    pass


@dataclass
class RawData:
    """Samples of one dataset, before splitting and shaping.

    ``arrays`` maps names to arrays sharing the first (sample) axis; ``x`` is the input and
    ``y`` the target by convention. For ``task="series"`` ``x`` is one long series of shape
    (time, features) (or token ids of shape (time,)) that windows cut into samples.
    ``value_max`` is the natural maximum of ``x`` (255 for 8-bit pixels) used by
    ``scale: unit``. ``own_split`` maps split names ("val", "test") to held-out sample indices
    (or, for series, time indices).
    """

    arrays: dict[str, np.ndarray]
    task: Task
    labels: list[str] | None = None
    value_max: float | None = None
    own_split: dict[str, np.ndarray] | None = None
    vocab: list[str] | None = None
    image: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(next(iter(self.arrays.values())))


@abstract
class Dataset:
    """Base class of dataset sources."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    Params: ClassVar[type[BaseModel]] = NoParams
    task: ClassVar[str] = "classification"

    @classmethod
    def load(cls, params: Any) -> RawData:
        raise NotImplementedError

    @classmethod
    def summary(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


def data_error(message: str, key: str | None = None, **kw: Any) -> SpecError:
    """A data problem, located at ``train.data[.key]``."""
    path: tuple[str, ...] = ("train", "data") + ((key,) if key else ())
    return SpecError(message, path=path, **kw)


@contextmanager
def reading(key: str = "path") -> Iterator[None]:
    """Locate errors of the bounded file readers (:mod:`specc.data.files`) at
    ``train.data.<key>``."""
    try:
        yield
    except SpecError as err:
        raise err.prefixed(("train", "data", key)) from None


def existing_file(path: str, key: str = "path", suffixes: tuple[str, ...] = ()) -> Path:
    """``path`` as a Path, or a clear error when it is missing, not a regular file (a folder,
    FIFO or device) or of the wrong type."""
    from .files import regular_file

    if suffixes and Path(path).suffix.lower() not in suffixes:
        raise data_error(f"expected a {' or '.join(suffixes)} file", key, received=path)
    with reading(key):
        return regular_file(path)


def class_labels(y: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Encode class values as 0..K-1 (bounded; see :func:`specc.data.files.encode_classes`);
    returns (codes, label names)."""
    from .files import encode_classes

    return encode_classes(y)
