"""``boltzmann_machine``: binary stochastic units in named groups with symmetric connections.

The energy of a state ``s`` (0/1 units) is ``E(s) = -1/2 sᵀWs - bᵀs`` with ``W`` symmetric,
zero on the diagonal and zero outside the declared connections (a mask buffer), so
``p(s_i = 1 | rest) = sigmoid(W_i · s + b_i)``. The ``clamp`` groups are the network's input,
the ``readout`` groups its output; the other groups are hidden. Units are stored in that order
(clamp groups, read-out groups, hidden groups, each in the order given): the visible vector the
``contrastive_divergence`` regime trains on is the clamp groups' input followed by the read-out
groups' targets.

Inference (``forward``) is deterministic damped mean-field completion: the clamped units hold
the input, the others start at 0.5 and ``steps`` times move ``damping`` of the way to
``sigmoid(W m + b)``; the output is the read-out groups' means. This is the exported form
(Gibbs sampling cannot be checked for parity). Training samples by Gibbs sweeps, group by
group (a group connected to itself one unit at a time).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import Field

from ..types import TensorType
from .base import Example, LayerKind, Params, expect_features, shape_error
from .energy import MAX_ENUMERATED

if TYPE_CHECKING:
    import torch


class BoltzmannParams(Params):
    groups: dict[str, Annotated[int, Field(gt=0)]] = Field(
        min_length=1, description="Unit groups: name -> number of units (> 0).")
    connections: list[tuple[str, str]] = Field(
        description="Connected group pairs, [a, b] (symmetric; [a, a]: within the group).")
    clamp: list[str] = Field(description="Groups clamped to the input at inference.")
    readout: list[str] = Field(description="Groups read out as the output.")
    steps: int = Field(30, ge=1, description="Mean-field steps of the inference form.")
    damping: float = Field(0.5, gt=0, le=1, description="Fraction of the way each mean-field "
                           "step moves (1: undamped).")
    init_std: float = Field(0.1, ge=0, allow_inf_nan=False, description="Std of the initial "
                            "weights (normal, symmetrised, masked); biases start at 0.")


def layout(p: BoltzmannParams) -> list[tuple[str, int, int]]:
    """(group, first unit, end) in storage order: clamp, read-out, then hidden groups."""
    order = list(p.clamp) + list(p.readout) + [g for g in p.groups
                                                if g not in p.clamp and g not in p.readout]
    out, at = [], 0
    for g in order:
        out.append((g, at, at + p.groups[g]))
        at += p.groups[g]
    return out


def check(p: BoltzmannParams) -> None:
    """The groups named by connections, clamp and readout exist; not every group is clamped."""
    known = ", ".join(p.groups)
    for i, pair in enumerate(p.connections):
        for g in pair:
            if g not in p.groups:
                raise shape_error(f"connection {i} ({pair[0]}-{pair[1]}) names an unknown group "
                                  f"'{g}'", g, hint=f"groups: {known}")
    for what in ("clamp", "readout"):
        for g in getattr(p, what):
            if g not in p.groups:
                raise shape_error(f"{what} names an unknown group '{g}'", g,
                                  hint=f"groups: {known}")
    if set(p.clamp) >= set(p.groups):
        raise shape_error("every group is clamped: nothing is left to complete or read out",
                          "clamp: " + ", ".join(p.clamp), hint="leave the read-out (and "
                          "hidden) groups unclamped")
    if not p.readout:
        raise shape_error("a Boltzmann machine reads out at least one group", "readout: []",
                          hint=f"readout: [{next(g for g in p.groups if g not in p.clamp)}]")
    both = [g for g in p.readout if g in p.clamp]
    if both:
        raise shape_error(f"group '{both[0]}' is both clamped and read out", both[0])


class BoltzmannMachine(LayerKind):
    """Boltzmann machine: groups of binary units, symmetric masked weights, mean-field output.

    Args:
        groups: name -> units. connections: connected group pairs ([a, a]: within a group).
        clamp: groups given as the input. readout: groups output. steps / damping: the
        mean-field inference (30 steps of 0.5). init_std: initial weight std (0.1).

    Input shape: ``(batch, clamped units)``. Output shape: ``(batch, read-out units)``: the
    read-out groups' mean activations. Trained by ``contrastive_divergence``.

    Example:
        ``- boltzmann_machine: {groups: {v1: 4, h: 2, v2: 4}, connections: [[v1, h], [h, v2]], clamp: [v1], readout: [v2]}``
    """

    name = "boltzmann_machine"
    aliases = ("boltzmann",)
    Params = BoltzmannParams
    category = "energy"
    regimes = ("contrastive_divergence",)
    energy_model: ClassVar[bool] = True
    feature_axis = -1
    examples = (
        Example("boltzmann_machine: {groups: {v1: 4, h: 2, v2: 4}, connections: [[v1, h], "
                "[h, v2], [h, h]], clamp: [v1], readout: [v2]}", ((4,),), (4,)),
        Example("boltzmann_machine: {groups: {a: 3, b: 2}, connections: [[a, b], [b, b]], "
                "clamp: [a], readout: [b], steps: 5, damping: 1}", ((3,),), (2,)),
    )

    @classmethod
    def infer(cls, p: BoltzmannParams, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        check(p)
        width = expect_features(x, -1, "feature axis")
        clamped = sum(p.groups[g] for g in p.clamp)
        if x.rank != 1 or width != clamped:
            raise shape_error(f"expects the clamped groups' {clamped} units "
                              f"({', '.join(p.clamp) or 'none'}) as a vector per sample", x)
        return TensorType((sum(p.groups[g] for g in p.readout),), x.dtype)

    @classmethod
    def count_params(cls, p: BoltzmannParams, inputs: list[TensorType]) -> tuple[int, int]:
        n = sum(p.groups.values())
        return (n * n + n, n * n)

    @classmethod
    def build(cls, p: BoltzmannParams, inputs: list[TensorType]) -> Any:
        return _module()(p)

    @classmethod
    def draw(cls, p: BoltzmannParams, module: torch.nn.Module, ctx: Any) -> Any:
        """The weights (groups marked) and the mean-field completion of each one-hot clamped
        input (``specc sample``)."""
        import torch

        if ctx.what not in (None, "weights"):
            ctx.refuse(("weights",))
        spans = layout(p)
        w = module.weight.detach().cpu().numpy()
        clamped = module.clamped
        with torch.no_grad():
            x = torch.eye(clamped)[: ctx.n or clamped].to(module.weight)
            out = module(x).cpu().numpy()
        plt = ctx.pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
        lim = float(abs(w).max()) or 1.0
        im = axes[0].imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ticks = [(a + b - 1) / 2 for _, a, b in spans]
        for ax_set in (axes[0].set_xticks, axes[0].set_yticks):
            ax_set(ticks, [g for g, _, _ in spans])
        for _, a, _ in spans[1:]:
            axes[0].axhline(a - 0.5, color="k", lw=0.5)
            axes[0].axvline(a - 0.5, color="k", lw=0.5)
        axes[0].set_title("weights (symmetric, zero outside the connections)")
        fig.colorbar(im, ax=axes[0])
        axes[1].imshow(out, cmap="gray_r", vmin=0, vmax=1)
        axes[1].set_xticks(range(out.shape[1]))
        axes[1].set_yticks(range(out.shape[0]))
        axes[1].set_xlabel("read-out units (" + ", ".join(p.readout) + ")")
        axes[1].set_ylabel("clamped unit on (" + ", ".join(p.clamp) + ")")
        axes[1].set_title(f"mean-field completion ({p.steps} steps)")
        return ctx.save(fig, "Boltzmann machine")


@cache
def _module() -> type:
    import torch
    from torch import nn

    from .energy import EnergyModel

    class BoltzmannModule(EnergyModel, nn.Module):
        """Weights (n, n) symmetric and masked, biases (n); see the module docstring."""

        def __init__(self, p: BoltzmannParams) -> None:
            super().__init__()
            spans = layout(p)
            at = {g: (a, b) for g, a, b in spans}
            n = spans[-1][2]
            mask = torch.zeros(n, n)
            for g1, g2 in p.connections:
                (a1, b1), (a2, b2) = at[g1], at[g2]
                mask[a1:b1, a2:b2] = 1.0
                mask[a2:b2, a1:b1] = 1.0
            mask.fill_diagonal_(0.0)
            self.register_buffer("mask", mask)
            w = torch.randn(n, n) * p.init_std
            self.weight = nn.Parameter((w + w.T) / 2 * mask)
            self.bias = nn.Parameter(torch.zeros(n))
            self.clamped = sum(p.groups[g] for g in p.clamp)
            self.visible_size = self.clamped + sum(p.groups[g] for g in p.readout)
            self.readout_end = self.visible_size
            lateral = {a for a, b in p.connections if a == b}
            #: (first, end, connected within) of each group, in storage order
            self.blocks = [(a, b, g in lateral) for g, a, b in spans]
            self.steps, self.damping = p.steps, p.damping

        # -- inference ------------------------------------------------------------------------
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c, d = self.clamped, self.damping
            w_in, w_free, b = self.weight[:c, c:], self.weight[c:, c:], self.bias[c:]
            drive = x @ w_in + b
            m = torch.full_like(drive, 0.5)
            for _ in range(self.steps):
                m = (1 - d) * m + d * torch.sigmoid(drive + m @ w_free)
            return m[:, :self.readout_end - c]

        # -- sampling -------------------------------------------------------------------------
        def _sweep(self, s: torch.Tensor, first: int, gen: torch.Generator,
                   means: bool = False) -> torch.Tensor:
            """One Gibbs sweep, in place, over the groups from unit ``first`` on (``means``:
            leave conditional probabilities instead of samples)."""
            w, b = self.weight, self.bias
            u = None if means else torch.rand(s.shape, generator=gen, device=s.device)
            for a, end, lateral in self.blocks:
                if a < first:
                    continue
                for lo, hi in ([(i, i + 1) for i in range(a, end)] if lateral else [(a, end)]):
                    prob = torch.sigmoid(s @ w[:, lo:hi] + b[lo:hi])
                    s[:, lo:hi] = prob if u is None else (u[:, lo:hi] < prob).to(s.dtype)
            return s

        def _settle(self, v: torch.Tensor, gen: torch.Generator, sweeps: int,
                    means: bool) -> torch.Tensor:
            """States with the visible units at ``v`` and the hidden ones sampled."""
            hidden = torch.rand(len(v), self.bias.numel() - self.visible_size,
                                generator=gen, device=v.device)
            s = torch.cat([v, (hidden < 0.5).to(v.dtype)], 1)
            for i in range(sweeps):
                self._sweep(s, self.visible_size, gen, means=means and i == sweeps - 1)
            return s

        def _statistics(self, s: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"weight": (s.T @ s) / len(s) * self.mask, "bias": s.mean(0)}

        def data_statistics(self, v: torch.Tensor, generator: torch.Generator,
                            **opts: Any) -> dict[str, torch.Tensor]:
            noise = float(opts.get("clamp_noise", 0.0))
            if noise:  # Ackley, Hinton and Sejnowski's noisy clamping (0.15 on, 0.05 off)
                u = torch.rand(v.shape, generator=generator, device=v.device)
                v = torch.where(v > 0.5, u >= noise, u < noise / 3).to(v.dtype)
            return self._statistics(self._settle(v, generator, int(opts.get("sweeps", 3)),
                                                 means=True))

        def model_statistics(self, chains: torch.Tensor, k: int, generator: torch.Generator,
                             **opts: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            s = chains.clone()
            for _ in range(k):
                self._sweep(s, 0, generator)
            return self._statistics(s), s

        def chain_start(self, v: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            return self._settle(v, generator, 1, means=False)

        def init_chains(self, n: int, generator: torch.Generator) -> torch.Tensor:
            return (torch.rand(n, self.bias.numel(), generator=generator,
                               device=self.bias.device) < 0.5).float()

        def exact_log_likelihood(self, v: torch.Tensor) -> torch.Tensor | None:
            n, nv = self.bias.numel(), self.visible_size
            if n > MAX_ENUMERATED:
                return None
            neg_energy = self._neg_energy
            log_z = torch.logsumexp(neg_energy(_all_states(n, v.device)), 0)
            hidden = _all_states(n - nv, v.device)
            s = torch.cat([v[:, None].expand(-1, len(hidden), -1),
                           hidden[None].expand(len(v), -1, -1)], 2)
            return (torch.logsumexp(neg_energy(s), 1) - log_z).mean()

        def _neg_energy(self, s: torch.Tensor) -> torch.Tensor:
            return 0.5 * ((s @ self.weight) * s).sum(-1) + s @ self.bias

        def reconstruction_error(self, v: torch.Tensor,
                                 generator: torch.Generator) -> torch.Tensor:
            s = self.chain_start(v, generator)
            nv = self.visible_size
            recon = torch.sigmoid(s @ self.weight[:, :nv] + self.bias[:nv])
            return ((recon - v) ** 2).mean()

        def constrain(self) -> None:
            with torch.no_grad():
                self.weight.copy_((self.weight + self.weight.T) / 2 * self.mask)

    return BoltzmannModule


def _all_states(n: int, device: Any) -> torch.Tensor:
    """The 2**n binary states of n units, (2**n, n) float32."""
    import torch

    codes = torch.arange(2 ** n, device=device)
    return ((codes[:, None] >> torch.arange(n, device=device)) & 1).float()
