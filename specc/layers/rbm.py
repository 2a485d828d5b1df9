"""``rbm``: a restricted Boltzmann machine, its conditionals, samples and free energy.

The weights ``weight`` (units, visible), hidden bias ``bias`` (units) and visible bias
``visible_bias`` (visible) define the energy

- Bernoulli visible units: ``E(v, h) = -b.v - c.h - h.W v``;
- Gaussian visible units (unit variance, for standardised data):
  ``E(v, h) = ||v - b||^2 / 2 - c.h - h.W v``.

The forward is p(h = 1 | v) = sigmoid(W v + c): differentiable (a deep belief network
fine-tunes through it by backprop) and exportable. Learning is the ``contrastive_divergence``
regime's: the module implements :class:`~specc.layers.energy.EnergyModel` (positive and
negative statistics, Gibbs chains, exact log-likelihood of a small machine, reconstruction
error). Before step 1 the visible bias is set from the training data (Bernoulli:
``log(p / (1 - p))`` of each unit's mean, p clipped to [0.001, 0.999]; Gaussian: the mean).
``specc sample`` draws the filters (``--what filters``, the default) or Gibbs chains started
from held-out data (``--what chains``).
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params, expect_features, expect_rank

if TYPE_CHECKING:
    import torch

#: Bernoulli visible bias from the data: unit means are clipped to [P_CLIP, 1 - P_CLIP].
P_CLIP = 1e-3
#: Pictures ``specc sample`` draws of an RBM (the first is the default).
PICTURES = ("filters", "chains")
#: Gibbs steps at which a drawn chain is shown (step 0: the held-out start).
CHAIN_STEPS = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)


class RBMParams(Params):
    units: int = Field(gt=0, description="Hidden units (output features).")
    visible: Literal["bernoulli", "gaussian"] = Field(
        "bernoulli", description="Visible units: bernoulli (data in [0, 1]) or gaussian "
        "(unit variance: standardise the data).")
    init_std: float = Field(0.01, gt=0, allow_inf_nan=False,
                            description="Initial weights drawn from N(0, init_std^2).")
    from_data: bool = Field(True, description="Set the visible bias from the training data "
                            "before step 1 (bernoulli: log(p / (1 - p)) of the unit means; "
                            "gaussian: the means).")


class RBM(LayerKind):
    """Restricted Boltzmann machine: the output is p(h = 1 | v) = sigmoid(W v + c).

    Trained by ``contrastive_divergence`` (CD-k, persistent CD, momentum, weight decay) on the
    activations arriving at it, or by backprop as the sigmoid layer it is (a DBN's fine-tune).
    Its module exposes ``p_h``, ``p_v``, ``sample_h``, ``sample_v`` and ``free_energy``.

    Args:
        units: hidden units. visible: ``bernoulli`` (default; data in [0, 1]) or ``gaussian``
        (unit-variance visible units; standardise the data). init_std: initial weight scale
        (default 0.01). from_data: visible bias from the training data before step 1.

    Input shape: ``(batch, visible)``. Output shape: ``(batch, units)``.

    Example:
        ``- rbm: {units: 256}``
    """

    name = "rbm"
    Params = RBMParams
    category = "probabilistic"
    regimes: ClassVar[tuple[str, ...] | None] = ("contrastive_divergence", "greedy_layerwise",
                                                 "backprop")
    energy_model: ClassVar[bool] = True
    feature_axis = -1
    examples = (
        Example("rbm: {units: 5}", ((7,),), (5,)),
        Example("rbm: {units: 3, visible: gaussian}", ((4,),), (3,)),
    )

    @classmethod
    def infer(cls, p: RBMParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        expect_rank(x, 1, "(a vector of visible units; flatten images first)")
        expect_features(x, -1, "visible (feature) axis")
        return TensorType((p.units,), x.dtype)

    @classmethod
    def count_params(cls, p: RBMParams, inputs: list[TensorType]) -> tuple[int, int]:
        visible = inputs[0].shape[-1] or 0
        return (p.units * visible + p.units + visible, 0)

    @classmethod
    def build(cls, p: RBMParams, inputs: list[TensorType]) -> Any:
        return _module()(p.units, int(inputs[0].shape[-1]), p.visible, p.init_std)

    @classmethod
    def init_from_data(cls, p: RBMParams, module: torch.nn.Module, x: torch.Tensor,
                       generator: torch.Generator) -> None:
        if not p.from_data:
            return
        mean = x.reshape(-1, x.shape[-1]).double().mean(0)
        if p.visible == "bernoulli":
            q = mean.clamp(P_CLIP, 1 - P_CLIP)
            mean = (q / (1 - q)).log()
        module.visible_bias.copy_(mean.to(module.visible_bias))

    @classmethod
    def draw(cls, p: RBMParams, module: torch.nn.Module, ctx: Any) -> Path | None:
        what = ctx.what or PICTURES[0]
        if what not in PICTURES:
            ctx.refuse(PICTURES)
        shape = _picture(ctx, module.visible_size)
        if what == "filters":
            w = module.weight.detach().cpu().numpy()
            cols = math.ceil(math.sqrt(len(w)))
            return ctx.save_grid([("", w.reshape((len(w),) + shape))],
                                 f"filters of '{ctx.node}' ({len(w)} hidden units)",
                                 cols=cols, normalize=True)
        return _draw_chains(module, ctx, shape)


def _picture(ctx: Any, visible: int) -> tuple[int, int, int]:
    """(channels, height, width) to draw a visible vector as: a network input image of that
    many values, else the most nearly square rectangle."""
    from .hopfield import _picture_shape

    for t in ctx.graph.inputs.values():
        if None not in t.shape and math.prod(t.shape) == visible and (
                t.rank == 2 or (t.rank == 3 and t.shape[0] in (1, 3))):
            return (1, *t.shape) if t.rank == 2 else t.shape
    return (1, *_picture_shape(visible))


def _draw_chains(module: Any, ctx: Any, shape: tuple[int, int, int]) -> Path:
    """One row per chain started from a held-out sample: p(v | h) at :data:`CHAIN_STEPS`."""
    import numpy as np
    import torch

    x = ctx.arriving()[: ctx.n or 8]
    gen = torch.Generator().manual_seed(ctx.seed)
    v = torch.from_numpy(np.ascontiguousarray(x)).to(module.weight)
    frames = [v.clone()] if 0 in CHAIN_STEPS else []
    with torch.no_grad():
        for step in range(1, CHAIN_STEPS[-1] + 1):
            mean = module.p_v(module.sample_h(v, gen))
            v = module.sample_v(mean, gen)
            if step in CHAIN_STEPS:
                frames.append(mean)
    steps = torch.stack(frames, 1).cpu().numpy()  # (chains, steps, visible)
    first = " (columns: Gibbs steps " + ", ".join(map(str, CHAIN_STEPS)) + ")"
    rows = [(f"chain {i + 1}" + ("" if i else first), s.reshape((len(s),) + shape))
            for i, s in enumerate(steps)]
    gaussian = module.visible == "gaussian"
    return ctx.save_grid(rows, f"Gibbs chains of '{ctx.node}' from held-out data",
                         normalize=gaussian)


@cache
def _module() -> type:
    import torch
    from torch import nn

    from .energy import MAX_ENUMERATED, EnergyModel

    class RBMModule(EnergyModel, nn.Module):
        """An RBM's parameters, conditionals, samples, free energy and CD statistics."""

        def __init__(self, units: int, visible: int, kind: str, init_std: float) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(units, visible) * init_std)
            self.bias = nn.Parameter(torch.zeros(units))
            self.visible_bias = nn.Parameter(torch.zeros(visible))
            self.visible = kind
            self.visible_size = visible
            #: ``positive``: the last positive phase's (data, p(h|data)), reused by a CD chain
            #: started there; ``reconstruction``: (data, p(v|h) of the first sweep) of the last
            #: CD negative phase started there (a plain dict: no nn.Module attribute per step)
            self._phase: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

        def forward(self, v: torch.Tensor) -> torch.Tensor:
            return self.p_h(v)

        # -- conditionals and samples ---------------------------------------------------------
        def p_h(self, v: torch.Tensor) -> torch.Tensor:
            """p(h = 1 | v) = sigmoid(W v + c)."""
            return torch.sigmoid(nn.functional.linear(v, self.weight, self.bias))

        def p_v(self, h: torch.Tensor) -> torch.Tensor:
            """The mean of v given h: sigmoid(W^T h + b) (Bernoulli) or W^T h + b (Gaussian)."""
            a = torch.addmm(self.visible_bias, h, self.weight)
            return torch.sigmoid(a) if self.visible == "bernoulli" else a

        def sample_h(self, v: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            return _bernoulli(self.p_h(v), generator)

        def sample_v(self, mean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            """A visible sample given its mean (:meth:`p_v`)."""
            if self.visible == "bernoulli":
                return _bernoulli(mean, generator)
            return mean + torch.randn(mean.shape, generator=generator, device=mean.device,
                                      dtype=mean.dtype)

        def free_energy(self, v: torch.Tensor) -> torch.Tensor:
            """F(v) = -log sum_h exp(-E(v, h)), per sample."""
            return _free_energy(v, self.weight, self.bias, self.visible_bias, self.visible)

        # -- the EnergyModel protocol ---------------------------------------------------------
        def _statistics(self, v: torch.Tensor, h: torch.Tensor) -> dict[str, torch.Tensor]:
            """Batch means of -dE/dθ at visible ``v`` and hidden (means) ``h``."""
            n = v.shape[0]
            vb = v if self.visible == "bernoulli" else v - self.visible_bias
            # h^T v / n in one op (beta 0: the weight only gives the shape)
            weight = torch.addmm(self.weight, h.T, v, beta=0, alpha=1 / n)
            return {"weight": weight, "bias": _mean(h), "visible_bias": _mean(vb)}

        def data_statistics(self, v: torch.Tensor, generator: torch.Generator,
                            **opts: Any) -> dict[str, torch.Tensor]:
            h = self.p_h(v)
            self._phase["positive"] = (v, h)
            return self._statistics(v, h)

        def model_statistics(self, chains: torch.Tensor, k: int, generator: torch.Generator,
                             **opts: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            """k sweeps h ~ p(h|v), v ~ p(v|h); the statistics read the last sweep's visible
            means and their hidden probabilities (less noise than the samples), the chains
            keep the samples. A chain started at the last positive phase's data (CD) samples
            its first hidden state from that phase's p(h|v) and keeps its first visible means
            for :meth:`step_reconstruction_error`."""
            v, known = chains, self._phase.pop("positive", None)
            self._phase.pop("reconstruction", None)
            from_data = known is not None and known[0] is v
            for sweep in range(k):
                h = known[1] if sweep == 0 and from_data else self.p_h(v)
                mean = self.p_v(_bernoulli(h, generator))
                if sweep == 0 and from_data:
                    self._phase["reconstruction"] = (chains, mean)
                v = self.sample_v(mean, generator)
            return self._statistics(mean, self.p_h(mean)), v

        def chain_start(self, v: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            return v

        def init_chains(self, n: int, generator: torch.Generator) -> torch.Tensor:
            mean = self.p_v(torch.zeros(n, self.weight.shape[0], device=self.weight.device))
            return self.sample_v(mean, generator)

        def exact_log_likelihood(self, v: torch.Tensor) -> torch.Tensor | None:
            """Mean log p(v) = -F(v) - log Z, Z summed over every hidden state (or every
            visible state of a Bernoulli machine with fewer visible than hidden units)."""
            units, visible = self.weight.shape
            w, b, c = (t.detach().double() for t in (self.weight, self.visible_bias, self.bias))
            by_visible = self.visible == "bernoulli" and visible < units
            if min(units, visible) > MAX_ENUMERATED or (
                    units > MAX_ENUMERATED and not by_visible):
                return None
            if by_visible:
                states = _binary_states(visible, w)
                log_z = torch.logsumexp(states @ b + nn.functional.softplus(
                    states @ w.T + c).sum(-1), 0)
            else:
                h = _binary_states(units, w)
                a = h @ w + b
                if self.visible == "bernoulli":
                    per_h = h @ c + nn.functional.softplus(a).sum(-1)
                else:  # the Gaussian integral over v
                    per_h = (h @ c + 0.5 * (a * a).sum(-1) - 0.5 * (b * b).sum()
                             + 0.5 * visible * math.log(2 * math.pi))
                log_z = torch.logsumexp(per_h, 0)
            free = _free_energy(v.double(), w, c, b, self.visible)
            return (-free - log_z).mean().float()

        def reconstruction_error(self, v: torch.Tensor,
                                 generator: torch.Generator) -> torch.Tensor:
            return _mse(self.p_v(self.sample_h(v, generator)), v)

        def step_reconstruction_error(self, v: torch.Tensor) -> torch.Tensor | None:
            """MSE of ``v`` against the first visible means of the CD negative phase just
            started at it (the weights before the update), else None."""
            known = self._phase.pop("reconstruction", None)
            if known is None or known[0] is not v:
                return None
            return _mse(known[1], v)

    return RBMModule


def _bernoulli(p: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """0/1 samples with probabilities ``p``: uniforms below ``p`` (faster on the CPU than
    ``torch.bernoulli``, which draws element by element)."""
    import torch

    return torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype).lt_(p)


def _mean(x: torch.Tensor) -> torch.Tensor:
    """``x.mean(0)`` to the bit (torch sums, then divides) in half its time on small CPU
    batches."""
    return x.sum(0).div_(len(x))


def _mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared difference (``mse_loss`` without its Python wrapper's checks)."""
    return (a - b).square_().mean()


def _free_energy(v: torch.Tensor, w: torch.Tensor, c: torch.Tensor, b: torch.Tensor,
                 visible: str) -> torch.Tensor:
    """F(v) of an RBM with weights ``w``, hidden bias ``c`` and visible bias ``b``."""
    from torch import nn

    hidden = nn.functional.softplus(nn.functional.linear(v, w, c)).sum(-1)
    if visible == "bernoulli":
        return -(v @ b) - hidden
    return 0.5 * ((v - b) ** 2).sum(-1) - hidden


def _binary_states(n: int, like: torch.Tensor) -> torch.Tensor:
    """All 2**n binary vectors of length n (rows), float64 on ``like``'s device."""
    import torch

    idx = torch.arange(2 ** n, device=like.device)
    bits = torch.arange(n, device=like.device)
    return ((idx[:, None] >> bits) & 1).to(torch.float64)
