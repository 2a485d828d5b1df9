"""random_fourier_features: the drawn distributions, the kernel it approximates, determinism,
frozen buffers and refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from specc.assembled import load
from specc.errors import SpecError
from specc.layers.random_features import RandomFourierFeatures

from ._util import run, types


def _build(units: int, gamma: float, features: int, seed: int = 0) -> torch.nn.Module:
    p = RandomFourierFeatures.Params(units=units, gamma=gamma, seed=seed)
    return RandomFourierFeatures.build(p, types((features,))).eval()


def test_projection_and_phases_have_the_stated_distributions() -> None:
    m = _build(4000, 0.25, 16)
    w, phase = m.w.double(), m.phase.double()
    assert float(w.mean()) == pytest.approx(0.0, abs=0.01)
    assert float(w.std()) == pytest.approx(math.sqrt(2 * 0.25), rel=0.02)
    assert 0.0 <= float(phase.min()) and float(phase.max()) < 2 * math.pi
    assert float(phase.mean()) == pytest.approx(math.pi, rel=0.05)


def test_inner_products_approximate_the_rbf_kernel() -> None:
    gamma, m = 0.5, _build(20000, 0.5, 5, seed=3)
    x = torch.rand(12, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        z = m(x).double()
    approx = (z @ z.T).numpy()
    d2 = torch.cdist(x.double(), x.double()).numpy() ** 2
    exact = np.exp(-gamma * d2)
    assert np.abs(approx - exact).max() < 0.03  # Monte Carlo error ~ 1/sqrt(D)
    assert np.abs(np.diag(approx) - 1).max() < 0.03


def test_output_is_the_formula_and_nothing_is_trainable() -> None:
    _, m, y = run(RandomFourierFeatures, {"units": 7, "gamma": 2.0}, types((4,)))
    assert list(m.parameters()) == []
    assert RandomFourierFeatures.count_params(RandomFourierFeatures.Params(units=7, gamma=2.0),
                                              types((4,))) == (0, 7 * 5)
    x = torch.randn(3, 4)
    with torch.no_grad():
        want = math.sqrt(2 / 7) * torch.cos(x @ m.w.T + m.phase)
        torch.testing.assert_close(m(x), want)
    xg = x.clone().requires_grad_(True)  # the out-of-place path, with gradients to the input
    y = m(xg)
    torch.testing.assert_close(y.detach(), want)
    y.sum().backward()
    torch.testing.assert_close(xg.grad, -(math.sqrt(2 / 7) * torch.sin(x @ m.w.T + m.phase)) @ m.w)


def test_the_same_seed_draws_the_same_features() -> None:
    a, b, c = _build(50, 1.0, 3, seed=4), _build(50, 1.0, 3, seed=4), _build(50, 1.0, 3, seed=5)
    assert torch.equal(a.w, b.w) and torch.equal(a.phase, b.phase)
    assert not torch.equal(a.w, c.w)


def _spec(**params: object) -> dict[str, object]:
    return {"specc": 1, "name": "rff", "inputs": {"x": [8]},
            "nodes": {"z": {"op": "random_fourier_features", "in": "x", **params}},
            "outputs": ["z"]}


@pytest.mark.parametrize(("params", "match"), [
    ({"units": 10, "gamma": 0}, r"nodes.z.gamma: must be > 0.0 \(received 0\)"),
    ({"units": 0, "gamma": 1}, r"nodes.z.units: must be > 0 \(received 0\)"),
    ({"gamma": 1}, r"nodes.z.units: missing required field"),
])
def test_bad_settings_are_located_spec_errors(params: dict[str, object], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        load(_spec(**params))


def test_integer_input_is_refused() -> None:
    doc = _spec(units=4, gamma=1.0)
    doc["inputs"] = {"x": {"shape": [8], "dtype": "int64"}}
    with pytest.raises(SpecError, match="expects a floating-point input"):
        load(doc)
