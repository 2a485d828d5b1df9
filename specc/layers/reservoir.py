"""``reservoir``: the fixed random recurrent layer of an echo state network.

The weights are drawn once from the kind's own ``seed`` (NumPy's PCG64, so the same spec gives
the same reservoir on every machine) and kept as buffers: nothing in a reservoir is trained;
a readout after it is (``least_squares``, or any regime). The recurrent matrix is sparse with
the given ``density`` and rescaled so its spectral radius (largest eigenvalue modulus,
computed at build time) equals ``spectral_radius``.

With ``leak`` 1 the update is torch's fused tanh RNN (the recurrent export path: ONNX ``RNN``);
with ``leak`` < 1 it is a loop in eager mode and ``torch._higher_order_ops.scan`` when exported
(ONNX ``Scan``, through the dynamo exporter). A sparse reservoir (density <= 0.2) on the CPU
without gradients steps through SciPy's CSR product instead: a dense step costs units^2
multiply-adds, a sparse one density * units^2 (measured on 8000 steps of 500 units at density
0.01, one thread: 0.4 s against 1.5-2.4 s for the fused dense op). A module can carry its final state into the next
call (:func:`carried_state`), which is how a network runs free on its own predictions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cache
from typing import Any, Literal

from pydantic import Field

from ..errors import SpecError
from ..types import TensorType
from .base import Example, LayerKind, Params
from .recurrent import check_sequence


class ReservoirParams(Params):
    units: int = Field(gt=0, description="Reservoir size (output features).")
    spectral_radius: float = Field(
        0.9, gt=0, allow_inf_nan=False,
        description="Largest eigenvalue modulus of the recurrent matrix (> 0).")
    density: float = Field(0.1, gt=0, le=1, description="Fraction of non-zero recurrent weights.")
    input_scaling: float = Field(1.0, ge=0, allow_inf_nan=False,
                                 description="Input weights uniform in +-this.")
    bias_scaling: float = Field(0.0, ge=0, allow_inf_nan=False,
                                description="Biases uniform in +-this.")
    leak: float = Field(1.0, gt=0, le=1, description="Leak rate a: h = (1-a) h + a tanh(...).")
    input_shift: float = Field(0.0, allow_inf_nan=False,
                               description="Added to the input before input_activation.")
    input_activation: Literal["linear", "tanh"] = Field(
        "linear", description="Input transform u = input_activation(x + input_shift).")
    seed: int = Field(0, ge=0, description="Seed the weights are drawn from.")


SPARSE = 0.2  # densities up to this step through a sparse product on the CPU


def draw_weights(p: ReservoirParams, features: int) -> dict[str, Any]:
    """The reservoir's weights as float64 NumPy arrays: ``w_in`` (units, features), ``w``
    (units, units) scaled to the spectral radius, ``bias`` (units,)."""
    import numpy as np

    rng = np.random.default_rng(p.seed)
    u = p.units
    mask = rng.random((u, u)) < p.density
    w = np.where(mask, rng.uniform(-1.0, 1.0, (u, u)), 0.0)
    radius = float(np.max(np.abs(np.linalg.eigvals(w)))) if u else 0.0
    if radius < 1e-12:
        raise SpecError(f"the recurrent matrix drawn with density {p.density} and seed {p.seed} "
                        "has no non-zero eigenvalue, so it cannot be scaled to a spectral "
                        "radius", received=p.density,
                        hint="raise density (or units), or try another seed")
    w_in = rng.uniform(-1.0, 1.0, (u, features)) * p.input_scaling
    bias = rng.uniform(-1.0, 1.0, u) * p.bias_scaling
    return {"w_in": w_in, "w": w * (p.spectral_radius / radius), "bias": bias}


@contextlib.contextmanager
def carried_state(model: Any) -> Iterator[list[Any]]:
    """Within the block, every reservoir in ``model`` starts each call from the state the
    previous call ended in (zeros at first); yields those reservoir modules."""
    found = [m for m in model.modules() if isinstance(m, _module())]
    for m in found:
        m.carry, m.state = True, None
    try:
        yield found
    finally:
        for m in found:
            m.carry, m.state = False, None


@cache
def _module() -> type:
    import torch
    from torch import nn

    class ReservoirModule(nn.Module):
        """Frozen ESN reservoir: ``h_t = (1-a) h_(t-1) + a tanh(W_in u_t + W h_(t-1) + b)``."""

        def __init__(self, p: ReservoirParams, features: int) -> None:
            super().__init__()
            drawn = draw_weights(p, features)
            for name, value in drawn.items():
                self.register_buffer(name, torch.as_tensor(value, dtype=torch.float32))
            self.leak, self.shift, self.units = p.leak, p.input_shift, p.units
            self.squash = p.input_activation == "tanh"
            self.sparse = p.density <= SPARSE
            self._csr: tuple[Any, Any] | None = None  # (version of w, its SciPy CSR copy)
            self.carry = False
            self.state: torch.Tensor | None = None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h0 = self.state if self.carry and self.state is not None else \
                x.new_zeros(x.shape[0], self.units)
            seq = self._sequence(self._transform(x), h0)
            if self.carry:
                self.state = seq[:, -1].detach()
            return seq

        def _transform(self, x: torch.Tensor) -> torch.Tensor:
            u = x + self.shift if self.shift else x
            return torch.tanh(u) if self.squash else u

        # -- the stateful protocol (specc.forms) ---------------------------------------------

        def state_shapes(self) -> dict[str, tuple[int, ...]]:
            return {"h": (self.units,)}

        def initial_state(self, batch: int) -> dict[str, torch.Tensor]:
            return {"h": self.w.new_zeros(batch, self.units)}

        def step(self, x: torch.Tensor, state: dict[str, torch.Tensor]
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            """One time step: x (N, features) -> the new state (N, units), also the output."""
            drive = nn.functional.linear(self._transform(x), self.w_in, self.bias)
            h, a = state["h"], self.leak
            nxt = torch.tanh(drive + h @ self.w.T)
            h = nxt if a == 1.0 else (1 - a) * h + a * nxt
            return h, {"h": h}

        def run(self, x: torch.Tensor, state: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            """A whole sequence x (N, T, features) from ``state``: (N, T, units), final."""
            seq = self._sequence(self._transform(x), state["h"])
            return seq, {"h": seq[:, -1]}

        def _sequence(self, u: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
            """The states after every step of u (N, T, features) from h0 (N, units)."""
            exporting = torch.compiler.is_compiling() or torch.jit.is_tracing()
            if self.sparse and not exporting and u.device.type == "cpu" and not (
                    torch.is_grad_enabled() and u.requires_grad):
                return self._sparse_loop(u, h0)
            if self.leak == 1.0:
                zero = torch.zeros_like(self.bias)
                seq, _ = torch.rnn_tanh(u, h0[None], [self.w_in, self.w, self.bias, zero], True,
                                        1, 0.0, False, False, True)
                return seq
            return self._scan(u, h0) if exporting else self._loop(u, h0)

        def _loop(self, u: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
            drive = nn.functional.linear(u, self.w_in, self.bias)
            a, w_t, steps = self.leak, self.w.T, []
            for t in range(drive.shape[1]):
                h = (1 - a) * h + a * torch.tanh(drive[:, t] + h @ w_t)
                steps.append(h)
            return torch.stack(steps, dim=1)

        def _sparse_loop(self, u: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
            import numpy as np

            key = (self.w._version, self.w.data_ptr(), self.w.dtype)
            if self._csr is None or self._csr[0] != key:
                from scipy.sparse import csr_matrix

                self._csr = (key, csr_matrix(self.w.numpy()))
            w, a = self._csr[1], self.leak
            drive = nn.functional.linear(u, self.w_in, self.bias).permute(1, 2, 0).numpy()
            h = np.ascontiguousarray(h0.numpy().T)  # (units, batch)
            out = np.empty_like(drive)  # (time, units, batch)
            for t in range(drive.shape[0]):
                if a == 1.0:  # in place: this loop is most of an ESN's fit time
                    h = np.tanh(np.add(drive[t], w @ h, out=drive[t]), out=out[t])
                else:
                    out[t] = h = (1 - a) * h + a * np.tanh(drive[t] + w @ h)
            return torch.from_numpy(out).permute(2, 0, 1)

        def _scan(self, u: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
            from torch._higher_order_ops.scan import scan

            drive = nn.functional.linear(u, self.w_in, self.bias).transpose(0, 1)
            a, w_t = self.leak, self.w.T

            def step(h: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                nxt = (1 - a) * h + a * torch.tanh(d + h @ w_t)
                return nxt, nxt.clone()

            _, seq = scan(step, h0, drive)
            return seq.transpose(0, 1)

    return ReservoirModule


class Reservoir(LayerKind):
    """Echo state network reservoir: fixed random sparse recurrent tanh units (nothing trained).

    Args:
        units: reservoir size. spectral_radius: largest eigenvalue modulus of the recurrent
        matrix, > 0 (default 0.9). density: fraction of non-zero recurrent weights (0.1).
        input_scaling: input weights uniform in +-this (1.0). bias_scaling: biases uniform in
        +-this (0). leak: leak rate in (0, 1] (1: no leak). input_shift / input_activation:
        the input transform u = input_activation(x + input_shift) (none by default). seed:
        the weights' seed (0).

    Input shape: ``(batch, time, features)`` float; time may be dynamic.
    Output shape: ``(batch, time, units)``: the state after every step, from a zero state.
    Parameters: none trainable; units * (features + units + 1) frozen weights (buffers).

    Example:
        ``- reservoir: {units: 500, spectral_radius: 1.0, density: 0.01, bias_scaling: 0.2}``
    """

    name = "reservoir"
    aliases = ("echo_state", "esn_reservoir")
    Params = ReservoirParams
    category = "recurrent"
    feature_axis = -1
    stateful = True  # the module has state_shapes/initial_state/step (specc.forms)
    examples = (
        Example("reservoir: {units: 6, density: 0.5}", ((7, 3),), (7, 6)),
        Example("reservoir: {units: 8, density: 0.5, leak: 0.3, bias_scaling: 0.5}", ((None, 2),), (None, 8)),
        Example("reservoir: {units: 5, density: 1, input_shift: -1, input_activation: tanh}",
                ((None, 1),), (None, 5)),
    )

    @classmethod
    def infer(cls, p: ReservoirParams, inputs: list[TensorType]) -> TensorType:
        check_sequence(inputs[0])
        return TensorType((inputs[0].shape[0], p.units), inputs[0].dtype, feature_axis=-1)

    @classmethod
    def count_params(cls, p: ReservoirParams, inputs: list[TensorType]) -> tuple[int, int]:
        features = inputs[0].shape[-1] or 0
        return (0, p.units * (features + p.units + 1))

    @classmethod
    def build(cls, p: ReservoirParams, inputs: list[TensorType]) -> Any:
        return _module()(p, check_sequence(inputs[0]))
