"""rate_encode and lif: the phase and Poisson codes, hand-computed membrane trajectories for both
reset modes, the refractory period, Dale's law and dyadic weights, the refusals and exact export
parity of spike counts (the scan export of a dynamic time axis is checked by the layer harness
against the eager loop at lengths 1, 5 and 50)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from specc.assembled import load
from specc.errors import SpecError
from specc.layers.spiking import LIF, WEIGHT_BITS, RateEncode

from ._util import run, types


def _encoder(**params: object) -> torch.nn.Module:
    return RateEncode.build(RateEncode.Params(**params), types((3,)))


def test_phase_code_spikes_when_the_accumulator_passes_an_integer() -> None:
    enc = _encoder(steps=8, max_rate=0.5).eval()
    x = torch.tensor([[1.0, 0.5, 2.0], [-1.0, 0.75, 0.25]])
    with torch.no_grad():
        s = enc(x)
    assert s.shape == (2, 8, 3)
    # rate 0.5: the accumulator reaches 1, 2, ... at steps 2, 4, 6, 8 (1-based)
    assert s[0, :, 0].tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    assert torch.equal(s[0, :, 2], s[0, :, 0])  # clipped to 1
    assert s[1, :, 0].sum() == 0  # clipped to 0
    # rate 0.25 -> steps 4, 8; rate 0.375 -> floor(0.375 t) rises at t = 3, 6, 8
    assert s[0, :, 1].tolist() == [0, 0, 0, 1, 0, 0, 0, 1]
    assert s[1, :, 1].tolist() == [0, 0, 1, 0, 0, 1, 0, 1]
    assert s.sum(1).tolist() == [[4, 2, 4], [0, 3, 1]]  # floor(rate * steps)


def test_poisson_code_is_random_in_training_and_the_phase_code_at_inference() -> None:
    enc = _encoder(steps=2000, max_rate=0.5, code="poisson")
    x = torch.tensor([[1.0, 0.5, 0.0]])
    torch.manual_seed(0)
    with torch.no_grad():
        a, b = enc.train()(x), enc(x)
        rates = a.mean(1)[0]
        assert not torch.equal(a, b)
        assert float(rates[0]) == pytest.approx(0.5, abs=0.03)
        assert float(rates[1]) == pytest.approx(0.25, abs=0.03) and float(rates[2]) == 0
        phase = enc.eval()(x)
    assert torch.equal(phase, _encoder(steps=2000, max_rate=0.5).eval()(x))


def _lif(features: int = 1, **params: object) -> torch.nn.Module:
    return LIF.build(LIF.Params(**params), types((None, features))).eval()


def _one_neuron(weight: float, **params: object) -> torch.nn.Module:
    m = _lif(units=1, recurrent=False, **params)
    m.w_in.fill_(weight)
    return m


# Hand-computed: one neuron, input weight 2.5, tau 4 (decay 0.75), threshold 1, one input
# spike at step 1. Reset to zero: 2.5 -> spike -> 0, then nothing. Subtract: 2.5 -> spike ->
# 1.5; 1.125 -> spike -> 0.125; 0.09375; 0.0703125.
TRAJECTORIES = {
    "zero": ([1, 0, 0, 0], [0.0, 0.0, 0.0, 0.0]),
    "subtract": ([1, 1, 0, 0], [1.5, 0.125, 0.09375, 0.0703125]),
}


@pytest.mark.parametrize("reset", sorted(TRAJECTORIES))
def test_reset_modes_give_the_hand_computed_membrane_trajectories(reset: str) -> None:
    m = _one_neuron(2.5, tau=4, threshold=1.0, reset=reset)
    x = torch.tensor([[[1.0], [0.0], [0.0], [0.0]]])
    with torch.no_grad():
        spikes, v = m.simulate(torch.nn.functional.linear(x, m.w_in), membrane=True)
        counts = m(x)
    want_spikes, want_v = TRAJECTORIES[reset]
    assert spikes[0, :, 0].tolist() == want_spikes
    assert v is not None and v[0, :, 0].tolist() == want_v  # exact: every value is dyadic
    assert counts.tolist() == [[sum(want_spikes)]]


def test_a_driven_neuron_keeps_the_remainder_only_with_subtract() -> None:
    # weight 0.625, decay 0.75: zero reset fires every second step from 0.625, 1.09375;
    # subtract carries 0.09375 into the next cycle
    x = torch.ones(1, 4, 1)
    zero, sub = (_one_neuron(0.625, tau=4, reset=r) for r in ("zero", "subtract"))
    with torch.no_grad():
        vz = zero.simulate(torch.nn.functional.linear(x, zero.w_in), membrane=True)[1]
        vs = sub.simulate(torch.nn.functional.linear(x, sub.w_in), membrane=True)[1]
    assert vz is not None and vz[0, :, 0].tolist() == [0.625, 0.0, 0.625, 0.0]
    assert vs is not None and vs[0, :, 0].tolist() == [0.625, 0.09375, 0.6953125, 0.146484375]


def test_refractory_steps_ignore_the_input() -> None:
    x = torch.ones(1, 7, 1)
    for refractory, want in ((0, [1] * 7), (2, [1, 0, 0, 1, 0, 0, 1])):
        m = _one_neuron(1.0, tau=2, refractory=refractory, output="trains")
        with torch.no_grad():
            assert m(x)[0, :, 0].tolist() == want


def test_weights_are_dyadic_follow_dales_law_and_have_the_densities() -> None:
    m = _lif(features=64, units=400, input_density=0.2, recurrent_density=0.1, seed=3)
    for w in (m.w_in, m.w_rec):
        scaled = w.double() * 2 ** WEIGHT_BITS
        assert torch.equal(scaled, scaled.round())
    assert float((m.w_in != 0).double().mean()) == pytest.approx(0.2, rel=0.05)
    assert float((m.w_rec != 0).double().mean()) == pytest.approx(0.1, rel=0.05)
    assert bool((m.w_in >= 0).all()) and bool((m.w_in <= 0.5).all())
    assert bool((m.w_rec[:, :320] >= 0).all()) and bool((m.w_rec[:, 320:] <= 0).all())
    half = 2.0 ** -(WEIGHT_BITS + 1)  # the rounding to the grid
    assert float(m.w_rec[:, 320:].min()) >= -0.4 - half
    assert float(m.w_rec[:, :320].max()) <= 0.1 + half
    assert bool((torch.diagonal(m.w_rec) == 0).all())


def test_without_recurrence_the_input_weights_are_the_same() -> None:
    a, b = _lif(features=8, units=20, seed=1), _lif(features=8, units=20, seed=1, recurrent=False)
    assert torch.equal(a.w_in, b.w_in) and not hasattr(b, "w_rec")
    assert LIF.count_params(LIF.Params(units=20), types((None, 8))) == (0, 20 * 28)
    assert LIF.count_params(LIF.Params(units=20, recurrent=False), types((None, 8))) == (0, 160)


def test_counts_are_the_sum_of_the_trains() -> None:
    _, trains_m, _ = run(LIF, {"units": 30, "output": "trains", "input_scaling": 1.0,
                               "refractory": 1}, types((None, 5)))
    counts_m = _lif(features=5, units=30, input_scaling=1.0, refractory=1)
    x = (torch.rand(4, 25, 5, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    with torch.no_grad():
        trains = trains_m(x)
        assert torch.equal(counts_m(x), trains.sum(1))
        assert 0 < float(trains.mean()) < 1


def _spec_file(tmp_path: Path, **params: object) -> Path:
    doc = {"specc": 1, "name": "snn", "inputs": {"x": [64]},
           "nodes": {"enc": {"op": "rate_encode", "in": "x", "steps": params.pop("steps", 10)},
                     "pop": {"op": "lif", "in": "enc", "units": 20, **params}},
           "outputs": ["pop"]}
    path = tmp_path / "snn.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(("params", "match"), [
    ({"threshold": 0}, r"nodes.pop.threshold: must be > 0.0 \(received 0\)"),
    ({"threshold": -1.5}, r"nodes.pop.threshold: must be > 0.0 \(received -1.5\)"),
    ({"input_density": 0}, r"nodes.pop.input_density: must be > 0.0 \(received 0\)"),
    ({"input_density": 1.5}, r"nodes.pop.input_density: must be <= 1.0 \(received 1.5\)"),
    ({"recurrent_density": 0.0}, r"nodes.pop.recurrent_density: must be > 0.0 \(received 0.0\)"),
    ({"recurrent_density": 2}, r"nodes.pop.recurrent_density: must be <= 1.0 \(received 2\)"),
    ({"steps": 0}, r"nodes.enc.steps: must be > 0 \(received 0\)"),
])
def test_bad_settings_are_located_spec_errors(tmp_path: Path, params: dict[str, object],
                                              match: str) -> None:
    path = _spec_file(tmp_path, **params)
    with pytest.raises(SpecError, match=match) as err:
        load(path)
    assert f"{path}:" in str(err.value)  # file:line


def test_lif_needs_a_time_axis() -> None:
    doc = {"specc": 1, "name": "snn", "inputs": {"x": [64]},
           "nodes": {"pop": {"op": "lif", "in": "x", "units": 5}}, "outputs": ["pop"]}
    with pytest.raises(SpecError, match=r"expects input of rank 2 \(time, features\)"):
        load(doc)


def test_export_keeps_spike_counts_exact(tmp_path: Path) -> None:
    import onnxruntime as ort

    import specc

    spec = load(_spec_file(tmp_path, steps=30, units=60, input_scaling=1.0, reset="subtract",
                           refractory=1))
    result = specc.export(spec, tmp_path / "snn.onnx")
    assert result.parity is not None and result.parity.ok
    x = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    from specc.backends.torch import build_module

    with torch.no_grad():
        want = build_module(spec.graph, seed=0).eval()(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert want.sum() > 0 and np.array_equal(got, want)
