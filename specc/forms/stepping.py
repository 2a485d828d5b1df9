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


def runner_class() -> type:
    """The torch module running parts of a compiled network (imports torch)."""
    from torch import nn

    from ..backends.torch.build import apply_activation, attr_name

    class GraphRunner(nn.Module):
        """Evaluates nodes of ``graph`` with the weights of ``net`` (a compiled network).

        ``mode``: "plain" (each layer's forward), "step" (stateful nodes take one step of
        their time-axis input, a sequence of length 1) or "run" (stateful nodes read the
        whole sequence from the given state)."""

        def __init__(self, net: nn.Module, graph: LayerGraph) -> None:
            super().__init__()
            self.net, self.graph = net, graph
            self.stateful = [n for n, node in graph.nodes.items() if is_stateful(node.kind)]
            self.timed = timed_nodes(graph)
            self._plans: dict[tuple[Any, ...], list[str]] = {}  # nodes to run, by call shape
            self._attrs = {n: attr_name(node.share or n) for n, node in graph.nodes.items()}
            self._fused = {n for n, node in graph.nodes.items() if node.activation is not None}

        def module_of(self, name: str) -> nn.Module:
            return self.net._modules[self._attrs[name]]  # compiled networks are flat

        def state_shapes(self) -> dict[str, dict[str, tuple[int, ...]]]:
            return {n: self.module_of(n).state_shapes() for n in self.stateful}

        def initial_state(self, batch: int) -> dict[str, dict[str, Any]]:
            return {n: self.module_of(n).initial_state(batch) for n in self.stateful}

        def evaluate(self, env: dict[str, Any], targets: list[str], mode: str = "plain",
                     state: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
            """``env`` (values by input or node name) completed up to ``targets``; the new
            states of the stateful nodes evaluated are written into ``state``."""
            key = (tuple(targets), tuple(env))
            plan = self._plans.get(key)
            if plan is None:
                needed = self._needed(targets, env)
                plan = self._plans[key] = [n for n in self.graph.nodes if n in needed]
            nodes, stepping = self.graph.nodes, mode != "plain" and state is not None
            for name in plan:
                args = [env[i] for i in nodes[name].inputs]
                if stepping and name in state:
                    value = self._stateful(name, args[0], state, mode)
                else:
                    value = self.module_of(name)(*args)
                env[name] = apply_activation(self.net, self.graph, name, value) \
                    if name in self._fused else value
            return env

        def _stateful(self, name: str, x: Any, state: dict[str, dict[str, Any]],
                      mode: str) -> Any:
            import torch

            module, timed = self.module_of(name), name in self.timed
            if mode == "step":
                y, state[name] = module.step(x[:, 0], state[name])
                return y[:, None] if timed else y
            run = getattr(module, "run", None)
            if run is not None:
                y, state[name] = run(x, state[name])
            else:
                steps = []
                for t in range(x.shape[1]):
                    out, state[name] = module.step(x[:, t], state[name])
                    steps.append(out)
                y = torch.stack(steps, dim=1)
            return y if timed else y[:, -1]

        def _needed(self, targets: list[str], env: dict[str, Any]) -> set[str]:
            """Nodes to compute for ``targets`` given the values already in ``env``."""
            needed: set[str] = set()
            todo = [t for t in targets if t not in env]
            while todo:
                name = todo.pop()
                if name in needed:
                    continue
                if name not in self.graph.nodes:
                    raise SpecError(f"input '{name}' is needed but was not given")
                needed.add(name)
                todo.extend(i for i in self.graph.nodes[name].inputs if i not in env)
            return needed

    return GraphRunner


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
