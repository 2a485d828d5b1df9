"""``ntm``: a neural Turing machine (Graves et al. 2014) with one read and one write head.

An LSTM controller reads the step's input and the previous read vector; each head emits a key
``k``, a key strength ``beta`` (softplus), an interpolation gate ``g`` (sigmoid), a shift
distribution ``s`` over ``-R..R`` (softmax) and a sharpening ``gamma = 1 + softplus`` (>= 1);
the write head also an erase vector ``e`` (sigmoid, so in [0, 1]) and an add vector ``a``.
Addressing: content (cosine similarity with an ``eps`` in the denominator, softmax of
``beta * cos``), interpolation with the previous weighting, circular shift, sharpening. The
head reads first, then the write head erases and adds; the output is a linear map of the
controller's output and the new read vector. The memory starts at a small constant (1e-6)
everywhere, the read vector, weightings and controller state at zero: the numerical guards
public NTMs' issue trackers ask for (no NaN from a zero memory, no negative sharpening, no
erase outside [0, 1], no division by a zero norm; the sharpening divides by the largest
weight first, so a large gamma cannot underflow every weight to 0).

The module is stateful: ``state_shapes``/``initial_state``/``step`` give one time step with
every state tensor in and out (the ``step`` inference form), and the full forward is that step
looped over time, so the two agree by construction.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field, model_validator

from ..types import TensorType
from .base import Example, LayerKind, Params
from .recurrent import check_sequence

EPS = 1e-8  # cosine-similarity and sharpening denominators
MEMORY_INIT = 1e-6
MAX_MEMORY = 2**22  # memory values per sample (16 MiB of float32 each)


class NTMParams(Params):
    units: int = Field(gt=0, description="Output features per step.")
    controller: int = Field(100, gt=0, description="LSTM controller size.")
    memory_rows: int = Field(128, gt=0, description="Memory locations N.")
    memory_cols: int = Field(20, gt=0, description="Values per memory location M.")
    shift_range: int = Field(1, ge=0, description="Circular shifts -R..R a head can make.")

    @model_validator(mode="after")
    def _bounded(self) -> NTMParams:
        if self.memory_rows * self.memory_cols > MAX_MEMORY:
            raise ValueError(f"memory_rows x memory_cols must be at most {MAX_MEMORY:,} values "
                             f"per sample (received {self.memory_rows} x {self.memory_cols})")
        if self.shift_range > self.memory_rows:
            raise ValueError(f"shift_range {self.shift_range} shifts past the memory's "
                             f"{self.memory_rows} rows (shift_range <= memory_rows)")
        return self


def head_sizes(p: NTMParams) -> tuple[int, int]:
    """Controller-output features of the read head and of the write head (the two addressing
    blocks, read's then write's, come first; the write head's erase and add vectors last)."""
    address = p.memory_cols + 3 + 2 * p.shift_range + 1  # k, beta, g, s, gamma
    return address, address + 2 * p.memory_cols  # the write head adds e and a


def ntm_count(p: NTMParams, features: int) -> int:
    """Trainable parameters: controller LSTM cell, both heads, output layer."""
    h, m = p.controller, p.memory_cols
    read, write = head_sizes(p)
    lstm = 4 * h * (features + m + h + 2)
    return lstm + (h + 1) * (read + write) + (h + m + 1) * p.units


@cache
def _ntm_module() -> type:
    import torch
    from torch import nn
    from torch.nn import functional as F

    def address(params: torch.Tensor, memory: torch.Tensor, norms: torch.Tensor,
                prev: torch.Tensor, shift_range: int) -> torch.Tensor:
        """The heads' weightings (B, heads, N) from their parameters (B, heads, M + S + 4),
        the memory (B, N, M) and its row norms (B, N)."""
        m = memory.shape[-1]
        s_n = 2 * shift_range + 1
        key = params[..., :m]
        beta = F.softplus(params[..., m:m + 1])
        g = torch.sigmoid(params[..., m + 1:m + 2])
        shift = torch.softmax(params[..., m + 2:m + 2 + s_n], dim=-1)
        gamma = 1 + F.softplus(params[..., m + 2 + s_n:])
        dot = torch.bmm(key, memory.transpose(1, 2))
        cos = dot / (norms.unsqueeze(1) * key.norm(dim=-1, keepdim=True) + EPS)
        w = g * torch.softmax(beta * cos, dim=-1) + (1 - g) * prev
        n = w.shape[-1]
        # w_shifted[i] = sum_j s[j] w[i - (j - R)]: rolls by j - R written as slices (they
        # export to ONNX as Slice + Concat at any fixed N)
        rolled = [w if k % n == 0 else torch.cat([w[..., -(k % n):], w[..., :-(k % n)]], dim=-1)
                  for k in range(-shift_range, shift_range + 1)]
        w = (torch.stack(rolled, dim=-1) * shift.unsqueeze(-2)).sum(dim=-1)
        w = w + EPS
        w = (w / w.amax(dim=-1, keepdim=True)) ** gamma  # largest 1: no underflow to 0 / 0
        return w / w.sum(dim=-1, keepdim=True)

    class NTM(nn.Module):
        """The NTM cell looped over time (see the module docstring)."""

        stateful = True

        def __init__(self, p: NTMParams, features: int) -> None:
            super().__init__()
            self.rows, self.cols, self.size = p.memory_rows, p.memory_cols, p.controller
            self.shift_range = p.shift_range
            self.controller = nn.LSTMCell(features + p.memory_cols, p.controller)
            read, write = head_sizes(p)
            self.heads = nn.Linear(p.controller, read + write)  # read head, then write head
            self.output = nn.Linear(p.controller + p.memory_cols, p.units)
            with torch.no_grad():  # forget-gate bias 1, as the lstm kind
                self.controller.bias_ih[p.controller:2 * p.controller] = 1.0

        def state_shapes(self) -> dict[str, tuple[int, ...]]:
            n, m, h = self.rows, self.cols, self.size
            return {"memory": (n, m), "read": (m,), "h": (h,), "c": (h,), "w_read": (n,),
                    "w_write": (n,)}

        def initial_state(self, batch: int) -> dict[str, torch.Tensor]:
            ref = self.output.weight
            state = {k: torch.full((batch, *shape), MEMORY_INIT if k == "memory" else 0.0,
                                   dtype=ref.dtype, device=ref.device)
                     for k, shape in self.state_shapes().items()}
            # Both heads start on row 0. The constant memory makes every row look the same to
            # content addressing, so from zero (or uniform) weightings the heads could never
            # single out a row: every write would go to all rows alike and the memory would
            # act as one register (the copy task then learns slowly and fails beyond its
            # lengths). A head starting on one row can move along by shifting.
            state["w_read"][:, 0] = 1.0
            state["w_write"][:, 0] = 1.0
            return state

        def step(self, x_t: torch.Tensor, state: dict[str, torch.Tensor]
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            h, c = self.controller(torch.cat([x_t, state["read"]], dim=-1),
                                   (state["h"], state["c"]))
            memory, m = state["memory"], self.cols
            params = self.heads(h)
            erase, add = torch.sigmoid(params[:, -2 * m:-m]), params[:, -m:]
            heads = params[:, :-2 * m].reshape(h.shape[0], 2, -1)
            prev = torch.stack([state["w_read"], state["w_write"]], dim=1)
            w = address(heads, memory, memory.norm(dim=-1), prev, self.shift_range)
            read = torch.bmm(w[:, :1], memory).squeeze(1)  # read, then write
            ww = w[:, 1].unsqueeze(-1)
            memory = memory * (1 - ww * erase.unsqueeze(1)) + ww * add.unsqueeze(1)
            y = self.output(torch.cat([h, read], dim=-1))
            return y, {"memory": memory, "read": read, "h": h, "c": c, "w_read": w[:, 0],
                       "w_write": w[:, 1]}

        def run(self, x: torch.Tensor, state: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            """``step`` over the time axis of ``x`` (N, T, features) from ``state``."""
            ys = []
            for t in range(x.shape[1]):
                y, state = self.step(x[:, t], state)
                ys.append(y)
            return torch.stack(ys, dim=1), state

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.run(x, self.initial_state(x.shape[0]))[0]

    return NTM


class NTM(LayerKind):
    """Neural Turing machine: an LSTM controller with an N x M memory and two heads.

    One read and one write head, each with content and location addressing.

    Args:
        units: output features per step.
        controller: LSTM controller size (default 100).
        memory_rows / memory_cols: the memory's N locations of M values (default 128 x 20).
        shift_range: circular shifts -R..R of the location addressing (default 1).

    Heads: cosine content addressing (with eps), interpolation gate, circular shift,
    sharpening gamma >= 1 (1 + softplus); erase in [0, 1] (sigmoid); memory initialised to the
    constant 1e-6 and both heads' weightings to row 0 (the rows are alike to content addressing
    until written, so the heads start on one row and move by shifting). The read vector is fed
    back to the controller with the next input.

    Input shape: ``(batch, time, features)`` float; time may be dynamic.
    Output shape: ``(batch, time, units)`` (logits: put a sigmoid after it for bits).
    Parameters: 4H(F + M + H + 2) (controller) + (H + 1)(read + write head sizes) + (H + M + 1)
    units, with read head M + 2R + 4 and write head 3M + 2R + 4 outputs.
    Inference forms: ``step`` (state: memory, read, h, c, w_read, w_write) exports to ONNX
    for sequences of any length; the whole forward exports unrolled, for an input whose time
    axis has a fixed length.

    Example:
        ``- ntm: {units: 8, controller: 100, memory_rows: 128, memory_cols: 20}``
    """

    name = "ntm"
    aliases = ("NTM", "neural_turing_machine")
    Params = NTMParams
    category = "recurrent"
    feature_axis = -1
    stateful = True
    examples = (
        Example("ntm: {units: 3, controller: 6, memory_rows: 5, memory_cols: 4}", ((7, 2),),
                (7, 3)),
        Example("ntm: {units: 2, controller: 4, memory_rows: 8, memory_cols: 3, shift_range: 2}",
                ((6, 5),), (6, 2)),
    )

    @classmethod
    def export_refusal(cls, p: Any, inputs: list[TensorType]) -> str | None:
        """The whole-sequence forward exports unrolled, so only at a fixed length."""
        if inputs[0].shape[0] is None:
            return ("its time axis has no fixed length, and its whole-sequence forward exports "
                    "unrolled: give the input a length (e.g. [22, 10]) or export the step form "
                    "(forms: {step: {step: {}}}; specc export RUN --form step)")
        return None

    @classmethod
    def infer(cls, p: Any, inputs: list[TensorType]) -> TensorType:
        check_sequence(inputs[0])
        return TensorType((inputs[0].shape[0], p.units), inputs[0].dtype, feature_axis=-1)

    @classmethod
    def count_params(cls, p: Any, inputs: list[TensorType]) -> tuple[int, int]:
        return (ntm_count(p, inputs[0].shape[-1] or 0), 0)

    @classmethod
    def build(cls, p: Any, inputs: list[TensorType]) -> Any:
        return _ntm_module()(p, check_sequence(inputs[0]))
