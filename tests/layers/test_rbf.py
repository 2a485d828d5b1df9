"""The ``rbf`` kind: shape rule, counts, the Gaussian, k-means++ placement and widths."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import specc
from specc.errors import SpecError
from specc.layers.rbf import RBF, RBFParams, kmeans, width_from_spread
from specc.types import TensorType

CORNERS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)


def test_shape_and_counts_follow_the_trainable_flags() -> None:
    x = [TensorType((6, 3))]
    assert RBF.infer(RBFParams(units=5), x).shape == (6, 5)
    assert RBF.count_params(RBFParams(units=5), x) == (20, 0)
    assert RBF.count_params(RBFParams(units=5, trainable_centres=False), x) == (5, 15)
    assert RBF.count_params(RBFParams(units=5, trainable_widths=False), x) == (15, 5)
    module = RBF.build(RBFParams(units=5, trainable_widths=False), x)
    assert [n for n, _ in module.named_parameters()] == ["centres"]
    assert [n for n, _ in module.named_buffers()] == ["widths"]


def test_output_is_the_gaussian_of_the_distance() -> None:
    module = RBF.build(RBFParams(units=2, width=0.5), [TensorType((2,))])
    with torch.no_grad():
        module.centres.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    y = module(torch.tensor([[0.0, 1.0]]))
    want = math.exp(-1.0 / (2 * 0.25))
    assert torch.allclose(y, torch.tensor([[want, want]]))


def test_input_must_be_float_vectors() -> None:
    with pytest.raises(SpecError, match="floating-point"):
        specc.load({"specc": 1, "name": "r", "inputs": {"x": {"shape": [3], "dtype": "int64"}},
                    "layers": [{"rbf": {"units": 2}}]})


def test_kmeans_places_four_centres_on_the_xor_corners() -> None:
    gen = torch.Generator().manual_seed(0)
    points = CORNERS.repeat(10, 1) + 0.05 * torch.randn(40, 2, generator=gen,
                                                         dtype=torch.float64)
    centres = kmeans(points, 4, torch.Generator().manual_seed(0))
    order = sorted(centres.tolist())
    assert torch.allclose(torch.tensor(order, dtype=torch.float64), CORNERS, atol=0.05)
    # sigma = d_max / sqrt(2k): the diagonal over sqrt(8)
    assert width_from_spread(CORNERS) == pytest.approx(math.sqrt(2) / math.sqrt(8))


def test_kmeans_is_deterministic_for_a_seed() -> None:
    points = torch.randn(200, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a = kmeans(points, 6, torch.Generator().manual_seed(5))
    b = kmeans(points, 6, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_init_from_data_sets_centres_and_widths() -> None:
    p = RBFParams(units=4)
    module = RBF.build(p, [TensorType((2,))])
    with torch.no_grad():
        RBF.init_from_data(p, module, CORNERS.float(), torch.Generator().manual_seed(0))
    assert sorted(module.centres.tolist()) == CORNERS.tolist()
    assert torch.allclose(module.widths, torch.full((4,), 0.5))
    fixed = RBFParams(units=4, width=2.0)
    module = RBF.build(fixed, [TensorType((2,))])
    with torch.no_grad():
        RBF.init_from_data(fixed, module, CORNERS.float(), torch.Generator().manual_seed(0))
    assert torch.equal(module.widths, torch.full((4,), 2.0))  # a given width is kept
    off = RBFParams(units=4, from_data=False)
    module = RBF.build(off, [TensorType((2,))])
    before = module.centres.clone()
    RBF.init_from_data(off, module, CORNERS.float(), torch.Generator().manual_seed(0))
    assert torch.equal(module.centres, before)


def test_more_centres_than_samples_is_a_clear_error() -> None:
    p = RBFParams(units=5)
    module = RBF.build(p, [TensorType((2,))])
    with pytest.raises(SpecError, match="5 centres needs at least 5 training samples"):
        RBF.init_from_data(p, module, CORNERS.float(), torch.Generator().manual_seed(0))


# -- the radial_basis specs -------------------------------------------------------------------

SPECS = Path(__file__).resolve().parents[2] / "specs"


def _trained(name: str, tmp_path: Path, overrides: tuple[str, ...] = ()) -> dict:
    from specc.train.api import train

    run = train(SPECS / f"{name}.yaml", out=tmp_path / name, overrides=list(overrides),
                quiet=True)
    result = specc.export(run.dir, tmp_path / f"{name}.onnx")
    assert result.parity is not None and result.parity.ok
    return run.evaluate()


@pytest.mark.slow
def test_radial_basis_bar_iris(tmp_path: Path) -> None:
    figures = _trained("radial_basis", tmp_path)
    assert figures["accuracy"] >= 0.95 and figures["n"] == 30


@pytest.mark.slow
def test_radial_basis_bar_xor_with_four_centres(tmp_path: Path) -> None:
    figures = _trained("radial_basis_xor", tmp_path)
    assert figures["accuracy"] == 1.0 and figures["n"] == 20


@pytest.mark.slow
def test_two_fixed_centres_cannot_separate_xor(tmp_path: Path) -> None:
    """k-means puts two centres at about (0, .5) and (1, .5): (0, 0) and (0, 1) look alike."""
    figures = _trained("radial_basis_xor", tmp_path,
                       ("params.centres=2", "layers.0.rbf.trainable_centres=false"))
    assert figures["accuracy"] < 1.0


@pytest.mark.parametrize("name,override,message", [
    ("radial_basis", "train.data.dataset=xor", "do not fit input 'features' of shape (4,)"),
    ("radial_basis_xor", "train.data={dataset: iris}", "do not fit input 'point' of shape (2,)"),
    ("radial_basis_xor", "train.data={dataset: iris}|inputs.point=[4]",
     "labels range over 0..2 (3 classes) but output 'output' has 2 units"),
])
def test_data_of_the_wrong_width_is_located(name: str, override: str, message: str,
                                            tmp_path: Path) -> None:
    from specc.train.api import train

    with pytest.raises(SpecError) as err:
        train(SPECS / f"{name}.yaml", out=tmp_path / "run", overrides=override.split("|"),
              quiet=True)
    issue = err.value.issues[0]
    assert message in issue.message
    line = (SPECS / f"{name}.yaml").read_text().splitlines().index("train:") + 2
    assert issue.path == ("train", "data", "dataset") and issue.line == line
