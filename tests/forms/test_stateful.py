"""The stateful protocol of the recurrent kinds: stepping equals the full forward."""

from __future__ import annotations

import pytest
import torch

from specc.errors import SpecError
from specc.registry import current
from specc.types import TensorType

CASES = [
    ("simple_rnn", {"units": 5}),
    ("simple_rnn", {"units": 4, "activation": "relu", "num_layers": 2}),
    ("lstm", {"units": 6}),
    ("lstm", {"units": 3, "num_layers": 3}),
    ("gru", {"units": 5, "num_layers": 2}),
    ("gru", {"units": 4}),
    ("lstm", {"units": 4, "use_bias": False}),
    ("simple_rnn", {"units": 3, "use_bias": False}),
    ("reservoir", {"units": 7, "density": 0.5, "bias_scaling": 0.3}),
    ("reservoir", {"units": 20, "density": 0.15, "leak": 0.4, "input_shift": -1.0,
                   "input_activation": "tanh"}),
]


def _build(kind: str, params: dict, features: int = 3):
    cls = current().layers.get(kind)
    p = cls.Params(**params, **({} if kind == "reservoir" else {"return_sequences": True}))
    torch.manual_seed(0)
    return cls, cls.build(p, [TensorType((None, features), "float32")]).eval()


@pytest.mark.parametrize(("kind", "params"), CASES)
def test_step_equals_forward(kind: str, params: dict) -> None:
    cls, m = _build(kind, params)
    assert cls.stateful
    x = torch.randn(4, 9, 3, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        full = m(x)
        state = m.initial_state(4)
        assert {k: tuple(v.shape[1:]) for k, v in state.items()} == m.state_shapes()
        steps = []
        for t in range(x.shape[1]):
            y, state = m.step(x[:, t], state)
            steps.append(y)
        torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=1e-5)
        # run() from a state carried half-way equals stepping the rest
        seq, mid = m.run(x[:, :5], m.initial_state(4))
        rest, end = m.run(x[:, 5:], mid)
        torch.testing.assert_close(torch.cat([seq, rest], 1), full, atol=1e-5, rtol=1e-5)
        for k in end:
            torch.testing.assert_close(end[k], state[k], atol=1e-5, rtol=1e-5)


def test_bidirectional_refuses_step() -> None:
    cls = current().layers.get("bidirectional")
    assert not getattr(cls, "stateful", False)
    from specc.layers.recurrent import LSTMParams, build_recurrent

    m = build_recurrent("lstm", LSTMParams(units=3), 2, bidirectional=True)
    with pytest.raises(SpecError, match="bidirectional layer reads the sequence backwards"):
        m.step(torch.zeros(1, 2), {"h": torch.zeros(1, 3), "c": torch.zeros(1, 3)})
