"""The ``ntm`` kind: stepping equals the full forward, the numerical guards, the parameter
count, located errors, and the ``step`` form exported with parity."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch
from click.testing import CliRunner

import specc
from specc.cli import main
from specc.layers.ntm import MEMORY_INIT, NTMParams, _ntm_module, ntm_count
from specc.registry import current
from specc.types import TensorType

TINY = """\
specc: 1
name: tiny_ntm
inputs: {x: [null, 4]}
nodes:
  machine: {op: ntm, in: x, units: 2, controller: 8, memory_rows: ROWS, memory_cols: 3}
  bits: {op: sigmoid, in: machine}
outputs: [bits]
forms:
  step: {step: {}}
"""


def _machine(features: int = 4, **kw: int) -> torch.nn.Module:
    p = NTMParams(**{"units": 2, "controller": 8, "memory_rows": 6, "memory_cols": 3, **kw})
    torch.manual_seed(0)
    return current().layers.get("ntm").build(p, [TensorType((None, features))]).eval()


def test_step_equals_forward() -> None:
    m = _machine(shift_range=2)
    assert current().layers.get("ntm").stateful and m.stateful
    x = torch.randn(5, 9, 4, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        full = m(x)
        state = m.initial_state(5)
        assert {k: tuple(v.shape[1:]) for k, v in state.items()} == m.state_shapes() == {
            "memory": (6, 3), "read": (3,), "h": (8,), "c": (8,), "w_read": (6,),
            "w_write": (6,)}
        steps = []
        for t in range(9):
            y, state = m.step(x[:, t], state)
            steps.append(y)
        torch.testing.assert_close(torch.stack(steps, 1), full, atol=0, rtol=0)
        seq, mid = m.run(x[:, :4], m.initial_state(5))  # a state carried half-way
        rest, end = m.run(x[:, 4:], mid)
        torch.testing.assert_close(torch.cat([seq, rest], 1), full, atol=0, rtol=0)
        for k in end:
            torch.testing.assert_close(end[k], state[k], atol=0, rtol=0)


def test_initial_state_and_guards() -> None:
    m = _machine()
    state = m.initial_state(2)
    assert torch.equal(state["memory"], torch.full((2, 6, 3), MEMORY_INIT))
    for k in ("w_read", "w_write"):  # both heads on row 0
        assert torch.equal(state[k], torch.eye(6)[:1].expand(2, 6))
    assert all(not v.any() for k, v in state.items() if k not in ("memory", "w_read", "w_write"))
    with torch.no_grad():  # extreme head parameters: still finite, weightings still sum to 1
        m.heads.weight.mul_(50)
        m.heads.bias.fill_(-30)
        x = torch.randn(3, 40, 4, generator=torch.Generator().manual_seed(2)) * 10
        y, end = m.run(x, m.initial_state(3))
    assert torch.isfinite(y).all() and all(torch.isfinite(v).all() for v in end.values())
    for w in (end["w_read"], end["w_write"]):
        assert (w >= 0).all()
        torch.testing.assert_close(w.sum(-1), torch.ones(3))


def test_the_heads_can_write_distinct_rows_from_the_constant_memory() -> None:
    """The memory's rows start equal, so content addressing alone cannot tell them apart; the
    heads start on row 0 and a +1 shift moves the write head one row a step, so three steps
    write three different vectors to three rows (from uniform start weightings every row got
    the same vector)."""
    m = _machine()  # 6 rows of 3
    with torch.no_grad():
        m.heads.weight.zero_()
        bias = torch.zeros_like(m.heads.bias)
        # the write head's block: key (3), beta, g, shift (3), gamma, erase (3), add (3)
        w0 = m.heads.bias.shape[0] - (3 + 1 + 1 + 3 + 1) - 6
        bias[w0 + 4] = -20.0  # g ~ 0: follow the previous weighting
        bias[w0 + 5:w0 + 8] = torch.tensor([-20.0, -20.0, 20.0])  # shift +1
        bias[w0 + 8] = 20.0  # sharp
        bias[-6:-3] = 20.0  # erase everything under the head
        m.heads.bias.copy_(bias)
        m.controller.weight_ih.zero_()
        m.controller.weight_hh.zero_()
        m.controller.bias_ih.zero_()
        m.controller.bias_hh.zero_()
        state = m.initial_state(1)
        rows = []
        for t in range(3):
            # the added vector comes from the bias (controller output is a constant)
            m.heads.bias[-3:] = torch.tensor([float(t + 1), -1.0, 0.5])
            _, state = m.step(torch.zeros(1, 4), state)
            rows.append(int(state["w_write"].argmax()))
    assert rows == [1, 2, 3]  # one row a step
    memory = state["memory"][0]
    assert memory[1, 0] == pytest.approx(1.0, abs=1e-3)
    assert memory[2, 0] == pytest.approx(2.0, abs=1e-3)
    assert memory[3, 0] == pytest.approx(3.0, abs=1e-3)
    assert memory[4, 0] == pytest.approx(0.0, abs=1e-3)


def test_gradients_finite_from_the_constant_memory() -> None:
    m = _machine().train()
    x = torch.zeros(2, 6, 4)  # no input at all: every memory row equal and tiny
    m(x).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters())


def test_parameter_count_matches_torch() -> None:
    for kw in ({}, {"shift_range": 0}, {"shift_range": 3, "memory_cols": 5}):
        m = _machine(features=7, **kw)
        p = NTMParams(**{"units": 2, "controller": 8, "memory_rows": 6, "memory_cols": 3, **kw})
        assert sum(t.numel() for t in m.parameters()) == ntm_count(p, 7)


def test_shift_rolls_the_weighting_circularly() -> None:
    """With a sharp shift by +1 and no content, the write weighting walks one row a step."""
    m = _ntm_module()
    assert m is _ntm_module()  # built once
    net = _machine(memory_rows=5, shift_range=1)
    size = net.heads.out_features
    with torch.no_grad():
        net.heads.weight.zero_()
        bias = torch.zeros(size)
        block = 3 + 1 + 1 + 3 + 1  # key (3), beta, g, shifts (3), gamma
        for head in range(2):
            o = head * block
            bias[o + 4] = -50.0  # gate 0: keep the previous weighting
            bias[o + 5:o + 8] = torch.tensor([-50.0, -50.0, 50.0])  # shift +1
            bias[o + 8] = 50.0  # sharp
        net.heads.bias.copy_(bias)
    state = net.initial_state(1)
    state["w_write"] = torch.eye(5)[:1]
    for t in range(1, 7):
        _, state = net.step(torch.zeros(1, 4), state)
        assert int(state["w_write"].argmax()) == t % 5


def test_zero_memory_rows_is_a_located_error(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(TINY.replace("ROWS", "0"))
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 2, result.output
    assert f"{spec}:5" in result.output and "nodes.machine.memory_rows" in result.output
    assert "received 0" in result.output and "Traceback" not in result.output


def test_step_form_exports_with_parity(tmp_path: Path) -> None:
    spec = tmp_path / "tiny_ntm.yaml"
    spec.write_text(TINY.replace("ROWS", "6"))
    result = specc.export(str(spec), tmp_path / "step.onnx", form="step")
    assert result.parity.ok
    model = onnx.load(str(result.path))
    state = ["memory", "read", "h", "c", "w_read", "w_write"]
    assert [i.name for i in model.graph.input] == ["x"] + [f"machine.{s}" for s in state]
    assert [o.name for o in model.graph.output] == ["bits"] + [
        f"machine.{s}.next" for s in state]


def test_whole_forward_with_a_dynamic_time_axis_refuses_export(tmp_path: Path) -> None:
    spec = tmp_path / "ntm.yaml"
    spec.write_text("specc: 1\nname: ntm_dyn\ninputs: {x: [null, 10]}\nlayers:\n"
                    "  - ntm: {units: 8, controller: 6, memory_rows: 5, memory_cols: 4}\n")
    res = CliRunner().invoke(main, ["export", str(spec), "-o", str(tmp_path / "m.onnx")])
    assert res.exit_code == 2, res.output
    assert "ntm.yaml:5" in res.output and "(kind 'ntm') cannot be exported" in res.output
    assert "its time axis has no fixed length" in res.output and "--form step" in res.output
    assert not (tmp_path / "m.onnx").exists()


def test_memory_size_and_shift_range_are_bounded(tmp_path: Path) -> None:
    spec = tmp_path / "big.yaml"
    spec.write_text(TINY.replace("ROWS", "10000000"))
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 2, result.output
    assert "memory_rows x memory_cols must be at most 4,194,304" in result.output
    assert "received 10000000 x 3" in result.output and "Traceback" not in result.output
    spec.write_text(TINY.replace("ROWS", "2").replace("memory_cols: 3", "memory_cols: 3, "
                                                      "shift_range: 3"))
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 2 and "shifts past the memory's 2 rows" in result.output
