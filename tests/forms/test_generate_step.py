"""``specc generate`` carries a recurrent model's state: the same distribution as re-running
the window, one step per character."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from specc.text_generation import (
    encode,
    generate,
    load_text_model,
    next_distribution,
    vocab_distribution,
)


@pytest.fixture(scope="module")
def tiny_char_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A char_rnn run trained for one short epoch (a second or two)."""
    from specc.train.api import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("char_rnn") / "run"
        train("char_rnn", out=out, quiet=True, overrides=[
            "params.units=32", "train.epochs=1", "train.data.max_chars=6000"])
    finally:
        torch.set_num_threads(threads)
    return out


def test_stepped_distribution_equals_the_windowed_one(tiny_char_run: Path) -> None:
    tm = load_text_model(tiny_char_run)
    assert tm.stepper is not None and tm.context == 100
    feed = tm.stepper()
    ids = encode("def main(", tm.vocab)
    stepped = vocab_distribution(feed(ids), tm)
    torch.testing.assert_close(stepped, next_distribution(tm, ids), atol=1e-6, rtol=1e-5)
    for c in "args):":  # then one character at a time, the state carried
        ids.append(tm.index[c])
        stepped = vocab_distribution(feed([ids[-1]]), tm)
        torch.testing.assert_close(stepped, next_distribution(tm, ids), atol=1e-6, rtol=1e-5)


def test_same_sample_for_the_same_seed_within_the_window(tiny_char_run: Path) -> None:
    for seed in (0, 1):
        stepped = generate(tiny_char_run, length=60, prompt="The ", seed=seed)
        assert stepped == generate(tiny_char_run, length=60, prompt="The ", seed=seed,
                                   windowed=True)
    assert generate(tiny_char_run, length=30, temperature=0) == \
        generate(tiny_char_run, length=30, temperature=0, windowed=True)
