"""Spiking kinds for a liquid state machine: ``rate_encode`` and ``lif``.

``rate_encode`` turns intensities into spike trains: a deterministic phase accumulator at
inference (and in the ONNX export), optionally a random (Bernoulli per step) code in training.
``lif`` is a recurrent population of leaky integrate-and-fire neurons with fixed random
weights drawn from the kind's own ``seed`` (NumPy's PCG64, as ``reservoir`` does).

Spikes are thresholds, so a rounding difference flips them: the weights are rounded to
multiples of ``2**-WEIGHT_BITS`` (dyadic), which makes every weighted sum of 0/1 spikes exact
in float32 whatever the summation order, and the rest of a step is one IEEE operation per
element; the spike counts of the ONNX export then equal PyTorch's exactly.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params, expect_float
from .recurrent import check_sequence

if TYPE_CHECKING:
    import torch

#: Weights are multiples of 2**-WEIGHT_BITS, so sums of spikes times weights are exact.
WEIGHT_BITS = 8


# -- rate_encode --------------------------------------------------------------------------------


class RateEncodeParams(Params):
    steps: int = Field(gt=0, description="Time steps T of the spike train.")
    max_rate: float = Field(0.5, gt=0, le=1, description="Spikes per step of an input of 1 "
                            "(inputs are clipped to [0, 1]).")
    code: Literal["phase", "poisson"] = Field(
        "phase", description="The code in training: 'phase' (deterministic) or 'poisson' "
        "(a spike with probability rate at each step). Inference always uses 'phase'.")


@cache
def _encoder() -> type:
    import torch
    from torch import nn

    class RateEncoder(nn.Module):
        """Intensity x in [0, 1] -> spikes at rate ``max_rate * x`` over ``steps`` steps."""

        def __init__(self, p: RateEncodeParams) -> None:
            super().__init__()
            self.steps, self.max_rate = p.steps, p.max_rate
            self.poisson = p.code == "poisson"

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            rate = torch.clamp(x, 0.0, 1.0).unsqueeze(1) * self.max_rate  # (batch, 1, ...)
            if self.training and self.poisson:
                draw = torch.rand((x.shape[0], self.steps, *x.shape[1:]), device=x.device)
                return (draw < rate).to(x.dtype)
            # the accumulator's integer part floor(r k) at k = 0..T, broadcast over x
            ticks = torch.arange(self.steps + 1, dtype=x.dtype, device=x.device)
            level = torch.floor(rate * ticks.reshape(-1, *([1] * (x.dim() - 1))))
            return (level[:, 1:] > level[:, :-1]).to(x.dtype)

    return RateEncoder


class RateEncode(LayerKind):
    """Rate code: each input in [0, 1] becomes a spike train of ``steps`` steps at its rate.

    The rate is ``max_rate * clip(x, 0, 1)`` spikes per step. The inference code is a phase
    accumulator (deterministic, exported): an accumulator adds the rate each step and spikes
    when it passes an integer, so step t (1-based) spikes when ``floor(r t) > floor(r (t-1))``.
    With ``code: poisson`` the training form spikes with probability ``r`` at each step
    instead (like dropout, a training-only noise; inference keeps the phase code).

    Args:
        steps: time steps T (> 0). max_rate: rate of an input of 1, in (0, 1] (0.5).
        code: the training code, ``phase`` (default) or ``poisson``.

    Input shape: ``(batch, ...)`` float (intensities, clipped to [0, 1]).
    Output shape: ``(batch, steps, ...)``: 0/1 spikes.

    Example:
        ``- rate_encode: {steps: 100, max_rate: 0.5}``
    """

    name = "rate_encode"
    aliases = ("rate_code", "spike_encode")
    Params = RateEncodeParams
    category = "spiking"
    examples = (
        Example("rate_encode: {steps: 10}", ((8,),), (10, 8)),
        Example("rate_encode: {steps: 4, max_rate: 1, code: poisson}", ((2, 3),), (4, 2, 3)),
    )

    @classmethod
    def infer(cls, p: RateEncodeParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        expect_float(x)
        return TensorType((p.steps, *x.shape), x.dtype, feature_axis=-1)

    @classmethod
    def build(cls, p: RateEncodeParams, inputs: list[TensorType]) -> Any:
        return _encoder()(p)


# -- lif ----------------------------------------------------------------------------------------


class LIFParams(Params):
    units: int = Field(gt=0, description="Neurons in the population (output features).")
    tau: float = Field(20.0, ge=1, allow_inf_nan=False, description="Membrane time constant in "
                       "steps: the potential decays by 1 - 1/tau each step.")
    threshold: float = Field(1.0, gt=0, allow_inf_nan=False,
                             description="A neuron spikes when its potential reaches this.")
    reset: Literal["zero", "subtract"] = Field(
        "zero", description="After a spike: potential set to 0, or the threshold subtracted.")
    refractory: int = Field(0, ge=0, description="Steps a neuron ignores its input after a "
                            "spike (its potential held at the reset value).")
    excitatory: float = Field(0.8, ge=0, le=1, description="Fraction of excitatory neurons "
                              "(positive outgoing weights); the rest are inhibitory.")
    input_density: float = Field(0.2, gt=0, le=1, description="Fraction of non-zero input "
                                 "weights, in (0, 1].")
    recurrent_density: float = Field(0.1, gt=0, le=1, description="Fraction of non-zero "
                                     "recurrent weights, in (0, 1].")
    input_scaling: float = Field(0.5, ge=0, allow_inf_nan=False,
                                 description="Input weights uniform in [0, this].")
    recurrent_scaling: float = Field(0.1, ge=0, allow_inf_nan=False, description="Recurrent "
                                     "weight magnitudes uniform in [0, this].")
    inhibition: float = Field(4.0, ge=0, allow_inf_nan=False, description="Inhibitory weights "
                              "are this many times stronger than excitatory ones.")
    recurrent: bool = Field(True, description="false: the same neurons and input weights "
                            "without recurrent connections.")
    output: Literal["counts", "trains"] = Field(
        "counts", description="Spike counts per neuron, or the spike trains.")
    seed: int = Field(0, ge=0, description="Seed the weights are drawn from.")


def draw_lif_weights(p: LIFParams, features: int) -> dict[str, Any]:
    """Dyadic float64 NumPy weights: ``w_in`` (units, features) and, when recurrent, ``w_rec``
    (units, units) whose column j is >= 0 for an excitatory neuron j and <= 0 otherwise (no
    self-connections)."""
    import numpy as np

    rng = np.random.default_rng(p.seed)
    u, grid = p.units, 2.0 ** WEIGHT_BITS
    w_in = np.where(rng.random((u, features)) < p.input_density,
                    rng.uniform(0.0, p.input_scaling, (u, features)), 0.0)
    sign = np.where(np.arange(u) < round(p.excitatory * u), 1.0, -p.inhibition)
    w_rec = np.where(rng.random((u, u)) < p.recurrent_density,
                     rng.uniform(0.0, p.recurrent_scaling, (u, u)), 0.0) * sign
    np.fill_diagonal(w_rec, 0.0)
    drawn = {"w_in": np.round(w_in * grid) / grid}
    if p.recurrent:
        drawn["w_rec"] = np.round(w_rec * grid) / grid
    return drawn


@cache
def _population() -> type:
    import torch
    from torch import nn

    class LIFPopulation(nn.Module):
        """``v = (1 - 1/tau) v + W_in x_t + W_rec s_(t-1)``; spike at ``v >= threshold``."""

        def __init__(self, p: LIFParams, features: int, static_time: bool) -> None:
            super().__init__()
            for name, value in draw_lif_weights(p, features).items():
                self.register_buffer(name, torch.as_tensor(value, dtype=torch.float32))
            self.units, self.decay, self.threshold = p.units, 1.0 - 1.0 / p.tau, p.threshold
            self.subtract, self.refractory = p.reset == "subtract", p.refractory
            self.counts, self.static_time = p.output == "counts", static_time

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            drive = nn.functional.linear(x, self.w_in)  # exact: 0/1 spikes times dyadics
            exporting = torch.compiler.is_compiling() or torch.jit.is_tracing()
            if exporting and not self.static_time:
                spikes = self._scan(drive)
                return spikes.sum(1) if self.counts else spikes
            return self.simulate(drive, trains=not self.counts)[0]

        def initial(self, drive: torch.Tensor) -> tuple[torch.Tensor, ...]:
            shape = (drive.shape[0], self.units)  # potential, last spikes, refractory left
            return tuple(drive.new_zeros(shape) for _ in range(3))

        def step(self, state: tuple[torch.Tensor, ...],
                 d: torch.Tensor) -> tuple[torch.Tensor, ...]:
            """One time step from (potential, spikes, refractory left) and the input drive."""
            v, s, left = state
            current = torch.addmm(d, s, self.w_rec.T) if hasattr(self, "w_rec") else d
            v_new = v * self.decay + current
            if self.refractory:
                free = left <= 0
                v_new = torch.where(free, v_new, v)
                fire = (v_new >= self.threshold) & free
            else:
                fire = v_new >= self.threshold
            spikes = fire.to(d.dtype)
            if self.subtract:  # exact: the threshold times 1, or 0
                v_new = v_new - spikes * self.threshold
            else:
                v_new = v_new.masked_fill(fire, 0.0)
            if self.refractory:
                left = torch.where(fire, torch.full_like(left, self.refractory),
                                   torch.clamp(left - 1, min=0))
            return v_new, spikes, left

        def simulate(self, drive: torch.Tensor, trains: bool = True,
                     membrane: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
            """Spike trains (batch, time, units), or with ``trains`` false the spike counts
            (batch, units); and with ``membrane`` the potentials after any reset (batch, time,
            units)."""
            state, spikes, potentials = self.initial(drive), [], []
            total = drive.new_zeros(drive.shape[0], self.units)
            for t in range(drive.shape[1]):
                state = self.step(state, drive[:, t])
                if trains:
                    spikes.append(state[1])
                else:
                    total = total + state[1]
                if membrane:
                    potentials.append(state[0])

            def stack(steps: list[torch.Tensor]) -> torch.Tensor:
                return torch.stack(steps, 1) if steps else \
                    drive.new_zeros(drive.shape[0], 0, self.units)

            return stack(spikes) if trains else total, stack(potentials) if membrane else None

        def _scan(self, drive: torch.Tensor) -> torch.Tensor:
            from torch._higher_order_ops.scan import scan

            def body(carry: tuple[torch.Tensor, ...],
                     d: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
                nxt = tuple(n.clone() if n is c else n  # scan refuses an aliased carry
                            for n, c in zip(self.step(carry, d), carry, strict=True))
                return nxt, nxt[1].clone()

            _, spikes = scan(body, self.initial(drive), drive.transpose(0, 1))
            return spikes.transpose(0, 1)

    return LIFPopulation


class LIF(LayerKind):
    """Leaky integrate-and-fire population: fixed random recurrent spiking neurons (untrained).

    Each step ``v = (1 - 1/tau) v + W_in x_t + W_rec s_(t-1)``; a neuron whose potential
    reaches ``threshold`` spikes and is reset to 0 (``reset: zero``) or has the threshold
    subtracted (``reset: subtract``), then ignores its input for ``refractory`` steps. Input
    weights are uniform in [0, input_scaling] with density ``input_density``; recurrent
    weights follow Dale's law: the first ``excitatory`` fraction of the neurons excite (weights
    uniform in [0, recurrent_scaling]), the rest inhibit (``inhibition`` times stronger),
    density ``recurrent_density``. All weights are multiples of 2^-8, so spike counts of the
    ONNX export match PyTorch exactly for 0/1 (or dyadic) inputs.

    Args:
        units: neurons. tau: time constant in steps, >= 1 (20). threshold: > 0 (1.0).
        reset: ``zero`` or ``subtract``. refractory: steps (0). excitatory: fraction (0.8).
        input_density / recurrent_density: in (0, 1] (0.2 / 0.1). input_scaling (0.5),
        recurrent_scaling (0.1), inhibition (4.0): weight scales. recurrent: false drops the
        recurrent weights. output: ``counts`` or ``trains``. seed: the weights' seed (0).

    Input shape: ``(batch, time, features)`` float (spikes); time may be dynamic.
    Output shape: ``(batch, units)`` spike counts, or ``(batch, time, units)`` trains.
    Parameters: none trainable; units * features (+ units^2 when recurrent) frozen weights.

    Example:
        ``- lif: {units: 400, tau: 20, threshold: 1.0, reset: zero}``
    """

    name = "lif"
    aliases = ("leaky_integrate_and_fire",)
    Params = LIFParams
    category = "spiking"
    feature_axis = -1
    examples = (
        Example("lif: {units: 6, input_scaling: 1.0, recurrent_density: 0.5}", ((10, 3),), (6,)),
        Example("lif: {units: 5, reset: subtract, refractory: 2, output: trains}",
                ((None, 4),), (None, 5)),
        Example("lif: {units: 4, recurrent: false, tau: 2}", ((None, 2),), (4,)),
    )

    @classmethod
    def infer(cls, p: LIFParams, inputs: list[TensorType]) -> TensorType:
        x = inputs[0]
        check_sequence(x)
        shape = (p.units,) if p.output == "counts" else (x.shape[0], p.units)
        return TensorType(shape, x.dtype, feature_axis=-1)

    @classmethod
    def count_params(cls, p: LIFParams, inputs: list[TensorType]) -> tuple[int, int]:
        features = inputs[0].shape[-1] or 0
        return (0, p.units * (features + (p.units if p.recurrent else 0)))

    @classmethod
    def build(cls, p: LIFParams, inputs: list[TensorType]) -> Any:
        x = inputs[0]
        return _population()(p, check_sequence(x), x.shape[0] is not None)

    @classmethod
    def draw(cls, p: LIFParams, module: torch.nn.Module, ctx: Any) -> Any:
        """Spike rasters of held-out samples (``specc sample``): time across, neurons down,
        excitatory spikes black and inhibitory red, each with its mean rate."""
        import numpy as np
        import torch

        if ctx.what not in (None, "raster"):
            ctx.refuse(("raster",))
        x = ctx.arriving()[: ctx.n or 4]
        with torch.no_grad():
            xt = torch.from_numpy(np.ascontiguousarray(x)).to(module.w_in)
            trains = module.simulate(torch.nn.functional.linear(xt, module.w_in))[0].cpu().numpy()
        plt = ctx.pyplot()
        fig, axes = plt.subplots(len(trains), 1, figsize=(8, 2.2 * len(trains)), squeeze=False)
        cut = round(p.excitatory * p.units)
        for ax, train in zip(axes[:, 0], trains, strict=True):
            t, unit = np.nonzero(train)
            for mask, colour in ((unit < cut, "black"), (unit >= cut, "red")):
                ax.scatter(t[mask], unit[mask], s=2, c=colour, marker="|", linewidths=0.5)
            ax.set_xlim(0, train.shape[0])
            ax.set_ylim(p.units, 0)
            ax.set_ylabel("neuron")
            ax.set_title(f"mean rate {train.mean():.3f} spikes a step", fontsize=8)
        axes[-1, 0].set_xlabel("time step")
        return ctx.save(fig, "spike rasters (excitatory black, inhibitory red)")
