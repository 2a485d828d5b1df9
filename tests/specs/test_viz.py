"""``specc sample`` and ``specc plot`` on small runs: every kind of picture is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from click.testing import CliRunner

from specc.cli import main
from specc.figures import image_shape, mosaic
from specc.train.api import train

SPECS_DIR = Path(__file__).resolve().parents[2] / "specs"
PNG = b"\x89PNG\r\n\x1a\n"


def quick_run(name: str, tmp: Path, **train_changes: Any) -> Path:
    doc = yaml.safe_load((SPECS_DIR / f"{name}.yaml").read_text())
    doc["train"].update(epochs=2, **train_changes)
    doc["train"]["data"]["limit"] = 200
    return train(doc, out=tmp / name, quiet=True).dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    tmp = tmp_path_factory.mktemp("viz")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield {name: quick_run(name, tmp) for name in
               ("vae", "denoising_autoencoder", "sparse_autoencoder", "feed_forward")}
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("name", ["vae", "denoising_autoencoder", "sparse_autoencoder"])
def test_sample_writes_a_png(runs: dict[str, Path], name: str, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(main, ["sample", str(runs[name]), "-o", str(out), "-n", "16"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == PNG


def test_sample_refuses_a_classifier(runs: dict[str, Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sample", str(runs["feed_forward"]), "-o",
                                       str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "nothing to sample" in result.output


def test_plot_one_and_several_runs(runs: dict[str, Path], tmp_path: Path) -> None:
    for args in ([runs["feed_forward"]], [runs["vae"], runs["denoising_autoencoder"]]):
        out = tmp_path / "curves.png"
        result = CliRunner().invoke(main, ["plot", *map(str, args), "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[:8] == PNG
        out.unlink()


def test_plot_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["plot", str(tmp_path), "-o", str(tmp_path / "c.png")])
    assert result.exit_code == 2


def test_image_shapes_and_mosaic() -> None:
    assert image_shape((64,)) == (1, 8, 8)
    assert image_shape((3, 32, 32)) == (3, 32, 32)
    assert image_shape((8, 8)) == (1, 8, 8)
    assert image_shape((3 * 16,)) == (3, 4, 4)
    import numpy as np

    tiles = mosaic(np.zeros((5, 1, 8, 8), np.float32), cols=3)
    assert tiles.shape == (2 * 9 + 1, 3 * 9 + 1, 1)
