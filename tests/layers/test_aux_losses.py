"""gaussian_sample (VAE reparameterisation + KL) and activity_sparsity (sparse AE penalty)."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from specc.errors import SpecError
from specc.layers.regularizers import ActivitySparsity
from specc.layers.sampling import GaussianSample

from ._util import run, types


def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> float:
    """Closed form KL(N(mu, sigma^2) || N(0, 1)) summed over features, averaged over samples."""
    total = 0.0
    for m_row, lv_row in zip(mu.tolist(), logvar.tolist(), strict=True):
        total += sum(0.5 * (math.exp(lv) + m * m - 1 - lv) for m, lv in zip(m_row, lv_row,
                                                                           strict=True))
    return total / mu.shape[0]


def test_gaussian_sample_eval_returns_mu() -> None:
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4)
    out, m, z = run(GaussianSample, None, types((4,), (4,)), xs=[mu, logvar])
    assert out.shape == (4,)
    assert torch.equal(z, mu)


def test_gaussian_sample_training_kl_and_samples() -> None:
    mu = torch.tensor([[0.5, -1.0], [2.0, 0.0], [0.0, 0.3]])
    logvar = torch.tensor([[0.0, 1.0], [-2.0, 0.5], [0.2, -0.7]])
    _, m, z = run(GaussianSample, {"kl_weight": 0.5}, types((2,), (2,)), train=True,
                  xs=[mu, logvar])
    assert m.aux_loss.item() == pytest.approx(0.5 * _kl(mu, logvar), rel=1e-6)
    assert not torch.equal(z, mu)
    # z ~ N(mu, exp(logvar)): check the moments on many samples
    big_mu, big_lv = torch.full((20000, 1), 1.5), torch.full((20000, 1), math.log(4.0))
    z = m(big_mu, big_lv)
    assert z.mean().item() == pytest.approx(1.5, abs=0.05)
    assert z.std().item() == pytest.approx(2.0, abs=0.05)
    m.eval()
    m(mu, logvar)  # the KL is reported at inference too (for the validation ELBO)
    assert m.aux_loss.item() == pytest.approx(0.5 * _kl(mu, logvar), rel=1e-6)


def test_gaussian_sample_errors() -> None:
    with pytest.raises(SpecError, match=r"mu and logvar of the same shape; they are \(8,\) "
                       r"and \(4,\)"):
        GaussianSample.infer(GaussianSample.Params(), types((8,), (4,)))
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        GaussianSample.Params(kl_weight=-1)
    assert GaussianSample.min_inputs == GaussianSample.max_inputs == 2


def test_activity_sparsity_penalty_is_the_kl_to_the_target() -> None:
    x = torch.tensor([[0.1, 0.9], [0.3, 0.5], [0.2, 0.1]])
    out, m, y = run(ActivitySparsity, {"target": 0.05, "weight": 3.0}, types((2,)),
                    train=True, xs=[x])
    assert torch.equal(y, x) and out.shape == (2,)
    rho = 0.05
    expected = sum(rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r))
                   for r in (0.2, 0.5))
    assert m.aux_loss.item() == pytest.approx(3.0 * expected, rel=1e-5)


def test_activity_sparsity_units_on_the_feature_axis() -> None:
    # (C, H, W) map: one unit per channel, averaged over batch and positions
    x = torch.full((2, 3, 4, 4), 0.05)
    _, m, _ = run(ActivitySparsity, None, types((3, 4, 4), feature_axis=0), train=True, xs=[x])
    assert m.aux_loss.item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValidationError, match="less than 1"):
        ActivitySparsity.Params(target=1.0)
