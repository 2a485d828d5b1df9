"""Data-dependent initialisation: kinds that set their weights from the data before step 1.

A layer kind opts in by overriding :meth:`~specc.layers.base.LayerKind.init_from_data`
(``rbf`` places its centres by k-means++ and sets its widths from their spread). The training
loops call :func:`initialize_from_data` once after ``setup`` when a run starts (never on
resume: the weights it sets are in every checkpoint). Each such node, in graph order, sees the
activations arriving at it for a bounded, seeded sample of the training split, computed by
the network as initialised so far (so a later node sees what an earlier one already set).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ..backends.torch.build import attr_name
from ..errors import SpecError
from ..layers.base import LayerKind
from ..registry import current

if TYPE_CHECKING:
    import torch

#: At most this many training samples feed a data-dependent initialisation.
MAX_SAMPLES = 4096
#: Samples per forward pass while collecting a node's inputs.
CHUNK = 512


def has_data_init(kind: type[LayerKind]) -> bool:
    """Whether ``kind`` overrides :meth:`LayerKind.init_from_data`."""
    return kind.init_from_data.__func__ is not LayerKind.init_from_data.__func__  # type: ignore[attr-defined]


def initialize_from_data(regime: Any, only: Collection[str] | None = None) -> None:
    """Run every data-initialised node of ``regime.models`` (those named in ``only``, when
    given) once, on the activations arriving at it over a seeded sample (at most
    :data:`MAX_SAMPLES`) of ``regime.data``'s training split. Every process computes the same
    result (the sample depends on ``train.seed`` only)."""
    import torch

    s = regime.session
    layers = current().layers
    for net_name, model in regime.models.items():
        model = getattr(model, "module", model)
        graph = s.spec.network(net_name if len(s.spec.networks) > 1 else None)
        nodes = [(name, node) for name, node in graph.nodes.items()
                 if node.share is None and has_data_init(layers.get(node.kind))
                 and (only is None or name in only)]
        if not nodes:
            continue
        missing = [i for i in graph.inputs if i not in regime.data.train.inputs]
        if missing:
            name, node = nodes[0]
            raise s.locate(SpecError(
                f"node '{name}' ({node.kind}) is initialised from the training data, but the "
                f"training split has no data for input '{missing[0]}' of network "
                f"'{graph.name}'", path=node.src))
        gen = torch.Generator().manual_seed(int(s.cfg.seed))
        inputs = _sample(regime.data.train, list(graph.inputs), gen)
        for name, node in nodes:
            module = model.get_submodule(attr_name(name))
            x = _arriving(model, module, inputs, s.device)
            try:
                with torch.no_grad():
                    layers.get(node.kind).init_from_data(node.params, module, x, gen)
            except SpecError as err:
                raise s.locate(err.prefixed(node.src)) from None


def _sample(part: Any, names: list[str], gen: torch.Generator) -> dict[str, torch.Tensor]:
    """The inputs of a seeded sample of ``part`` (all of it when it is small enough)."""
    import torch

    if part.n <= MAX_SAMPLES:
        return {k: part.inputs[k] for k in names}
    idx = torch.randperm(part.n, generator=gen)[:MAX_SAMPLES].sort().values
    return {k: part.inputs[k][idx] for k in names}


def _arriving(model: Any, module: Any, inputs: dict[str, torch.Tensor],
              device: torch.device) -> torch.Tensor:
    """The (first) input ``module`` receives when ``model`` runs on ``inputs``, in eval mode."""
    import torch

    seen: list[torch.Tensor] = []

    class _Stop(Exception):
        pass

    def hook(_m: Any, args: tuple[Any, ...]) -> None:
        seen.append(args[0].detach())
        raise _Stop  # nothing after this node is needed

    was_training = model.training
    model.eval()
    handle = module.register_forward_pre_hook(hook)
    try:
        n = len(next(iter(inputs.values())))
        with torch.no_grad():
            for start in range(0, n, CHUNK):
                try:
                    model(*[v[start:start + CHUNK].to(device) for v in inputs.values()])
                except _Stop:
                    pass
    finally:
        handle.remove()
        model.train(was_training)
    return torch.cat(seen)
