"""The ``rbm`` kind: shape rule, conditionals, free energy and likelihood against brute force,
contrastive statistics, the visible bias from the data and the regimes it accepts."""

from __future__ import annotations

import itertools

import pytest
import torch

from specc.assembled import load
from specc.errors import SpecError
from specc.layers.energy import EnergyModel
from specc.layers.rbm import RBM, RBMParams
from specc.testing import check_kind
from specc.types import TensorType


def machine(units: int, visible: int, kind: str = "bernoulli", seed: int = 0) -> torch.nn.Module:
    """An RBM with random weights and biases of order 1 (so every term matters)."""
    torch.manual_seed(seed)
    module = RBM.build(RBMParams(units=units, visible=kind, init_std=0.7),
                       [TensorType((visible,))])
    with torch.no_grad():
        module.bias.normal_()
        module.visible_bias.normal_()
    return module


def states(n: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)))


def energy(m: torch.nn.Module, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    w, b, c = m.weight.double(), m.visible_bias.double(), m.bias.double()
    v, h = v.double(), h.double()
    visible = -(v @ b) if m.visible == "bernoulli" else 0.5 * ((v - b) ** 2).sum()
    return visible - c @ h - h @ w @ v


def test_harness() -> None:
    check_kind(RBM)  # shape rule vs torch, counts, ONNX parity of p(h|v)


def test_shape_counts_and_parameter_names() -> None:
    p, x = RBMParams(units=5), [TensorType((7,))]
    assert RBM.infer(p, x).shape == (5,)
    assert RBM.count_params(p, x) == (5 * 7 + 5 + 7, 0)
    module = RBM.build(p, x)
    assert isinstance(module, EnergyModel) and module.visible_size == 7
    assert [n for n, _ in module.named_parameters()] == ["weight", "bias", "visible_bias"]


def test_input_must_be_a_vector_of_floats() -> None:
    net = {"specc": 1, "name": "r", "layers": [{"rbm": {"units": 2}}]}
    with pytest.raises(SpecError, match="rank 1"):
        load({**net, "inputs": {"x": [8, 8]}})
    with pytest.raises(SpecError, match="floating-point"):
        load({**net, "inputs": {"x": {"shape": [3], "dtype": "int64"}}})


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian"])
def test_conditionals_follow_the_hand_formulas(kind: str) -> None:
    m = machine(3, 4, kind)
    v, h = torch.rand(2, 4), torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    assert torch.allclose(m(v), torch.sigmoid(v @ m.weight.T + m.bias))
    assert torch.equal(m(v), m.p_h(v))
    mean = h @ m.weight + m.visible_bias
    assert torch.allclose(m.p_v(h), torch.sigmoid(mean) if kind == "bernoulli" else mean)


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian"])
def test_free_energy_is_minus_log_sum_over_hidden_states(kind: str) -> None:
    m = machine(3, 4, kind)
    v = torch.bernoulli(torch.full((5, 4), 0.5)) if kind == "bernoulli" else torch.randn(5, 4)
    brute = torch.stack([-torch.logsumexp(torch.stack([-energy(m, x, h) for h in states(3)]), 0)
                         for x in v])
    assert torch.allclose(m.free_energy(v).double(), brute, atol=1e-5)


@pytest.mark.parametrize("units,visible", [(3, 5), (6, 4)])
def test_exact_likelihood_is_normalised_bernoulli(units: int, visible: int) -> None:
    """Enumerating the hidden states (3 < 5) or the visible ones (4 < 6): sum_v p(v) = 1."""
    m = machine(units, visible)
    every = states(visible)
    p = torch.stack([m.exact_log_likelihood(x[None]) for x in every]).double().exp()
    assert p.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert m.exact_log_likelihood(every).item() == pytest.approx(p.log().mean().item(), abs=1e-5)


def test_exact_likelihood_is_normalised_gaussian() -> None:
    """One Gaussian visible unit: the density integrates to 1 (a fine grid)."""
    m = machine(4, 1, "gaussian")
    grid = torch.linspace(-15, 15, 3001)[:, None]
    log_z = -m.free_energy(grid[:1]).double() - m.exact_log_likelihood(grid[:1]).double()
    density = (-m.free_energy(grid).double() - log_z).exp()
    assert (density.sum() * 0.01).item() == pytest.approx(1.0, abs=1e-3)


def test_exact_likelihood_is_none_when_too_large() -> None:
    assert machine(21, 30).exact_log_likelihood(torch.zeros(1, 30)) is None
    assert machine(21, 30, "gaussian").exact_log_likelihood(torch.zeros(1, 30)) is None
    assert machine(30, 12).exact_log_likelihood(torch.zeros(1, 12)) is not None


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian"])
def test_statistics_are_minus_energy_gradients(kind: str) -> None:
    m = machine(3, 4, kind)
    v, gen = torch.rand(6, 4), torch.Generator().manual_seed(0)
    stats = m.data_statistics(v, gen)
    h = m.p_h(v)
    assert torch.allclose(stats["weight"], h.T @ v / 6)
    assert torch.allclose(stats["bias"], h.mean(0))
    visible = v if kind == "bernoulli" else v - m.visible_bias
    assert torch.allclose(stats["visible_bias"], visible.mean(0))
    # the same as autograd's -dE/dθ averaged over the batch, with h = p(h|v)
    e = torch.stack([energy(m, x, hx) for x, hx in zip(v, h.detach(), strict=True)]).mean()
    grads = torch.autograd.grad(-e, [m.weight, m.bias, m.visible_bias])
    for g, name in zip(grads, ["weight", "bias", "visible_bias"], strict=True):
        assert torch.allclose(g.float(), stats[name], atol=1e-5)


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian"])
def test_model_statistics_advance_the_chains(kind: str) -> None:
    m = machine(3, 4, kind)
    gen = torch.Generator().manual_seed(0)
    chains = m.init_chains(8, gen)
    assert chains.shape == (8, 4)
    if kind == "bernoulli":
        assert set(chains.unique().tolist()) <= {0.0, 1.0}
    stats, after = m.model_statistics(chains, 3, gen)
    assert after.shape == chains.shape and not torch.equal(after, chains)
    assert {k: v.shape for k, v in stats.items()} == {
        n: q.shape for n, q in m.named_parameters()}
    start = torch.rand(5, 4)
    assert torch.equal(m.chain_start(start, gen), start)
    again = m.model_statistics(chains, 3, torch.Generator().manual_seed(0))
    assert torch.equal(again[1], m.model_statistics(chains, 3,
                                                    torch.Generator().manual_seed(0))[1])


def test_samples_come_from_the_generator() -> None:
    m = machine(3, 4)
    v = torch.rand(10, 4)
    a = m.sample_h(v, torch.Generator().manual_seed(1))
    assert torch.equal(a, m.sample_h(v, torch.Generator().manual_seed(1)))
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    err = m.reconstruction_error(v, torch.Generator().manual_seed(1))
    assert err.item() == pytest.approx(((m.p_v(a) - v) ** 2).mean().item())


def test_visible_bias_from_the_data() -> None:
    x = torch.tensor([[0.0, 1.0, 0.5, 0.25], [0.0, 1.0, 0.5, 0.75]])
    p = RBMParams(units=2)
    m = RBM.build(p, [TensorType((4,))])
    with torch.no_grad():
        RBM.init_from_data(p, m, x, torch.Generator())
    q = torch.tensor([1e-3, 1 - 1e-3, 0.5, 0.5])  # unit means, clipped
    assert torch.allclose(m.visible_bias, (q / (1 - q)).log())
    g = RBMParams(units=2, visible="gaussian")
    m = RBM.build(g, [TensorType((4,))])
    with torch.no_grad():
        RBM.init_from_data(g, m, x, torch.Generator())
    assert torch.allclose(m.visible_bias, x.mean(0))
    off = RBMParams(units=2, from_data=False)
    m = RBM.build(off, [TensorType((4,))])
    RBM.init_from_data(off, m, x, torch.Generator())
    assert torch.equal(m.visible_bias, torch.zeros(4))


@pytest.mark.parametrize("regime", ["least_squares", "perceptron"])
def test_an_rbm_under_a_regime_that_cannot_train_it(spec_file, regime: str) -> None:
    path = spec_file(f"""
        specc: 1
        name: r
        inputs:
          pixels: [64]
        layers:
          - rbm: {{units: 16}}
        train: {{regime: {regime}, data: digits}}
        """)
    with pytest.raises(SpecError) as err:
        load(path)
    (issue,) = err.value.issues
    assert issue.message == f"node 'rbm_1': layer 'rbm' is not trained by regime '{regime}'"
    assert issue.line == 6 and issue.path == ("layers", 0, "rbm") and issue.file == str(path)
    assert "contrastive_divergence" in issue.hint


def test_cd_reuses_the_positive_phase_hidden_probabilities_exactly() -> None:
    """A chain started at the data just clamped samples from that phase's p(h|v): the same
    negative statistics and chains as a chain computing p(h|v) afresh."""
    m = machine(4, 6)
    v = torch.rand(5, 6)
    m.data_statistics(v, torch.Generator().manual_seed(0))
    reused = m.model_statistics(m.chain_start(v, torch.Generator()), 2,
                                torch.Generator().manual_seed(3))
    fresh = m.model_statistics(v.clone(), 2, torch.Generator().manual_seed(3))
    assert torch.equal(reused[1], fresh[1])
    assert all(torch.equal(reused[0][k], fresh[0][k]) for k in fresh[0])


def test_step_reconstruction_error_is_the_cd_first_sweep_against_the_data() -> None:
    """The figure the regime logs per step: the MSE of the data against the visible means
    of the CD negative phase started there (a round trip from the same hidden sample); none
    for a chain not started at the last positive phase's data, and none twice."""
    m = machine(4, 6)
    v = torch.rand(5, 6)
    m.data_statistics(v, torch.Generator())
    m.model_statistics(m.chain_start(v, torch.Generator()), 2, torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        want = torch.nn.functional.mse_loss(m.p_v(m.sample_h(v, gen)), v)
        assert torch.equal(m.step_reconstruction_error(v), want)
        assert m.step_reconstruction_error(v) is None
        m.data_statistics(v, torch.Generator())
        m.model_statistics(v.clone(), 1, torch.Generator())  # not the data tensor itself
        assert m.step_reconstruction_error(v) is None


def test_pictures_take_the_input_image_shape_else_a_near_square() -> None:
    from types import SimpleNamespace

    from specc.layers.rbm import _picture

    def ctx(*shapes: tuple[int, ...]) -> SimpleNamespace:
        return SimpleNamespace(graph=SimpleNamespace(
            inputs={f"x{i}": TensorType(s) for i, s in enumerate(shapes)}))

    assert _picture(ctx((4, 6)), 24) == (1, 4, 6)
    assert _picture(ctx((3, 4, 4)), 48) == (3, 4, 4)
    assert _picture(ctx((64,)), 64) == (1, 8, 8)
    assert _picture(ctx((8, 8)), 10) == (1, 2, 5)
