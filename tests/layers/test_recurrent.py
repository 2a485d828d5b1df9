"""simple_rnn / lstm / gru / bidirectional: shapes, counts, loop vs fused op, dropout masks."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from specc.errors import SpecError
from specc.layers.bidirectional import Bidirectional
from specc.layers.recurrent import GRU, LSTM, SimpleRNN

from ._util import run, types

KINDS = {"simple_rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


@pytest.mark.parametrize(("kind", "gates"), [(SimpleRNN, 1), (LSTM, 4), (GRU, 3)])
def test_shapes_and_torch_counts(kind: type, gates: int) -> None:
    out, _, y = run(kind, {"units": 6}, types((7, 3)))
    assert out.shape == (6,) and out.feature_axis == -1
    # torch keeps two bias vectors per gate block
    assert kind.count_params(kind.Params(units=6), types((7, 3))) == (gates * 6 * (3 + 6 + 2), 0)
    out, _, y = run(kind, {"units": 4, "return_sequences": True, "num_layers": 2},
                    types((None, 3)))
    assert out.shape == (None, 4) and y.shape == (3, 5, 4)
    out, _, _ = run(kind, {"units": 4, "use_bias": False}, types((5, 3)))


@pytest.mark.parametrize("name", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize(("bidirectional", "num_layers"), [(False, 1), (False, 2), (True, 2)])
def test_loop_matches_the_fused_op(name: str, bidirectional: bool, num_layers: int) -> None:
    kind = KINDS[name]
    params = {"units": 5, "return_sequences": True, "num_layers": num_layers}
    inputs = types((6, 4))
    if bidirectional:
        m = Bidirectional.build(Bidirectional.Params(layer={name: params}), inputs)
    else:
        m = kind.build(kind.Params(**params), inputs)
    with torch.no_grad():  # non-zero biases so that every term is exercised
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    m.eval()
    x = torch.randn(3, 6, 4)
    seq, last = m.forward_loop(x)
    fused_seq, h = m.rnn(x)
    h = h[0] if name == "lstm" else h
    torch.testing.assert_close(seq, fused_seq, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(last, torch.cat(list(h[-m.directions:]), -1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(m(x), fused_seq, atol=1e-5, rtol=1e-5)


def _identity_relu_rnn(**params: object) -> torch.nn.Module:
    """units = features = 8, relu, W_ih = W_hh = I, zero biases: easy to follow by hand."""
    p = SimpleRNN.Params(units=8, activation="relu", return_sequences=True,
                         kernel_initializer="identity", recurrent_initializer="identity",
                         **params)
    return SimpleRNN.build(p, types((10, 8))).train()


def test_input_dropout_mask_is_the_same_at_every_step() -> None:
    torch.manual_seed(0)
    m = _identity_relu_rnn(dropout=0.5)
    with torch.no_grad():
        m.rnn.weight_hh_l0.zero_()
    y = m(torch.ones(4, 10, 8))  # h_t = relu(mask * 1): the mask itself, at each step
    assert torch.equal(y, y[:, :1].expand_as(y))
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert not torch.equal(y[0, 0], y[1, 0])  # one mask per sequence, not per batch


def test_recurrent_dropout_mask_is_the_same_at_every_step() -> None:
    torch.manual_seed(0)
    m = _identity_relu_rnn(recurrent_dropout=0.5)
    # h_t = 1 + m * h_(t-1): a unit with m = 0 stays at 1; with m = 2 it grows at every step.
    y = m(torch.ones(4, 10, 8))
    steps = y[:, 1:] - y[:, :-1]
    dropped = steps[:, 0] == 0
    assert dropped.any() and (~dropped).any()
    assert torch.all(steps[dropped.unsqueeze(1).expand_as(steps)] == 0)
    assert torch.all(steps[(~dropped).unsqueeze(1).expand_as(steps)] > 0)


def test_dropout_is_off_in_eval_and_random_in_training() -> None:
    m = LSTM.build(LSTM.Params(units=6, dropout=0.3, recurrent_dropout=0.3), types((5, 3)))
    x = torch.randn(4, 5, 3)
    m.train()
    assert not torch.equal(m(x), m(x))
    m(x).sum().backward()
    assert m.rnn.weight_hh_l0.grad is not None
    m.eval()
    torch.testing.assert_close(m(x), m.rnn(x)[1][0][-1])


def test_keras_initialisers() -> None:
    m = LSTM.build(LSTM.Params(units=4), types((5, 3)))
    assert m.rnn.bias_ih_l0[4:8].tolist() == [1.0] * 4  # unit_forget_bias
    assert torch.all(m.rnn.bias_ih_l0[:4] == 0) and torch.all(m.rnn.bias_hh_l0 == 0)
    m = LSTM.build(LSTM.Params(units=4, unit_forget_bias=False), types((5, 3)))
    assert torch.all(m.rnn.bias_ih_l0 == 0)
    m = SimpleRNN.build(SimpleRNN.Params(units=6), types((5, 3)))
    w = m.rnn.weight_hh_l0
    torch.testing.assert_close(w.T @ w, torch.eye(6), atol=1e-5, rtol=0)  # orthogonal
    m = SimpleRNN.build(SimpleRNN.Params(units=6, recurrent_initializer="identity"),
                        types((5, 3)))
    assert torch.equal(m.rnn.weight_hh_l0.data, torch.eye(6))  # IRNN


def test_cell_activation_is_internal() -> None:
    assert SimpleRNN.fuses_activation is False
    m = SimpleRNN.build(SimpleRNN.Params(units=3, activation="relu"), types((4, 2)))
    assert m.rnn.nonlinearity == "relu"


def test_rnn_input_errors() -> None:
    with pytest.raises(SpecError, match=r"rank 2 \(time, features\).*received shape \(8,\)"):
        LSTM.infer(LSTM.Params(units=4), types((8,)))
    with pytest.raises(SpecError, match="floating-point"):
        GRU.infer(GRU.Params(units=4), types((8, 2), dtype="int64"))
    with pytest.raises(SpecError, match=r"known feature \(last\) axis"):
        GRU.infer(GRU.Params(units=4), types((8, None)))
    with pytest.raises(ValidationError, match="less than 1"):
        GRU.Params(units=4, recurrent_dropout=1.0)
    with pytest.raises(ValidationError, match="Extra inputs"):
        LSTM.Params(units=4, activation="relu")


# -- bidirectional --------------------------------------------------------------------------------


@pytest.mark.parametrize(("merge_mode", "features"), [
    ("concat", 10), ("sum", 5), ("mul", 5), ("ave", 5),
])
def test_bidirectional_merge_shapes(merge_mode: str, features: int) -> None:
    params = {"layer": {"gru": {"units": 5}}, "merge_mode": merge_mode}
    out, _, _ = run(Bidirectional, params, types((7, 3)))
    assert out.shape == (features,)
    params["layer"] = {"lstm": {"units": 5, "return_sequences": True}}
    out, _, _ = run(Bidirectional, params, types((None, 3)))
    assert out.shape == (None, features)
    p = Bidirectional.Params.model_validate(params)
    assert Bidirectional.count_params(p, types((7, 3))) == \
        (2 * LSTM.count_params(LSTM.Params(units=5), types((7, 3)))[0], 0)


def test_bidirectional_merge_values() -> None:
    inputs = types((6, 3))
    concat = Bidirectional.build(Bidirectional.Params(layer={"gru": {"units": 4}}), inputs)
    x = torch.randn(2, 6, 3)
    y = concat.eval()(x)
    fwd, bwd = y[:, :4], y[:, 4:]
    for mode, expected in [("sum", fwd + bwd), ("mul", fwd * bwd), ("ave", (fwd + bwd) / 2)]:
        p = Bidirectional.Params(layer={"gru": {"units": 4}}, merge_mode=mode)
        m = Bidirectional.build(p, inputs)
        m.load_state_dict(concat.state_dict())
        torch.testing.assert_close(m.eval()(x), expected)
    # the forward half is a plain GRU's last output; the backward one has read x reversed
    torch.testing.assert_close(fwd, concat.rnn(x)[0][:, -1, :4])
    torch.testing.assert_close(bwd, concat.rnn(x)[0][:, 0, 4:])


def test_bidirectional_params_name_the_inner_field() -> None:
    with pytest.raises(ValidationError) as err:
        Bidirectional.Params.model_validate({"layer": {"gru": {"units": 0}}})
    assert err.value.errors()[0]["loc"] == ("layer", "gru", "units")
    with pytest.raises(ValidationError) as err:
        Bidirectional.Params.model_validate({"layer": {"lstm": {"units": 4, "dropuot": 0.1}}})
    assert err.value.errors()[0]["loc"] == ("layer", "lstm", "dropuot")
    with pytest.raises(ValidationError, match="exactly one of simple_rnn, lstm or gru"):
        Bidirectional.Params.model_validate({"layer": {"gru": {"units": 2},
                                                       "lstm": {"units": 2}}})
    with pytest.raises(ValidationError, match="exactly one"):
        Bidirectional.Params.model_validate({"layer": {}})
    assert Bidirectional.Params.model_validate({"layer": {"GRU": {"units": 2}}}).layer.kind == "gru"
    with pytest.raises(SpecError, match=r"rank 2 \(time, features\)"):
        Bidirectional.infer(Bidirectional.Params(layer={"gru": {"units": 2}}), types((4,)))
