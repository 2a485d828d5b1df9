"""``digit_strips``: strips of mnist5k digits side by side, captioned with the digits' words.

Each split's strips are built from that split's own digits (mnist5k's first 4000 for training,
its held-out last 1000 for validation), so no held-out digit is ever seen in training. The
training strips are drawn afresh every epoch (``fresh_each_epoch``), seeded by the spec's seed
and the epoch, so a resumed run sees the same strips.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from pydantic import Field

from ..errors import Shown
from .base import Dataset, Params, RawData, data_error

#: Token vocabulary: the ten digit words, then the start and end tokens.
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
START, END = 10, 11
VOCAB = [*WORDS, "<start>", "<end>"]
MAX_VALUES = 50_000_000  # pixels of all strips together
HELD_OUT = 1000  # mnist5k's own held-out digits (the last 1000)


class DigitStripsParams(Params):
    n_train: int = Field(4000, gt=0, description="Training strips (drawn afresh each epoch).")
    n_val: int = Field(1000, gt=0, description="Held-out strips (fixed), from held-out digits.")
    length: int = Field(3, gt=0, le=10, description="Digits per strip (the caption's words).")
    jitter: int = Field(2, ge=0, le=8, description="Training digits are shifted by up to this "
                        "many pixels each way (a fresh shift per digit and epoch); held-out "
                        "digits never are.")
    seed: int = Field(0, ge=0, description="Seed of the strips (training strips: seed and "
                      "epoch).")


@cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """mnist5k's images (5000, 28, 28) and labels, in its fixed shuffled order."""
    from .mnist5k import Mnist5k, Mnist5kParams

    raw = Mnist5k.load(Mnist5kParams())
    return raw.arrays["x"], raw.arrays["y"]


def strips(pool: np.ndarray, n: int, length: int, rng: np.random.Generator,
           jitter: int = 0) -> dict[str, Any]:
    """``n`` strips of ``length`` digits drawn from the mnist5k indices ``pool``, each digit
    shifted by up to ``jitter`` pixels each way: images (n, 28, 28 * length), decoder inputs
    [start, w1..wL], targets [w1..wL, end] and the source digit indices (n, length)."""
    images, labels = _digits()
    source = pool[rng.integers(0, len(pool), (n, length))]
    tiles = images[source]
    if jitter:
        tiles = _shifted(tiles, rng.integers(-jitter, jitter + 1, (n, length, 2)), jitter)
    x = tiles.transpose(0, 2, 1, 3).reshape(n, 28, 28 * length)
    words = labels[source]
    column = np.full((n, 1), START, np.int64)
    return {"x": np.ascontiguousarray(x, np.float32),
            "words": np.concatenate([column, words], axis=1),
            "y": np.concatenate([words, np.full((n, 1), END, np.int64)], axis=1),
            "source": source.astype(np.int64)}


def _shifted(tiles: np.ndarray, shifts: np.ndarray, pad: int) -> np.ndarray:
    """Each 28 x 28 tile of ``tiles`` (..., 28, 28) moved by its (rows, columns) shift,
    zeros shifted in."""
    padded = np.pad(tiles, [(0, 0)] * (tiles.ndim - 2) + [(pad, pad), (pad, pad)])
    offset = np.arange(28)
    rows = (pad - shifts[..., 0, None] + offset)[..., :, None]  # (..., 28, 1)
    cols = (pad - shifts[..., 1, None] + offset)[..., None, :]  # (..., 1, 28)
    lead = np.indices(tiles.shape[:-2]).reshape(tiles.ndim - 2, *tiles.shape[:-2], 1, 1)
    return padded[(*lead, rows, cols)]


def _pools() -> tuple[np.ndarray, np.ndarray]:
    n = len(_digits()[1])
    return np.arange(n - HELD_OUT), np.arange(n - HELD_OUT, n)


def _check(params: DigitStripsParams) -> None:
    values = (params.n_train + params.n_val) * 28 * 28 * params.length
    if values > MAX_VALUES:
        raise data_error(f"(n_train + n_val) x 28 x 28 x length is {values} pixels (at most "
                         f"{MAX_VALUES:,})", "n_train",
                         received=Shown(f"n_train {params.n_train}, n_val {params.n_val}, "
                                        f"length {params.length}"), hint="fewer or shorter strips (the training "
                         "strips are drawn afresh every epoch, so a few thousand suffice)")


def _raw(arrays: dict[str, np.ndarray], n_val: int) -> RawData:
    n = len(arrays["x"])
    own = {"val": np.arange(n - n_val, n)} if n_val else None
    return RawData(arrays, "classification", labels=VOCAB, value_max=255.0, image=True,
                   own_split=own, vocab=VOCAB, meta={"start": START, "end": END})


class DigitStrips(Dataset):
    """Strips of mnist5k digits side by side (28 x 28L), captioned with the digits' words.

    Arrays: ``x`` the strips (pixels 0-255), ``words`` the decoder input [start, w1..wL]
    (teacher forcing), ``y`` the target [w1..wL, end], ``source`` the mnist5k index of each
    digit. Tokens: 0-9 the digit words, 10 start, 11 end. Its own split holds out ``n_val``
    strips built only from mnist5k's held-out digits; the ``n_train`` training strips, from the
    other 4000, are drawn afresh every epoch.
    """

    name = "digit_strips"
    Params = DigitStripsParams
    fresh_each_epoch = True

    @classmethod
    def load(cls, params: Any) -> RawData:
        _check(params)
        train_pool, val_pool = _pools()
        train = strips(train_pool, params.n_train, params.length, _rng(params.seed, 0),
                       params.jitter)
        val = strips(val_pool, params.n_val, params.length,
                     np.random.default_rng([params.seed, 1 << 30]))
        return _raw({k: np.concatenate([train[k], val[k]]) for k in train}, params.n_val)

    @classmethod
    def load_epoch(cls, params: Any, epoch: int, split: str,
                   source: RawData | None = None) -> RawData:
        """The training strips of ``epoch`` (0-based; epoch 0's are those of :meth:`load`)."""
        _check(params)
        if split != "train":
            raise data_error(f"only the training strips are drawn afresh (received split "
                             f"'{split}')", "dataset")
        train_pool, _ = _pools()
        return _raw(strips(train_pool, params.n_train, params.length, _rng(params.seed, epoch),
                           params.jitter), 0)


def _rng(seed: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch])

