"""Recurrent kinds ``simple_rnn``, ``lstm`` and ``gru`` and the machinery they share.

Each builds one module holding torch's fused ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (batch first),
so inference, GPU training without dropout and the ONNX export use the fused op. Training
with ``dropout`` or ``recurrent_dropout`` runs an explicit loop over the *same* weights with
one mask per sequence, the same at every time step (Gal & Ghahramani, as Keras does): the
input mask multiplies each step's input, the recurrent mask the previous hidden state that
enters the recurrent product (the carried state itself is not masked).
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..errors import SpecError
from ..registry import abstract
from ..types import TensorType
from .base import Example, Initializer, LayerKind, Params, expect_float, expect_known, shape_error

#: Gate blocks per cell: rows of weight_ih are gates * units.
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


class RecurrentParams(Params):
    units: int = Field(gt=0, description="Size of the hidden state (output features).")
    return_sequences: bool = Field(
        False, description="Return the output at every step (time, units) instead of the last "
        "one (units,).")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Fraction of each layer's input "
                           "features dropped in training; one mask per sequence.")
    recurrent_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Fraction of the hidden "
                                     "state dropped before the recurrent product in training; "
                                     "one mask per sequence.")
    num_layers: int = Field(1, gt=0, le=1000, description="Stacked recurrent layers.")
    use_bias: bool = Field(True, description="Learn biases (torch keeps two per gate).")
    kernel_initializer: Initializer = Field("glorot_uniform", description="Input weights.")
    recurrent_initializer: Initializer = Field(
        "orthogonal", description="Recurrent weights; 'identity' gives an IRNN.")
    bias_initializer: Initializer = Field("zeros", description="Biases.")


class SimpleRNNParams(RecurrentParams):
    activation: Literal["tanh", "relu"] = Field("tanh", description="Cell nonlinearity.")


class LSTMParams(RecurrentParams):
    unit_forget_bias: bool = Field(True, description="Start the forget-gate bias at 1 (Keras).")


class GRUParams(RecurrentParams):
    pass


def cell_of(kind: str, p: RecurrentParams) -> str:
    """torch's cell name for a recurrent kind (``simple_rnn`` -> ``rnn_tanh``/``rnn_relu``)."""
    return f"rnn_{p.activation}" if kind == "simple_rnn" else kind


def check_sequence(x: TensorType) -> int:
    """Check a float ``(time, features)`` input; return the feature count."""
    expect_float(x)
    if x.rank != 2:
        raise shape_error("expects input of rank 2 (time, features) per sample", x,
                          hint="a vector has no time axis: reshape it to [steps, features]")
    return expect_known(x, 1, "feature (last) axis")


def recurrent_type(x: TensorType, p: RecurrentParams, features: int) -> TensorType:
    """Output type: ``(time, features)`` with return_sequences, else ``(features,)``."""
    shape = (x.shape[0], features) if p.return_sequences else (features,)
    return TensorType(shape, x.dtype, feature_axis=-1)


def recurrent_count(cell: str, p: RecurrentParams, features: int, directions: int) -> int:
    """torch's parameter count (two bias vectors per gate block when ``use_bias``)."""
    rows = GATES[cell] * p.units
    bias = 2 * rows if p.use_bias else 0
    first = directions * (rows * (features + p.units) + bias)
    later = directions * (rows * (directions * p.units + p.units) + bias)
    return first + (p.num_layers - 1) * later  # closed form: no loop over the layers


def build_recurrent(cell: str, p: RecurrentParams, features: int, bidirectional: bool = False,
                    merge_mode: str = "concat") -> Any:
    """The torch module for a (possibly bidirectional) recurrent layer, initialised as Keras."""
    from .initializers import apply_init

    m = _recurrent_module()(cell, features, p.units, p.num_layers, bidirectional, p.use_bias,
                            p.dropout, p.recurrent_dropout, p.return_sequences, merge_mode)
    for name, weight in m.rnn.named_parameters():
        if name.startswith("weight_ih"):
            apply_init(weight, p.kernel_initializer)
        elif name.startswith("weight_hh"):
            apply_init(weight, p.recurrent_initializer)
        else:
            apply_init(weight, p.bias_initializer)
            if cell == "lstm" and name.startswith("bias_ih") and p.unit_forget_bias:
                weight.data[p.units:2 * p.units] = 1.0
    return m


@cache
def _recurrent_module() -> type:
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Recurrent(nn.Module):
        """A fused torch RNN/LSTM/GRU plus the masked step-by-step loop used for dropout."""

        def __init__(self, cell: str, features: int, units: int, num_layers: int,
                     bidirectional: bool, bias: bool, dropout: float, recurrent_dropout: float,
                     return_sequences: bool, merge_mode: str = "concat") -> None:
            super().__init__()
            kwargs: dict[str, Any] = dict(num_layers=num_layers, bias=bias, batch_first=True,
                                          bidirectional=bidirectional)
            if cell.startswith("rnn"):
                self.rnn: nn.RNNBase = nn.RNN(features, units, nonlinearity=cell[4:], **kwargs)
            else:
                self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(features, units, **kwargs)
            self.cell, self.units, self.num_layers = cell, units, num_layers
            self.directions = 2 if bidirectional else 1
            self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
            self.return_sequences, self.merge_mode = return_sequences, merge_mode

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.training and (self.dropout > 0 or self.recurrent_dropout > 0):
                seq, last = self.forward_loop(x, self.sample_masks(x))
            else:
                seq, h = self.rnn(x)
                h = h[0] if self.cell == "lstm" else h
                last = torch.cat(list(h[-self.directions:]), dim=-1)
            return self._merge(seq if self.return_sequences else last)

        def _merge(self, y: torch.Tensor) -> torch.Tensor:
            if self.directions == 1 or self.merge_mode == "concat":
                return y
            fwd, bwd = y[..., :self.units], y[..., self.units:]
            if self.merge_mode == "sum":
                return fwd + bwd
            if self.merge_mode == "mul":
                return fwd * bwd
            return (fwd + bwd) * 0.5

        def sample_masks(self, x: torch.Tensor) -> dict[tuple[int, int], tuple[Any, Any]]:
            """Inverted-dropout masks per (layer, direction): (input (N, F), recurrent (N, H));
            drawn once per batch of sequences, None where the rate is 0."""

            def mask(size: int, rate: float) -> torch.Tensor | None:
                if rate == 0:
                    return None
                keep = torch.full((x.shape[0], size), 1.0 - rate, dtype=x.dtype, device=x.device)
                return torch.bernoulli(keep) / (1.0 - rate)

            masks = {}
            for layer in range(self.num_layers):
                fan_in = x.shape[-1] if layer == 0 else self.directions * self.units
                for d in range(self.directions):
                    masks[(layer, d)] = (mask(fan_in, self.dropout),
                                         mask(self.units, self.recurrent_dropout))
            return masks

        def forward_loop(self, x: torch.Tensor, masks: dict[tuple[int, int], tuple[Any, Any]]
                         | None = None) -> tuple[torch.Tensor, torch.Tensor]:
            """The recurrence step by step over the fused op's weights.

            Returns the last layer's outputs (N, T, D*H) and its final states (N, D*H), the
            backward direction's final state being the one at t = 0, as torch and Keras give.
            """
            inp, finals = x, []
            for layer in range(self.num_layers):
                outs, finals = [], []
                for d in range(self.directions):
                    in_mask, rec_mask = (masks or {}).get((layer, d), (None, None))
                    seq = inp.flip(1) if d else inp
                    if in_mask is not None:
                        seq = seq * in_mask[:, None, :]
                    out, h = self._direction(seq, f"_l{layer}" + ("_reverse" if d else ""),
                                             rec_mask)
                    outs.append(out.flip(1) if d else out)
                    finals.append(h)
                inp = torch.cat(outs, dim=-1)
            return inp, torch.cat(finals, dim=-1)

        def _direction(self, seq: torch.Tensor, suffix: str,
                       rec_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
            rnn = self.rnn
            w_hh = getattr(rnn, "weight_hh" + suffix)
            b_ih = getattr(rnn, "bias_ih" + suffix) if rnn.bias else None
            b_hh = getattr(rnn, "bias_hh" + suffix) if rnn.bias else None
            xs = F.linear(seq, getattr(rnn, "weight_ih" + suffix), b_ih)
            h = seq.new_zeros(seq.shape[0], self.units)
            c = torch.zeros_like(h)
            steps = []
            for t in range(seq.shape[1]):
                gh = F.linear(h if rec_mask is None else h * rec_mask, w_hh, b_hh)
                h, c = self._cell(xs[:, t], gh, h, c)
                steps.append(h)
            return torch.stack(steps, dim=1), h

        def _cell(self, gx: torch.Tensor, gh: torch.Tensor, h: torch.Tensor,
                  c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """One step of the cell from the input and recurrent gate products: (h, c)."""
            if self.cell == "lstm":
                i, f, g, o = (gx + gh).chunk(4, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                return torch.sigmoid(o) * torch.tanh(c), c
            if self.cell == "gru":
                xr, xz, xn = gx.chunk(3, dim=-1)
                hr, hz, hn = gh.chunk(3, dim=-1)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                return (1 - z) * torch.tanh(xn + r * hn) + z * h, c
            return (torch.tanh(gx + gh) if self.cell == "rnn_tanh" else torch.relu(gx + gh)), c

        # -- the stateful protocol (specc.forms): one time step with the state carried --------

        def state_shapes(self) -> dict[str, tuple[int, ...]]:
            """Per-sample state: ``h`` (and ``c`` for an LSTM), (units,) or (layers, units)."""
            shape = (self.units,) if self.num_layers == 1 else (self.num_layers, self.units)
            return {"h": shape, "c": shape} if self.cell == "lstm" else {"h": shape}

        def initial_state(self, batch: int) -> dict[str, torch.Tensor]:
            w = self.rnn.weight_hh_l0
            return {k: w.new_zeros((batch, *s)) for k, s in self.state_shapes().items()}

        def step(self, x: torch.Tensor, state: dict[str, torch.Tensor]
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            """One time step: x (N, features) -> the last layer's output (N, units)."""
            self._one_direction()
            rnn = self.rnn
            # eager: torch's fused cell (one op, ~4x faster a step); traced: the equations
            fused = not (torch.jit.is_tracing() or torch.compiler.is_compiling())
            if fused and self.num_layers == 1:
                # one layer: torch's cell on the state as it is, without the per-layer views
                # and lists below (a generated character is mostly such bookkeeping around one
                # small product); its weights are (w_ih, w_hh[, b_ih, b_hh])
                if self.cell == "lstm":
                    h, c = torch.lstm_cell(x, (state["h"], state["c"]), *rnn._flat_weights)
                    return h, {"h": h, "c": c}
                h = getattr(torch, f"{self.cell}_cell")(x, state["h"], *rnn._flat_weights)
                return h, {"h": h}
            hs, cs = self._layers(state["h"]), self._layers(state.get("c", state["h"]))
            inp, new_h, new_c = x, [], []
            per_layer = 4 if rnn.bias else 2
            for layer in range(self.num_layers):
                # torch's own list (w_ih, w_hh[, b_ih, b_hh]) per layer: no attribute look-ups
                w_ih, w_hh, b_ih, b_hh = (*rnn._flat_weights[layer * per_layer:
                                                             (layer + 1) * per_layer],
                                          None, None)[:4]
                if fused and self.cell == "lstm":
                    inp, c = torch.lstm_cell(inp, (hs[layer], cs[layer]), w_ih, w_hh, b_ih, b_hh)
                elif fused:
                    cell = getattr(torch, f"{self.cell}_cell")
                    inp, c = cell(inp, hs[layer], w_ih, w_hh, b_ih, b_hh), cs[layer]
                else:
                    gx, gh = F.linear(inp, w_ih, b_ih), F.linear(hs[layer], w_hh, b_hh)
                    inp, c = self._cell(gx, gh, hs[layer], cs[layer])
                new_h.append(inp)
                new_c.append(c)
            out = {"h": self._stack(new_h)}
            if self.cell == "lstm":
                out["c"] = self._stack(new_c)
            return inp, out

        def run(self, x: torch.Tensor, state: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            """The fused op over a whole sequence x (N, T, features) from ``state``: the
            outputs of every step (N, T, units) and the final state."""
            self._one_direction()
            h0 = self._layers(state["h"]).contiguous()
            if self.cell == "lstm":
                seq, (h, c) = self.rnn(x, (h0, self._layers(state["c"]).contiguous()))
                return seq, {"h": self._stack(list(h)), "c": self._stack(list(c))}
            seq, h = self.rnn(x, h0)
            return seq, {"h": self._stack(list(h))}

        def _layers(self, s: torch.Tensor) -> torch.Tensor:
            """A state (N, units) or (N, layers, units) as (layers, N, units) (torch's
            layout; indexing gives one (N, units) tensor per layer)."""
            return s[None] if self.num_layers == 1 else s.transpose(0, 1)

        def _stack(self, per_layer: list[torch.Tensor]) -> torch.Tensor:
            return per_layer[0] if self.num_layers == 1 else torch.stack(per_layer, dim=1)

        def _one_direction(self) -> None:
            if self.directions != 1:
                raise SpecError("a bidirectional layer reads the sequence backwards too, so "
                                "it cannot run one time step at a time",
                                hint="the step form needs unidirectional recurrent layers")

    return Recurrent


@abstract
class _Recurrent(LayerKind):
    category = "recurrent"
    feature_axis = -1
    stateful = True  # the module has state_shapes/initial_state/step (specc.forms)
    Params: ClassVar[type[RecurrentParams]]

    @classmethod
    def infer(cls, p: Any, inputs: list[TensorType]) -> TensorType:
        check_sequence(inputs[0])
        return recurrent_type(inputs[0], p, p.units)

    @classmethod
    def count_params(cls, p: Any, inputs: list[TensorType]) -> tuple[int, int]:
        return (recurrent_count(cell_of(cls.name, p), p, inputs[0].shape[-1] or 0, 1), 0)

    @classmethod
    def build(cls, p: Any, inputs: list[TensorType]) -> Any:
        return build_recurrent(cell_of(cls.name, p), p, check_sequence(inputs[0]))


_COMMON_ARGS = """units: hidden size. return_sequences: output every step (default: the last).
        dropout / recurrent_dropout: input / recurrent dropout in [0, 1), one mask per sequence.
        num_layers: stacked layers (default 1). use_bias: learn biases.
        kernel_initializer (glorot_uniform), recurrent_initializer (orthogonal; 'identity'
        gives an IRNN), bias_initializer (zeros)."""

_SHAPES = """Input shape: ``(batch, time, features)`` float; time may be dynamic.
    Output shape: ``(batch, units)``, or ``(batch, time, units)`` with return_sequences."""


class SimpleRNN(_Recurrent):
    __doc__ = f"""Fully connected recurrent layer: ``h_t = activation(W x_t + U h_(t-1) + b)``.

    Args:
        {_COMMON_ARGS}
        activation: the cell nonlinearity, tanh (default) or relu.

    {_SHAPES}
    Parameters: torch's count (two bias vectors): units * (features + units + 2) for one layer.

    Example:
        ``- simple_rnn: {{units: 32, activation: relu, recurrent_initializer: identity}}``
    """

    name = "simple_rnn"
    aliases = ("SimpleRNN",)
    Params = SimpleRNNParams
    fuses_activation = False
    examples = (
        Example("simple_rnn: {units: 5}", ((7, 3),), (5,)),
        Example("simple_rnn: {units: 4, activation: relu, return_sequences: true}",
                ((None, 3),), (None, 4)),
    )


class LSTM(_Recurrent):
    __doc__ = f"""Long short-term memory layer (gates i, f, g, o; torch/Keras equations).

    Args:
        {_COMMON_ARGS}
        unit_forget_bias: start the forget-gate bias at 1 (Keras default true).

    {_SHAPES}
    Parameters: torch's count (two bias vectors): 4 * units * (features + units + 2) for one
    layer.

    Example:
        ``- lstm: {{units: 64, return_sequences: true, dropout: 0.2, recurrent_dropout: 0.2}}``
    """

    name = "lstm"
    aliases = ("LSTM",)
    Params = LSTMParams
    examples = (
        Example("lstm: {units: 6}", ((5, 3),), (6,)),
        Example("lstm: {units: 4, return_sequences: true, num_layers: 2}", ((None, 3),),
                (None, 4)),
    )


class GRU(_Recurrent):
    __doc__ = f"""Gated recurrent unit (torch's equations = Keras ``reset_after=True``).

    Args:
        {_COMMON_ARGS}

    {_SHAPES}
    Parameters: torch's count (two bias vectors): 3 * units * (features + units + 2) for one
    layer.

    Example:
        ``- gru: {{units: 64, dropout: 0.1, recurrent_dropout: 0.5}}``
    """

    name = "gru"
    aliases = ("GRU",)
    Params = GRUParams
    examples = (
        Example("gru: {units: 6}", ((5, 3),), (6,)),
        Example("gru: {units: 4, return_sequences: true}", ((8, 2),), (8, 4)),
    )
