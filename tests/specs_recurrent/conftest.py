"""Fixtures of the recurrent-spec tests: single-threaded torch, spec paths, a trained char_rnn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from ._util import spec_path


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """These networks are tiny: one intra-op thread is fastest, and on shared cores extra
    threads mostly wait for each other (measured 60x slower training with 2 on 2 busy cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="package")
def char_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A char_rnn run trained briefly on the first 30,000 characters (a few seconds)."""
    from specc.train.api import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("char_rnn") / "run"
        train(str(spec_path("char_rnn")), out=out, quiet=True, overrides=[
            "params.units=64", "train.epochs=2", "train.data.max_chars=30000"])
    finally:
        torch.set_num_threads(threads)
    return out
