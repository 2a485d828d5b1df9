"""Running a network one time step at a time, and any part of it (cuts).

A layer kind whose class sets ``stateful = True`` builds a module with the stateful protocol:
``state_shapes() -> {name: per-sample shape}``, ``initial_state(batch) -> {name: tensor}``
and ``step(x_t, state) -> (y_t, state)`` (x_t (N, features), y_t (N, out features)), and
optionally ``run(x, state) -> (y, state)`` over a whole sequence (N, T, features) (else the
steps are looped). Every other layer on the way of the time axis is applied to a sequence of
length 1, so it must treat each time step alone: the kinds in :data:`TIME_LOCAL`, or a kind
whose class sets ``time_local = True``. A layer mixing time steps (a convolution or pooling
over time, attention, a bidirectional layer, a flatten) is refused with a located error.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from ..graph.ir import LayerGraph
from ..registry import current

#: Built-in kinds that act on each position of a sequence alone.
TIME_LOCAL = frozenset({
    "activation", "activity_sparsity", "add", "average", "batch_norm", "dense", "dropout",
    "embedding", "gaussian_noise", "layer_norm", "leaky_relu", "masking_noise", "maximum",
    "minimum", "multiply", "relu", "repeat_over_time", "sigmoid", "softmax", "subtract", "tanh"})


def is_stateful(kind: str) -> bool:
    return bool(getattr(current().layers.get(kind), "stateful", False))


def _time_local(kind: str, params: Any) -> bool:
    if kind == "concat":  # along the features, not the time axis (0)
        axis = getattr(params, "axis", None)
        return axis is None or axis > 0 or axis == -1
    return kind in TIME_LOCAL or bool(getattr(current().layers.get(kind), "time_local", False))


def sequence_inputs(graph: LayerGraph) -> list[str]:
    """The inputs whose first axis is the time axis of a stateful node."""
    traced = _traced(graph)
    return [n for n, t in graph.inputs.items() if n in traced and t.rank >= 1]


def _traced(graph: LayerGraph) -> set[str]:
    """Values whose first axis is a stateful node's time axis: traced back from each stateful
    node's input through values whose first axis keeps its length."""
    timed: set[str] = set()
    todo = [graph.nodes[n].inputs[0] for n, node in graph.nodes.items()
            if is_stateful(node.kind)]
    while todo:
        name = todo.pop()
        if name in timed:
            continue
        timed.add(name)
        node = graph.nodes.get(name)
        if node is None or is_stateful(node.kind):
            continue
        length = graph.type_of(name).shape[:1]
        todo.extend(i for i in node.inputs if graph.type_of(i).shape[:1] == length)
    return timed


def timed_nodes(graph: LayerGraph) -> set[str]:
    """Inputs and nodes whose values still have the time axis (first per-sample axis)."""
    timed = set(sequence_inputs(graph))
    for name, node in graph.nodes.items():
        if not any(i in timed for i in node.inputs):
            continue
        if is_stateful(node.kind):
            out, inp = node.type, graph.type_of(node.inputs[0])
            if out is not None and out.rank == inp.rank:
                timed.add(name)
        else:
            timed.add(name)
    return timed


def check_steppable(graph: LayerGraph, path: tuple[Any, ...] = ()) -> None:
    """Raise a SpecError (at ``path``) unless every layer on the time axis can step."""
    if not any(is_stateful(n.kind) for n in graph.nodes.values()):
        raise SpecError(f"network '{graph.name}' has no stateful (recurrent) layer, so it has "
                        "no state to carry from one step to the next", path=path,
                        hint="stateful kinds: " + ", ".join(
                            n for n, k in current().layers.items()
                            if getattr(k, "stateful", False)))
    timed, traced = timed_nodes(graph), _traced(graph)
    for name, node in graph.nodes.items():
        if is_stateful(node.kind) and node.inputs[0] not in timed:
            raise SpecError(f"layer '{name}' (kind '{node.kind}') reads a sequence no network "
                            "input gives one step at a time", path=path,
                            hint="the step form feeds each sequence input one step at a time")
        if not any(i in timed for i in node.inputs) and name not in traced:
            continue  # off the time axis: a per-call input's own layers (an image encoder)
        if is_stateful(node.kind) or _time_local(node.kind, node.params):
            continue
        raise SpecError(f"layer '{name}' (kind '{node.kind}') mixes time steps, so the network "
                        "cannot run one step at a time", path=path,
                        hint="the step form applies each layer to one time step: only "
                        "recurrent layers and layers acting on each step alone (dense, "
                        "embedding, activations, normalisation, merges) may sit on the time "
                        "axis")


def graph_inputs_needed(graph: LayerGraph, targets: list[str], given: list[str]) -> list[str]:
    """The network inputs ``targets`` still read when the values of ``given`` are fed."""
    seen: set[str] = set()
    found: list[str] = []
    todo = [t for t in targets if t not in given]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in graph.inputs:
            found.append(name)
        else:
            todo.extend(i for i in graph.nodes[name].inputs if i not in given)
    return [n for n in graph.inputs if n in found]


def independent_inputs(graph: LayerGraph, source: str, target: str) -> list[str]:
    """Nodes that do not depend on ``source`` but feed nodes on its way to ``target``: what
    a loop re-running the network for new values of ``source`` computes only once."""
    depends = {source}
    for name, node in graph.nodes.items():
        if any(i in depends for i in node.inputs):
            depends.add(name)
    ancestors, todo = set(), [target]
    while todo:
        name = todo.pop()
        if name in ancestors or name not in graph.nodes:
            continue
        ancestors.add(name)
        todo.extend(graph.nodes[name].inputs)
    return [i for name in graph.nodes if name in ancestors and name in depends
            for i in graph.nodes[name].inputs if i not in depends and i in graph.nodes]
