"""What a diagram shows: boxes (inputs, nodes, collapsed block instances) and labelled edges.

Everything comes from the compiled :class:`~specc.graph.ir.LayerGraph` (the data ``specc
build`` summarises): names, kinds, validated parameters, inferred shapes and parameter counts.
A block instance (``layer1.0``: the nodes a block use expanded to) becomes one box whose
``inner`` view holds its nodes, with one port box per tensor entering it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..graph.ir import LayerGraph, Node

# kinds whose module adds an auxiliary loss (a plugin kind says so with ``aux_loss = True``)
AUX_KINDS = frozenset({"gaussian_sample", "activity_sparsity"})
KEY_FIELDS = ("filters", "units", "kernel", "size", "stride", "rate", "heads", "num_heads",
              "input_dim", "output_dim", "return_sequences", "axis", "shape", "function")
FONT, LINE, PAD_X, PAD_Y, CHAR = 11, 14, 8, 5, 6.7  # px; CHAR: width of one monospace char


@dataclass
class Box:
    """One drawn box. ``lines``: (text, style) rows; ``classes``: input, output, node, block,
    port, frozen, aux, shared; ``tip``: every parameter, one per line (hover text)."""

    id: str
    lines: list[tuple[str, str]]
    classes: list[str]
    tip: str
    inner: View | None = None  # a block instance's own nodes
    members: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[float, float]:
        longest = max(len(t) for t, _ in self.lines)
        return max(longest * CHAR + 2 * PAD_X, 60.0), len(self.lines) * LINE + 2 * PAD_Y


@dataclass
class Edge:
    src: str
    dst: str
    label: str  # the tensor's shape


@dataclass
class View:
    """One network (or one block instance's inside): boxes in graph order, edges, and
    shared-weight links (node, node whose weights it uses)."""

    name: str
    boxes: dict[str, Box]
    edges: list[Edge]
    shares: list[tuple[str, str]] = field(default_factory=list)
    params: int = 0


def axis_names(graph: LayerGraph) -> dict[str, list[str]]:
    """Names of each tensor's dynamic axes: an input's are ``seq`` (the only one) or
    ``<input>_seq<i>`` (as in the exported ONNX graph); a node's come from its first input
    with dynamic axes, in order (``dim<i>`` when it has more)."""
    dyn = [(n, i) for n, t in graph.inputs.items() for i, d in enumerate(t.shape) if d is None]
    names: dict[str, list[str]] = {}
    for n, t in graph.inputs.items():
        names[n] = ["seq" if len(dyn) == 1 else f"{n}_seq{i}"
                    for i, d in enumerate(t.shape) if d is None]
    for n, node in graph.nodes.items():
        t = node.type
        count = sum(d is None for d in t.shape) if t is not None else 0
        given = next((names[i] for i in node.inputs if names.get(i)), [])
        names[n] = [given[k] if k < len(given) else f"dim{k + 1}" for k in range(count)]
    return names


def shape_text(graph: LayerGraph, name: str, axes: dict[str, list[str]]) -> str:
    """``(?, seq, 64)``: the batch axis as ``?``, dynamic axes named; dtype when not float."""
    t = graph.type_of(name)
    it = iter(axes.get(name, []))
    dims = ["?"] + [str(d) if d is not None else next(it, "?") for d in t.shape]
    text = "(" + ", ".join(dims) + ")"
    return text if t.dtype == "float32" else f"{text} {t.dtype}"


def fmt_value(v: Any) -> str:
    if isinstance(v, (tuple, list)):
        return "×".join(fmt_value(x) for x in v) if v else "()"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def all_params(node: Node) -> dict[str, Any]:
    p = node.params
    if hasattr(p, "model_dump"):
        return dict(p.model_dump())
    return dict(p) if isinstance(p, dict) else {}


def key_params(node: Node) -> str:
    """A few telling parameters (filters, kernel, units, ...), ``k=v`` each."""
    values = all_params(node)
    parts = []
    for key in KEY_FIELDS:
        v = values.get(key)
        if v is None or v is False or (key == "stride" and set(_flat(v)) == {1}):
            continue
        parts.append(f"{key}={fmt_value(v)}")
    return " ".join(parts[:3])


def _flat(v: Any) -> list[Any]:
    return list(v) if isinstance(v, (tuple, list)) else [v]


def _is_aux(kind: str) -> bool:
    if kind in AUX_KINDS:
        return True
    try:
        from ..registry import current

        return bool(getattr(current().layers.get(kind), "aux_loss", False) is True)
    except Exception:  # an unknown kind cannot be in a compiled graph; be safe anyway
        return False


def node_box(graph: LayerGraph, node: Node, axes: dict[str, list[str]]) -> Box:
    kind = node.kind + (f" + {node.activation}" if node.activation else "")
    n = node.n_trainable + node.n_frozen
    lines = [(node.name, "name"), (kind, "kind")]
    key = key_params(node)
    if key:
        lines.append((key, "key"))
    lines.append((shape_text(graph, node.name, axes), "shape"))
    classes = ["node"]
    flags = []
    if not node.trainable:
        classes.append("frozen")
        flags.append("frozen")
    if _is_aux(node.kind):
        classes.append("aux")
        flags.append("aux loss")
    if node.share:
        classes.append("shared")
        flags.append(f"shares {node.share}")
    if n or flags:
        lines.append(("  ".join([f"{n:,} params"] + flags), "count"))
    if node.name in graph.outputs:
        classes.append("output")
        lines[0] = (node.name + "  ⇥ output", "name")
    tip = [f"{node.name}: {node.kind}", f"inputs: {', '.join(node.inputs)}",
           f"output: {shape_text(graph, node.name, axes)}",
           f"params: {n:,} ({node.n_trainable:,} trainable, {node.n_frozen:,} not)"]
    if node.share:
        tip.append(f"shares weights of: {node.share}")
    if not node.trainable:
        tip.append("trainable: false")
    tip += [f"{k}: {fmt_value(v)}" for k, v in all_params(node).items()]
    return Box(node.name, lines, classes, "\n".join(tip))


def input_box(graph: LayerGraph, name: str, axes: dict[str, list[str]]) -> Box:
    shape = shape_text(graph, name, axes)
    classes = ["input"] + (["output"] if name in graph.outputs else [])
    return Box(name, [(name, "name"), ("input", "kind"), (shape, "shape")], classes,
               f"{name}: input\nshape: {shape}")


def instance_of(node: Node) -> str | None:
    """The block instance a node belongs to (``layer1.0`` for ``layer1.0.c1``), or None."""
    if not node.src or node.src[0] != "blocks" or "." not in node.name:
        return None
    return node.name.rsplit(".", 1)[0]


def block_groups(graph: LayerGraph) -> dict[str, list[str]]:
    """Outermost block instance -> its node names, in graph order."""
    inner = {n: instance_of(node) for n, node in graph.nodes.items()}
    known = {i for i in inner.values() if i}
    groups: dict[str, list[str]] = {}
    for n, inst in inner.items():
        if inst is None:
            continue
        parts = inst.split(".")
        top = next(".".join(parts[:k]) for k in range(1, len(parts) + 1)
                   if ".".join(parts[:k]) in known)
        groups.setdefault(top, []).append(n)
    return groups


def build_view(graph: LayerGraph, name: str | None = None) -> View:
    """The network with every block instance collapsed (its nodes in ``Box.inner``)."""
    axes = axis_names(graph)
    groups = block_groups(graph)
    owner = {n: g for g, ns in groups.items() for n in ns}
    boxes: dict[str, Box] = {n: input_box(graph, n, axes) for n in graph.inputs}
    edges: list[Edge] = []
    seen_edges: set[tuple[str, str]] = set()
    for n, node in graph.nodes.items():
        g = owner.get(n)
        if g is None:
            boxes[n] = node_box(graph, node, axes)
        elif g not in boxes:
            boxes[g] = block_box(graph, g, groups[g], axes)
        dst = g or n
        for i in node.inputs:
            src = owner.get(i, i)
            if src != dst and (src, dst) not in seen_edges:
                seen_edges.add((src, dst))
                edges.append(Edge(src, dst, shape_text(graph, i, axes)))
    shares = []
    for n, node in graph.nodes.items():
        if node.share and node.share in graph.nodes:
            a, b = owner.get(n, n), owner.get(node.share, node.share)
            if a != b:
                shares.append((a, b))
    t, f = graph.param_counts
    return View(name or graph.name, boxes, edges, shares, t + f)


def block_box(graph: LayerGraph, inst: str, members: list[str],
              axes: dict[str, list[str]]) -> Box:
    """A collapsed block instance: block name, in/out shapes, node and parameter counts."""
    mset = set(members)
    nodes = [graph.nodes[m] for m in members]
    ins = list(dict.fromkeys(i for nd in nodes for i in nd.inputs if i not in mset))
    outs = [m for m in members if m in graph.outputs or any(
        c not in mset for c in graph.consumers(m))]
    own = next((nd for nd in nodes if instance_of(nd) == inst), nodes[0])  # not a nested one's
    block = own.src[1] if len(own.src) > 1 else "block"
    count = sum(nd.n_trainable + nd.n_frozen for nd in nodes if nd.share is None)
    in_shapes = ", ".join(dict.fromkeys(shape_text(graph, i, axes) for i in ins))
    out_shapes = ", ".join(dict.fromkeys(shape_text(graph, o, axes) for o in outs))
    classes = ["block"]
    if all(not nd.trainable for nd in nodes):
        classes.append("frozen")
    if any(_is_aux(nd.kind) for nd in nodes):
        classes.append("aux")
    if any(o in graph.outputs for o in outs):
        classes.append("output")
    lines = [(f"▸ {inst}", "name"), (f"block {block} · {len(nodes)} nodes", "kind"),
             (f"in  {in_shapes}", "shape"), (f"out {out_shapes}", "shape"),
             (f"{count:,} params", "count")]
    # the inside: a port per tensor entering, then the members
    boxes: dict[str, Box] = {}
    for i in ins:
        boxes[f"{inst}:in:{i}"] = Box(f"{inst}:in:{i}", [(f"from {i}", "name"),
                                                         (shape_text(graph, i, axes), "shape")],
                                      ["port"], f"input of {inst}: {i}")
    edges = []
    for nd in nodes:
        boxes[nd.name] = node_box(graph, nd, axes)
        if nd.name in outs and "output" not in boxes[nd.name].classes:
            boxes[nd.name].classes.append("block-out")
        for i in dict.fromkeys(nd.inputs):  # add: [x, x] is one edge
            src = i if i in mset else f"{inst}:in:{i}"
            edges.append(Edge(src, nd.name, shape_text(graph, i, axes)))
    shares = [(nd.name, nd.share) for nd in nodes if nd.share in mset]
    inner = View(inst, boxes, edges, shares, count)
    tip = [f"{inst}: block {block} ({len(nodes)} nodes)", f"inputs: {', '.join(ins)}",
           f"in: {in_shapes}", f"out: {out_shapes}", f"params: {count:,}", "nodes:"]
    tip += [f"  {nd.name}: {nd.kind}" for nd in nodes]
    return Box(inst, lines, classes, "\n".join(tip), inner=inner, members=members)
