"""``digit_strips``: strip layout, captions, split hygiene, fresh strips each epoch, bounds."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from specc.cli import main
from specc.data.digit_strips import END, START, VOCAB, DigitStrips, DigitStripsParams, _digits
from specc.data.prepare import load_raw
from specc.data.splits import split_indices
from specc.errors import SpecError
from specc.spec.data_section import DataConfig

SMALL = DigitStripsParams(n_train=300, n_val=100)
EXACT = DigitStripsParams(n_train=300, n_val=100, jitter=0)


def test_strips_are_the_source_digits_side_by_side_with_their_words_as_captions() -> None:
    raw = DigitStrips.load(EXACT)
    x, words, y, source = (raw.arrays[k] for k in ("x", "words", "y", "source"))
    assert x.shape == (400, 28, 84) and words.shape == y.shape == (400, 4)
    assert raw.value_max == 255.0 and raw.vocab == VOCAB and len(VOCAB) == 12
    images, labels = _digits()
    for i in (0, 123, 399):
        for k in range(3):
            assert np.array_equal(x[i, :, 28 * k:28 * (k + 1)], images[source[i, k]])
    # teacher forcing: the decoder reads [start, w1, w2, w3] and is trained on [w1, w2, w3, end]
    assert (words[:, 0] == START).all() and (y[:, -1] == END).all()
    assert np.array_equal(words[:, 1:], y[:, :-1])
    assert np.array_equal(y[:, :3], labels[source])


def test_training_digits_are_jittered_and_held_out_ones_never() -> None:
    x, source = (DigitStrips.load(SMALL).arrays[k] for k in ("x", "source"))
    images = _digits()[0]
    tiles = [(i, k) for i in range(400) for k in range(3)]
    same = [np.array_equal(x[i, :, 28 * k:28 * (k + 1)], images[source[i, k]]) for i, k in tiles]
    assert all(same[300 * 3:])  # held-out strips: the digits as they are
    assert sum(same[:300 * 3]) < 300 * 3 / 5  # training: ~1 in 25 unshifted (0, 0)
    i, k = next((i, k) for i, k in tiles if not same[i * 3 + k])
    tile, digit = x[i, :, 28 * k:28 * (k + 1)], images[source[i, k]]
    assert tile.sum() <= digit.sum() and any(  # the digit moved by at most 2 pixels
        np.array_equal(np.roll(np.pad(digit, 2), (dy, dx), (0, 1))[2:30, 2:30], tile)
        for dy in range(-2, 3) for dx in range(-2, 3))


def test_no_held_out_digit_is_in_a_training_strip() -> None:
    raw = DigitStrips.load(SMALL)
    parts, record = split_indices(raw.n, None, raw, series=False)
    assert record["kind"] == "own" and len(parts["train"]) == 300 and len(parts["val"]) == 100
    source = raw.arrays["source"]
    train_digits, val_digits = set(source[parts["train"]].ravel()), set(source[parts["val"]].ravel())
    assert not train_digits & val_digits
    assert max(train_digits) < 4000 <= min(val_digits)  # mnist5k's own held-out 1000
    fresh = DigitStrips.load_epoch(SMALL, 7, "train").arrays["source"]
    assert fresh.max() < 4000


def test_training_strips_are_fresh_each_epoch_and_reproducible() -> None:
    assert DigitStrips.fresh_each_epoch
    first = DigitStrips.load(SMALL).arrays
    epoch0, epoch1 = (DigitStrips.load_epoch(SMALL, e, "train").arrays for e in (0, 1))
    assert np.array_equal(epoch0["x"], first["x"][:300])
    assert not np.array_equal(epoch0["source"], epoch1["source"])
    assert np.array_equal(DigitStrips.load_epoch(SMALL, 1, "train").arrays["x"], epoch1["x"])
    assert DigitStrips.load_epoch(SMALL, 1, "train").n == 300


@pytest.mark.parametrize(("params", "message"), [
    ({"n_train": 0}, r"train\.data\.n_train: must be > 0 \(received 0\)"),
    ({"n_val": -1}, r"train\.data\.n_val: must be > 0 \(received -1\)"),
    ({"length": 0}, r"train\.data\.length: must be > 0 \(received 0\)"),
    ({"length": 11}, r"train\.data\.length: must be <= 10 \(received 11\)"),
    ({"jitter": 9}, r"train\.data\.jitter: must be <= 8 \(received 9\)"),
    ({"n_train": 20000, "length": 10},
     r"train\.data\.n_train: \(n_train \+ n_val\) x 28 x 28 x length is 164640000 pixels "
     r"\(at most 50,000,000\) \(received n_train 20000, n_val 1000, length 10\)"),
])
def test_invalid_sizes_are_located_errors(params: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_raw(DataConfig.model_validate({"dataset": "digit_strips", **params}))


def test_invalid_size_from_the_cli_exits_2_at_the_spec_line() -> None:
    r = CliRunner().invoke(main, ["train", "image_captioning", "--set",
                                  "train.data.n_train=0", "--epochs", "0", "-q"])
    assert r.exit_code == 2, r.output
    assert "image_captioning.yaml:" in r.output and "train.data.n_train: must be > 0" in r.output
