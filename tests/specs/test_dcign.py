"""The ``dcign`` spec (a convolutional VAE on mnist5k, issue 13 part 3) and latent traversals
(``specc sample RUN --traverse``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from specc.cli import main
from specc.train.api import train
from specc.viz_traverse import SPAN, traversal_codes

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # benchmarks/ lives beside the package, not inside it
    sys.path.insert(0, str(ROOT))

from benchmarks.families import Bench  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def tiny_run(name: str, tmp: Path) -> Path:
    """One epoch of a built-in spec on 64 samples (80/20): a run to draw from, not a model."""
    doc = yaml.safe_load((ROOT / "specs" / f"{name}.yaml").read_text())
    doc["train"].update(epochs=1)
    doc["train"]["data"].update(limit=64, split={"val": 0.2, "seed": 0})
    return train(doc, out=tmp / name, quiet=True).dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    tmp = tmp_path_factory.mktemp("traverse")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield {name: tiny_run(name, tmp) for name in ("dcign", "vae", "deconvolutional")}
    finally:
        torch.set_num_threads(threads)


def sample(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["sample", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(("name", "steps"), [("dcign", "5"), ("vae", None)])
def test_traverse_writes_a_png(runs: dict[str, Path], name: str, steps: str | None,
                               tmp_path: Path) -> None:
    out = tmp_path / "traverse.png"
    code, output = sample(str(runs[name]), "--traverse", "-o", str(out),
                          *(["-n", steps] if steps else []))
    assert code == 0, output
    assert out.read_bytes()[:8] == PNG


def test_traverse_refuses_a_network_without_a_gaussian_code(runs: dict[str, Path],
                                                            tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    code, output = sample(str(runs["deconvolutional"]), "--traverse", "-o", str(out))
    assert code == 2
    assert "spec 'deconvolutional' has no gaussian_sample code to traverse" in output
    assert "--traverse" in output
    assert "Traceback" not in output
    assert not out.exists()


def test_traverse_refuses_one_step_and_what(runs: dict[str, Path], tmp_path: Path) -> None:
    code, output = sample(str(runs["vae"]), "--traverse", "-n", "1", "-o",
                          str(tmp_path / "x.png"))
    assert code == 2
    assert "a traversal needs at least 2 steps" in output and "(received 1)" in output
    code, output = sample(str(runs["vae"]), "--traverse", "--what", "filters", "-o",
                          str(tmp_path / "x.png"))
    assert code == 2
    assert "--what and --traverse do not go together" in output


def test_traversal_codes_sweep_one_dimension_a_row_most_used_first() -> None:
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(50, 3)).astype(np.float32)
    mu[:, 1] *= 4.0  # dimension 1 carries most information, dimension 2 none
    mu[:, 2] = 0.0
    logvar = np.zeros_like(mu)
    logvar[:, 2] = -1e-3
    dims, kl, z = traversal_codes(mu, logvar, index=7, steps=5)
    assert list(dims) == [1, 0, 2]
    assert kl[1] > kl[0] > kl[2] >= 0
    assert z.shape == (15, 3)
    for row, dim in enumerate(dims):
        block = z[row * 5:(row + 1) * 5]
        np.testing.assert_allclose(block[:, dim], np.linspace(-SPAN, SPAN, 5), rtol=1e-6)
        others = np.delete(block, dim, axis=1)
        np.testing.assert_array_equal(others, np.repeat(np.delete(mu[7:8], dim, axis=1), 5, 0))


@pytest.mark.slow
def test_dcign_beats_pca_16_on_held_out_mnist5k(tmp_path: Path) -> None:
    result = Bench(tmp_path).measure("dcign")
    details = result.details
    print(f"dcign: {result.figure}, trained in {result.train_seconds:.0f}s")
    assert details["k"] == 16
    assert details["mse"] < details["pca_mse"], result.figure
    run = Path(result.run or "")
    for picture in ("curves.png", "samples.png"):
        assert (run / picture).read_bytes()[:8] == PNG, picture
    out = tmp_path / "traverse.png"
    code, output = sample(str(run), "--traverse", "--checkpoint", "last", "-o", str(out))
    assert code == 0, output
    assert out.read_bytes()[:8] == PNG
