"""The ``boltzmann_machine`` kind: its refusals (located at validation), the weight constraints,
the exact likelihood, Gibbs statistics and the mean-field inference form."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

import specc
from specc.cli import main
from specc.errors import SpecError
from specc.layers.boltzmann import BoltzmannMachine, BoltzmannParams
from specc.types import TensorType

LAYER = {"groups": {"v1": 4, "h": 2, "v2": 4},
         "connections": [["v1", "h"], ["h", "v2"], ["h", "h"], ["v2", "v2"]],
         "clamp": ["v1"], "readout": ["v2"]}


def spec_of(**changes) -> dict:
    layer = {**copy.deepcopy(LAYER), **changes}
    return {"specc": 1, "name": "bm", "inputs": {"pattern": [4]},
            "layers": [{"boltzmann_machine": layer}]}


def machine(seed: int = 0, **changes):
    torch.manual_seed(seed)
    p = BoltzmannParams(**{**copy.deepcopy(LAYER), **changes})
    return BoltzmannMachine.build(p, [TensorType((4,))])


def refusal(tmp_path: Path, spec: dict, line_of: str) -> str:
    """The CLI's located refusal of ``spec`` (exit 2 at the line holding ``line_of``)."""
    path = tmp_path / "bm.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if line_of in t)
    assert f"bm.yaml:{line}" in res.output
    return res.output


def test_a_connection_naming_an_unknown_group_is_located(tmp_path: Path) -> None:
    spec = spec_of(connections=[["v1", "h"], ["h", "v3"]])
    with pytest.raises(SpecError) as err:
        specc.load(spec)
    issue = err.value.issues[0]
    assert "connection 1 (h-v3) names an unknown group 'v3'" in issue.message
    assert issue.path[:2] == ("layers", 0) and "groups: v1, h, v2" in issue.hint
    assert "unknown group 'v3'" in refusal(tmp_path, spec, "boltzmann_machine")


def test_clamping_every_group_is_located(tmp_path: Path) -> None:
    spec = spec_of(clamp=["v1", "h", "v2"], readout=[])
    spec["inputs"]["pattern"] = [10]
    with pytest.raises(SpecError) as err:
        specc.load(spec)
    issue = err.value.issues[0]
    assert "every group is clamped: nothing is left to complete or read out" in issue.message
    assert issue.path[:2] == ("layers", 0) and "clamp: v1, h, v2" in str(issue.received)
    assert "every group is clamped" in refusal(tmp_path, spec, "boltzmann_machine")


def test_readout_groups_must_be_unclamped_and_known() -> None:
    for changes, message in [
            ({"readout": []}, "reads out at least one group"),
            ({"readout": ["v1"]}, "group 'v1' is both clamped and read out"),
            ({"readout": ["v9"]}, "readout names an unknown group 'v9'"),
            ({"clamp": ["x"]}, "clamp names an unknown group 'x'")]:
        with pytest.raises(SpecError, match=message):
            specc.load(spec_of(**changes))


def test_the_input_width_must_be_the_clamped_units(tmp_path: Path) -> None:
    spec = spec_of()
    spec["inputs"]["pattern"] = [5]
    with pytest.raises(SpecError) as err:
        specc.load(spec)
    issue = err.value.issues[0]
    assert "expects the clamped groups' 4 units (v1)" in issue.message
    assert str(issue.received) == "shape (5,) from pattern"
    assert "clamped groups' 4 units" in refusal(tmp_path, spec, "boltzmann_machine")


def test_a_group_of_no_units_is_refused_at_its_field() -> None:
    for groups in ({"v1": 4, "h": 0, "v2": 4}, {"v1": 4, "h": -2, "v2": 4}):
        with pytest.raises(SpecError) as err:
            specc.load(spec_of(groups=groups))
        issue = err.value.issues[0]
        assert issue.path == ("layers", 0, "boltzmann_machine", "groups", "h"), issue.path
        assert "must be > 0" in issue.message and issue.received == groups["h"]


def test_weights_are_symmetric_masked_with_zero_diagonal() -> None:
    m = machine()
    w = m.weight.detach()
    assert torch.equal(w, w.T) and not w.diagonal().any()
    # storage order: v1 0-3, v2 4-7 (read-out), h 8-9; v1 and v2 meet only through h
    assert not w[:4, 4:8].any() and not w[:4, :4].any() and w[4:8, 4:8].abs().sum() > 0
    with torch.no_grad():
        m.weight.add_(torch.randn(10, 10))
    m.constrain()
    w = m.weight.detach()
    assert torch.equal(w, w.T) and not w.diagonal().any() and not w[:4, 4:8].any()
    assert m.visible_size == 8 and [n for n, _ in m.named_buffers()] == ["mask"]


def test_exact_likelihood_is_normalised() -> None:
    m = machine(init_std=1.0)
    from specc.layers.boltzmann import _all_states

    v = _all_states(8, "cpu")
    with torch.no_grad():
        total = torch.logsumexp(torch.stack([m.exact_log_likelihood(row[None]) for row in v]),
                                0)
    assert float(total) == pytest.approx(0.0, abs=1e-4)
    big = BoltzmannMachine.build(BoltzmannParams(groups={"v": 4, "h": 17}, connections=[
        ["v", "h"]], clamp=[], readout=["v"]), [TensorType((0,))])
    assert big.exact_log_likelihood(torch.zeros(1, 4)) is None


def test_gibbs_statistics_match_the_exact_distribution() -> None:
    """Long persistent chains reproduce the enumerated means <s_i> and <s_i s_j>."""
    from specc.layers.boltzmann import _all_states

    m = machine(seed=1, init_std=1.0)
    states = _all_states(10, "cpu")
    with torch.no_grad():
        p = torch.softmax(m._neg_energy(states), 0)
        exact_pair = (states.T * p) @ states
        gen = torch.Generator().manual_seed(0)
        chains = m.init_chains(2000, gen)
        total = {"weight": torch.zeros(10, 10), "bias": torch.zeros(10)}
        for _ in range(40):
            stats, chains = m.model_statistics(chains, 1, gen)
            for k in total:
                total[k] += stats[k] / 40
    assert torch.allclose(total["bias"], p @ states, atol=0.03)
    assert torch.allclose(total["weight"], exact_pair * m.mask, atol=0.03)


def test_data_statistics_clamp_the_visible_units() -> None:
    m = machine()
    v = torch.eye(4).repeat(1, 2)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        stats = m.data_statistics(v, gen, sweeps=2)
        noisy = m.data_statistics(v, gen, sweeps=2, clamp_noise=0.4)
    assert torch.equal(stats["bias"][:8], v.mean(0))
    assert not torch.equal(noisy["bias"][:8], v.mean(0))
    assert set(stats) == {n for n, _ in m.named_parameters()}


def test_forward_is_damped_mean_field_completion() -> None:
    m = machine(steps=3, damping=0.5).eval()
    x = torch.eye(4)
    w, b = m.weight.detach(), m.bias.detach()
    mf = torch.full((4, 6), 0.5)
    for _ in range(3):
        mf = 0.5 * mf + 0.5 * torch.sigmoid(x @ w[:4, 4:] + mf @ w[4:, 4:] + b[4:])
    with torch.no_grad():
        assert torch.allclose(m(x), mf[:, :4])


def test_generated_datasets_are_bounded_before_memory_is_spent() -> None:
    from specc.data.encoder import Encoder, EncoderParams
    from specc.data.patterns import RandomPatterns, RandomPatternsParams

    with pytest.raises(SpecError) as err:
        Encoder.load(EncoderParams(size=100_000, copies=10))
    issue = err.value.issues[0]
    assert issue.path == ("train", "data", "copies") and issue.received == 10
    assert "size x size x copies is 100000000000 values (at most 50,000,000)" in issue.message
    with pytest.raises(SpecError, match="units x patterns x probes is 1000000000 values"):
        RandomPatterns.load(RandomPatternsParams(units=100_000, patterns=100, probes=100))
    assert Encoder.load(EncoderParams(size=4, copies=2)).arrays["x"].shape == (8, 4)
