"""The torch module that runs a compiled network's nodes: whole, one time step at a time, or
any part of it (cuts). The graph analysis it relies on (which nodes are stateful or on the time
axis) is :mod:`specc.forms.stepping`, which validation uses without torch."""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from ..graph.ir import LayerGraph
from .stepping import is_stateful, timed_nodes


def runner_class() -> type:
    """The torch module running parts of a compiled network (imports torch)."""
    from torch import nn

    from ..backends.torch.build import activation_fn, attr_name

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
            # each node's fused activation, resolved on first use: a step of a small network
            # is mostly such bookkeeping
            self._acts: dict[str, Any] = {}

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
            modules, attrs, acts = self.net._modules, self._attrs, self._acts
            for name in plan:
                args = [env[i] for i in nodes[name].inputs]
                if stepping and name in state:
                    value = self._stateful(name, args[0], state, mode)
                else:
                    value = modules[attrs[name]](*args)
                if name in acts:
                    act = acts[name]
                else:
                    act = acts[name] = activation_fn(self.net, self.graph, name)
                env[name] = value if act is None else act(value)
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
