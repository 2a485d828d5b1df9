"""The ``EnergyModel`` protocol: what the ``contrastive_divergence`` regime asks of a module.

An energy-based kind (``rbm``, ``boltzmann_machine``) builds a ``torch.nn.Module`` that also
derives from :class:`EnergyModel` (``class M(EnergyModel, nn.Module)``) and sets
``energy_model = True`` on its :class:`~specc.layers.base.LayerKind` class, so a regime can tell
an energy node from the spec alone (:func:`energy_kinds`, without torch).

Tensors are float32 on the module's device. ``generator`` is a ``torch.Generator`` owned by the
regime (saved in its checkpoint state, so a resumed run draws the same samples). The regime's
update for every parameter ``p`` (by its name in ``named_parameters()``)::

    velocity = momentum * velocity + lr * (data[p] - model[p] - weight_decay * p)
    p += velocity

with ``weight_decay`` applied to weight matrices only (parameters of two or more axes, never to
biases), then :meth:`EnergyModel.constrain` (symmetry, zero diagonal, a connection mask).
This module imports no torch at import time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: Above this many free (unclamped, summed-over) binary units, exact log-likelihood by
#: enumeration is not attempted (2**20 states).
MAX_ENUMERATED = 20


class EnergyModel(ABC):
    """Mixin of the modules of energy-based kinds (Gibbs sampling, contrastive statistics)."""

    #: Width of the visible vector the regime trains on (the rows of ``v`` below).
    visible_size: int

    @abstractmethod
    def data_statistics(self, v: torch.Tensor, generator: torch.Generator,
                        **opts: Any) -> dict[str, torch.Tensor]:
        """Positive phase with the visible units clamped to the batch ``v`` (B, visible_size):
        for every trainable parameter name, the batch mean of -dE/dθ (an RBM: E[v hᵀ] with
        h = p(h|v); a Boltzmann machine: hidden units settled by clamped sampling or mean
        field). ``opts`` may carry ``clamp_noise`` (noisy clamping of the visible bits)
        and ``sweeps``; a model ignores the ones it does not use."""

    @abstractmethod
    def model_statistics(self, chains: torch.Tensor, k: int, generator: torch.Generator,
                         **opts: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Negative phase: advance ``chains`` (B', state size) by ``k`` Gibbs sweeps; the
        statistics (as :meth:`data_statistics`) of the final state, and that state."""

    @abstractmethod
    def chain_start(self, v: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The chain state a CD-k negative phase starts from for data ``v``."""

    @abstractmethod
    def init_chains(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` fresh chain states (persistent CD keeps and advances these)."""

    @abstractmethod
    def exact_log_likelihood(self, v: torch.Tensor) -> torch.Tensor | None:
        """Mean log p(v) over the batch by enumerating the free units, when there are at most
        :data:`MAX_ENUMERATED` of them; else None."""

    @abstractmethod
    def reconstruction_error(self, v: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Mean squared error between ``v`` and its reconstruction after one Gibbs round trip
        (visible -> hidden -> visible)."""

    def step_reconstruction_error(self, v: torch.Tensor) -> torch.Tensor | None:
        """The reconstruction error of the batch ``v`` read off the step just taken (an RBM's
        CD negative phase started at ``v``: its first visible means), so the regime logs one
        without another Gibbs round trip; None (the default) when the step has none, and the
        regime calls :meth:`reconstruction_error`."""
        return None

    def constrain(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Restore the parameter constraints after an update (symmetry, zero diagonal, mask)."""


def energy_kinds(layers: Any) -> list[str]:
    """Names of the registered layer kinds whose modules are :class:`EnergyModel`\\ s."""
    return sorted(n for n in layers.names() if getattr(layers.get(n), "energy_model", False))
