"""LayerGraph IR: named nodes in topological order, typed edges, named inputs and outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import PathT
from ..types import TensorType


@dataclass
class Node:
    """One layer application.

    ``params`` is the kind's validated ``Params`` instance; ``src`` is the path of the spec
    field that produced the node (for error positions). ``share`` names a node whose weights
    this node reuses. ``trainable: false`` freezes the node's weights.
    """

    name: str
    kind: str
    params: Any
    inputs: list[str]
    src: PathT = ()
    share: str | None = None
    trainable: bool = True
    type: TensorType | None = None  # filled by shape inference
    n_trainable: int = 0
    n_frozen: int = 0  # parameters not updated (non-trainable buffers + frozen weights)

    @property
    def activation(self) -> str | None:
        act = getattr(self.params, "activation", None)
        return None if act in (None, "linear") else act


@dataclass
class LayerGraph:
    """A compiled network: ``inputs`` (name -> type), ``nodes`` in topological order,
    ``outputs`` (node or input names)."""

    name: str
    inputs: dict[str, TensorType]
    nodes: dict[str, Node]
    outputs: list[str]
    src: PathT = ()

    def type_of(self, name: str) -> TensorType:
        if name in self.inputs:
            return self.inputs[name]
        t = self.nodes[name].type
        assert t is not None, f"shape of {name} not inferred"
        return t

    @property
    def output_types(self) -> dict[str, TensorType]:
        return {o: self.type_of(o) for o in self.outputs}

    @property
    def param_counts(self) -> tuple[int, int]:
        """(trainable, non-trainable) parameter totals; shared weights counted once."""
        t = sum(n.n_trainable for n in self.nodes.values() if n.share is None)
        f = sum(n.n_frozen for n in self.nodes.values() if n.share is None)
        return t, f

    def consumers(self, name: str) -> list[str]:
        return [n.name for n in self.nodes.values() if name in n.inputs]
