"""Augmentations do what they say, numerically; they are seeded; they refuse non-images."""

from __future__ import annotations

import pytest
import torch

from specc.data.augment import Augmenter
from specc.errors import SpecError
from specc.spec.data_section import AugmentConfig
from specc.types import TensorType

IMG = TensorType((2, 6, 6), feature_axis=0)


def aug(**kw) -> Augmenter:
    return Augmenter(AugmentConfig(**kw), IMG)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def x() -> torch.Tensor:
    return torch.rand(16, 2, 6, 6, generator=gen(1))


def test_no_augmentation_is_identity(x):
    a = aug()
    assert not a.geometric and not a.noisy
    assert a.apply_noise(a.apply_geometric(x, gen()), gen()) is x


def test_flips_are_exact(x):
    out = aug(horizontal_flip=True).apply_geometric(x, gen())
    for i in range(len(x)):
        same, flipped = torch.allclose(out[i], x[i], atol=1e-6), \
            torch.allclose(out[i], x[i].flip(-1), atol=1e-6)
        assert same or flipped
    flipped_count = sum(torch.allclose(out[i], x[i].flip(-1), atol=1e-6) for i in range(16))
    assert 3 <= flipped_count <= 13  # p = 0.5
    vout = aug(vertical_flip=True).apply_geometric(x, gen())
    assert all(torch.allclose(vout[i], x[i], atol=1e-6) or torch.allclose(vout[i], x[i].flip(-2), atol=1e-6)
               for i in range(16))


def params(n: int = 1, **kw) -> dict[str, torch.Tensor]:
    base = {"rotation": 0.0, "shear": 0.0, "zoom_x": 1.0, "zoom_y": 1.0, "shift_x": 0.0,
            "shift_y": 0.0, "flip_x": 1.0, "flip_y": 1.0}
    base.update(kw)
    return {k: torch.full((n,), float(v)) for k, v in base.items()}


def test_rotation_by_90_degrees_matches_rot90():
    a = aug(rotation=90)
    x = torch.rand(1, 2, 6, 6, generator=gen(3))
    out = a.warp(x, a.affine(params(rotation=90), 6, 6))
    assert torch.allclose(out, torch.rot90(x, k=1, dims=(-2, -1)), atol=1e-5)
    out = a.warp(x, a.affine(params(rotation=-90), 6, 6))
    assert torch.allclose(out, torch.rot90(x, k=-1, dims=(-2, -1)), atol=1e-5)
    angles = a.sample(500, gen(), torch.device("cpu"))["rotation"]
    assert angles.abs().max() <= 90 and angles.min() < -60 and angles.max() > 60


def test_shift_by_whole_pixels_is_exact():
    x = torch.arange(36, dtype=torch.float32).reshape(1, 1, 6, 6)
    a = aug(width_shift=0.5, height_shift=0.5)
    out = a.warp(x, a.affine(params(shift_x=1 / 6), 6, 6))  # sample one pixel to the right
    close = lambda a, b: torch.allclose(a, b, atol=1e-4)  # noqa: E731  (bilinear rounding)
    assert close(out[0, 0, :, :5], x[0, 0, :, 1:])
    assert close(out[0, 0, :, 5], x[0, 0, :, 5])  # 'nearest' fill repeats the edge
    out = a.warp(x, a.affine(params(shift_y=-2 / 6), 6, 6))
    assert close(out[0, 0, 2:], x[0, 0, :4])
    c = Augmenter(AugmentConfig(width_shift=0.5, fill="constant"), IMG)
    out = c.warp(x, c.affine(params(shift_x=1 / 6), 6, 6))
    assert close(out[0, 0, :, 5], torch.zeros(6))
    shifts = a.sample(500, gen(), torch.device("cpu"))["shift_x"]
    assert shifts.abs().max() <= 0.5 and shifts.std() > 0.2


def test_flip_matrix_is_exact_mirror(x):
    a = aug(horizontal_flip=True)
    out = a.warp(x[:1], a.affine(params(flip_x=-1), 6, 6))
    assert torch.allclose(out, x[:1].flip(-1), atol=1e-6)


def test_zoom_and_shear():
    a = aug(zoom=0.2, shear=30)
    p = a.sample(1000, gen(), torch.device("cpu"))
    assert 0.8 - 1e-6 <= p["zoom_x"].min() and p["zoom_x"].max() <= 1.2 + 1e-6
    assert p["shear"].abs().max() <= 30 and not torch.equal(p["zoom_x"], p["zoom_y"])
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 2:6, 2:6] = 1.0
    zoomed = a.warp(x, a.affine(params(zoom_x=0.5, zoom_y=0.5), 8, 8))
    assert zoomed.sum() > 2.5 * x.sum()  # factor 0.5 samples half the field: zooms in
    # shear keeps the centre row, slides rows above and below in opposite directions
    row = torch.zeros(1, 1, 8, 8)
    row[0, 0, :, 3] = 1.0
    sheared = a.warp(row, a.affine(params(shear=45), 8, 8))[0, 0]
    top, bottom = sheared[0].argmax(), sheared[7].argmax()
    assert top != bottom


def test_same_generator_state_same_augmentation(x):
    a = aug(rotation=20, width_shift=0.1, zoom=0.1, gaussian_noise=0.1)
    one = a.apply_noise(a.apply_geometric(x, gen(5)), gen(6))
    two = a.apply_noise(a.apply_geometric(x, gen(5)), gen(6))
    assert torch.equal(one, two)
    three = a.apply_geometric(x, gen(7))
    assert not torch.equal(a.apply_geometric(x, gen(5)), three)


def test_gaussian_and_masking_noise_statistics():
    x = torch.ones(200, 2, 6, 6)
    g = aug(gaussian_noise=0.5).apply_noise(x, gen())
    assert abs(float((g - x).mean())) < 0.02 and abs(float((g - x).std()) - 0.5) < 0.02
    m = aug(masking_noise=0.3).apply_noise(x, gen())
    assert set(m.unique().tolist()) == {0.0, 1.0}
    assert abs(float((m == 0).float().mean()) - 0.3) < 0.02


def test_noise_works_on_vectors_but_geometry_needs_images():
    Augmenter(AugmentConfig(gaussian_noise=0.1), TensorType((64,)))
    with pytest.raises(SpecError, match="needs image inputs"):
        Augmenter(AugmentConfig(rotation=10), TensorType((64,)))
    with pytest.raises(SpecError, match="integer input"):
        Augmenter(AugmentConfig(gaussian_noise=0.1), TensorType((5,), "int64"))
