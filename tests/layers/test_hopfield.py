"""The ``hopfield`` kind: the update rule (ties keep the state), the energy, the shape rule,
the regimes it accepts, and the ``random_patterns`` dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import specc
from specc.data.patterns import RandomPatterns, RandomPatternsParams
from specc.errors import SpecError
from specc.layers.hopfield import Hopfield, HopfieldParams


def _module(weight: list[list[float]], steps: int = 1) -> torch.nn.Module:
    w = torch.tensor(weight)
    m = Hopfield.build(HopfieldParams(units=len(w), steps=steps), [])
    m.weight.copy_(w)
    return m


def test_one_step_is_the_sign_of_the_field_and_a_zero_field_keeps_the_state() -> None:
    m = _module([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    x = torch.tensor([[0.3, -2.0, 5.0], [-1.0, -1.0, -0.5], [0.0, 0.0, -1.0]])
    # states: x >= 0 -> +1; unit 2 has no connections (field 0): it keeps its state
    assert m(x).tolist() == [[-1, 1, 1], [-1, -1, -1], [1, 1, -1]]


def test_synchronous_steps_can_cycle_and_the_output_is_the_last_state() -> None:
    w = [[0, -1], [-1, 0]]
    x = torch.tensor([[1.0, 1.0]])
    assert _module(w, steps=1)(x).tolist() == [[-1, -1]]
    assert _module(w, steps=2)(x).tolist() == [[1, 1]]


def test_energy_is_minus_half_s_w_s() -> None:
    rng = np.random.default_rng(0)
    patterns = rng.choice([-1.0, 1.0], size=(3, 16))
    w = patterns.T @ patterns
    np.fill_diagonal(w, 0)
    m = _module(w.tolist(), steps=3)
    s = torch.tensor(rng.choice([-1.0, 1.0], size=(5, 16)), dtype=torch.float32)
    want = -0.5 * np.einsum("bi,ij,bj->b", s.numpy(), w, s.numpy())
    np.testing.assert_array_equal(m.energy(s).numpy(), want.astype(np.float32))
    stored = torch.tensor(patterns, dtype=torch.float32)
    assert torch.equal(m(stored), stored)  # 3 patterns of 16 units: fixed points
    assert float(m.energy(stored).max()) < float(m.energy(s).min())


def test_untrained_weights_are_symmetric_integers_with_a_zero_diagonal() -> None:
    torch.manual_seed(0)
    w = Hopfield.build(HopfieldParams(units=9), []).weight
    assert torch.equal(w, w.T) and not w.diagonal().any()
    assert set(w.unique().tolist()) <= {-1.0, 0.0, 1.0}


def test_units_must_equal_the_input_features() -> None:
    spec = {"specc": 1, "name": "h", "inputs": {"x": [10]}, "layers": [{"hopfield": {"units": 12}}]}
    with pytest.raises(SpecError, match=r"has 12 units but its input has 10 features"):
        specc.load(spec)


def test_a_hopfield_network_is_not_trained_by_backprop() -> None:
    spec = {"specc": 1, "name": "h", "inputs": {"x": [4]}, "layers": [{"hopfield": {"units": 4}}],
            "train": {"regime": "backprop", "data": {"dataset": "iris"}, "loss": "mse"}}
    with pytest.raises(SpecError, match=r"hebbian"):
        specc.load(spec)


def test_random_patterns_are_seeded_interleaved_and_flip_exactly_that_many_bits() -> None:
    p = RandomPatternsParams(units=50, patterns=4, flip=0.1, probes=3, seed=7)
    raw = RandomPatterns.load(p)
    x, y, k = raw.arrays["x"], raw.arrays["y"], raw.arrays["pattern"]
    assert x.shape == y.shape == (12, 50) and set(np.unique(x)) == {-1.0, 1.0}
    assert k.tolist() == [0, 1, 2, 3] * 3
    np.testing.assert_array_equal(y[:4], y[4:8])  # sample r * P + p is a probe of pattern p
    assert ((x != y).sum(1) == 5).all()
    again = RandomPatterns.load(p)
    np.testing.assert_array_equal(again.arrays["x"], x)
    other = RandomPatterns.load(RandomPatternsParams(units=50, patterns=4, probes=3, seed=8))
    assert not np.array_equal(other.arrays["y"], y)
