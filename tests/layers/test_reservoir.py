"""reservoir: spectral radius, determinism, the leaky update, carried state, errors, export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from specc.assembled import load
from specc.errors import SpecError
from specc.layers.base import Example
from specc.layers.reservoir import Reservoir, carried_state
from specc.testing import example_spec

from ._util import types


def _build(**params: object) -> torch.nn.Module:
    features = int(params.pop("features", 1))  # type: ignore[call-overload]
    return Reservoir.build(Reservoir.Params(**params), types((None, features))).eval()


def test_spectral_radius_equals_the_setting() -> None:
    for radius in (0.5, 1.0, 1.3):
        m = _build(units=200, spectral_radius=radius, density=0.05)
        got = np.max(np.abs(np.linalg.eigvals(m.w.double().numpy())))
        assert got == pytest.approx(radius, rel=1e-5)
        assert np.count_nonzero(m.w.numpy()) == pytest.approx(0.05 * 200 * 200, rel=0.15)


def test_weights_and_states_are_deterministic_for_a_seed() -> None:
    x = torch.randn(2, 30, 3)
    a, b = _build(units=40, features=3, seed=7), _build(units=40, features=3, seed=7)
    c = _build(units=40, features=3, seed=8)
    assert all(torch.equal(p, q) for p, q in zip(a.buffers(), b.buffers(), strict=True))
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
        assert not torch.allclose(a(x), c(x))


def test_nothing_is_trainable_and_counts_match() -> None:
    m = _build(units=10, features=3, density=0.5)
    assert list(m.parameters()) == []
    assert sum(b.numel() for b in m.buffers()) == 10 * (3 + 10 + 1)
    assert Reservoir.count_params(Reservoir.Params(units=10), types((5, 3))) == (0, 140)


def _reference(m: torch.nn.Module, x: np.ndarray, leak: float, shift: float) -> np.ndarray:
    w, w_in, b = (t.double().numpy() for t in (m.w, m.w_in, m.bias))
    h, out = np.zeros((x.shape[0], w.shape[0])), []
    for t in range(x.shape[1]):
        u = np.tanh(x[:, t] + shift)
        h = (1 - leak) * h + leak * np.tanh(u @ w_in.T + h @ w.T + b)
        out.append(h)
    return np.stack(out, 1)


@pytest.mark.parametrize("leak", [1.0, 0.3])
def test_update_matches_the_equations(leak: float) -> None:
    m = _build(units=30, features=2, density=0.2, bias_scaling=0.4, leak=leak,
               input_shift=-1.0, input_activation="tanh")
    x = torch.randn(3, 25, 2)
    with torch.no_grad():
        got = m(x).double().numpy()
    np.testing.assert_allclose(got, _reference(m, x.double().numpy(), leak, -1.0), atol=1e-5)


@pytest.mark.parametrize("leak", [1.0, 0.6])
def test_sparse_cpu_steps_equal_the_dense_ops(leak: float) -> None:
    m = _build(units=50, features=2, density=0.1, leak=leak, bias_scaling=0.3)
    x = torch.randn(3, 40, 2)
    with torch.no_grad():
        sparse = m(x)
        m.sparse = False
        dense = m(x)
    torch.testing.assert_close(sparse, dense, atol=1e-5, rtol=1e-5)
    m.sparse = True
    xg = x.clone().requires_grad_(True)
    m(xg).sum().backward()  # with gradients to the input it runs the torch ops
    assert xg.grad is not None and float(xg.grad.abs().sum()) > 0


def test_leaky_loop_equals_the_scan_used_for_export() -> None:
    m = _build(units=20, features=2, density=0.3, leak=0.5, bias_scaling=0.2)
    x = torch.randn(4, 12, 2)
    h0 = torch.zeros(4, 20)
    with torch.no_grad():
        torch.testing.assert_close(m._loop(x, h0), m._scan(x, h0), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("density", [0.2, 0.5])  # the sparse CPU steps, the torch ops
@pytest.mark.parametrize("leak", [1.0, 0.4])
def test_carried_state_continues_a_sequence(leak: float, density: float) -> None:
    m = _build(units=25, features=1, density=density, leak=leak)
    x = torch.randn(2, 20, 1)
    with torch.no_grad():
        whole = m(x)
        with carried_state(m) as found:
            assert found == [m]
            parts = torch.cat([m(x[:, :13]), m(x[:, 13:14]), m(x[:, 14:])], dim=1)
        torch.testing.assert_close(parts, whole, atol=1e-6, rtol=1e-6)
        assert not m.carry and m.state is None
        torch.testing.assert_close(m(x[:, 13:]), _build(units=25, features=1, density=density,
                                                        leak=leak)(x[:, 13:]))


SPEC = """specc: 1
name: esn_bad
inputs: {x: [null, 1]}
nodes:
  r: {op: reservoir, in: x, units: 10, spectral_radius: RADIUS}
outputs: [r]
"""


@pytest.mark.parametrize("radius", ["0", "-0.5"])
def test_a_spectral_radius_not_above_zero_is_a_located_error(tmp_path, radius: str) -> None:
    path = tmp_path / "esn.yaml"
    path.write_text(SPEC.replace("RADIUS", radius))
    with pytest.raises(SpecError) as err:
        load(path)
    text = str(err.value)
    assert "esn.yaml:5:" in text and "spectral_radius" in text
    assert "must be > 0" in text and f"(received {radius})" in text


def test_an_infinite_spectral_radius_is_a_located_error(tmp_path) -> None:
    path = tmp_path / "esn.yaml"
    path.write_text(SPEC.replace("RADIUS", ".inf"))
    with pytest.raises(SpecError, match=r"esn.yaml:5:.*spectral_radius: .*finite"):
        load(path)


def test_a_leak_outside_0_1_is_a_located_error(tmp_path) -> None:
    path = tmp_path / "esn.yaml"
    path.write_text(SPEC.replace("spectral_radius: RADIUS", "leak: 1.5"))
    with pytest.raises(SpecError, match=r"esn.yaml:5:.*leak: must be <= 1.*received 1.5"):
        load(path)


def test_a_reservoir_with_no_nonzero_eigenvalue_is_refused() -> None:
    with pytest.raises(SpecError, match=r"no non-zero eigenvalue.*received 0.01"):
        _build(units=3, density=0.01)


@pytest.mark.parametrize(("leak", "op"), [(1.0, "RNN"), (0.3, "Scan")])
def test_export_path_by_leak(leak: float, op: str, tmp_path) -> None:
    from specc.backends.onnx.export import export_module
    from specc.backends.torch import build_module

    line = f"reservoir: {{units: 16, density: 0.3, leak: {leak}, bias_scaling: 0.2}}"
    graph = load(example_spec(Reservoir, Example(line, ((None, 2),)))).graph
    module = build_module(graph, seed=0).eval()
    result = export_module(module, tmp_path / "r.onnx", inputs=graph.inputs,
                           outputs=graph.output_types, tolerance=1e-5)
    assert result.parity is not None and result.parity.ok
    import onnx

    assert op in {n.op_type for n in onnx.load(tmp_path / "r.onnx").graph.node}
