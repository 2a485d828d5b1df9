"""RawNet -> LayerGraph: parameter validation per kind, graph checks, topological order and
shape inference, all in pure Python (no torch)."""

from __future__ import annotations

from typing import Any

from ..errors import Shown, SpecError, did_you_mean
from ..limits import env_limit
from ..registry import Registry
from ..spec.pydantic_errors import validate_model
from ..spec.resolve import _IDENT, RawNet, RawNode
from ..types import TensorType, fmt_shape
from .ir import LayerGraph, Node

DEFAULT_MAX_PARAMS = 2**31  # ~8.6 GB of float32 weights
DEFAULT_MAX_ACTIVATION = 2**28  # elements of one node's output for one sample (1 GB float32)


def max_params() -> int:
    """Most parameters a network may have (``SPECC_MAX_PARAMS`` raises it)."""
    return env_limit("SPECC_MAX_PARAMS", DEFAULT_MAX_PARAMS)


def max_activation() -> int:
    """Most elements one node may output per sample (``SPECC_MAX_ACTIVATION`` raises it)."""
    return env_limit("SPECC_MAX_ACTIVATION", DEFAULT_MAX_ACTIVATION)


def _check_activation(label: str, t: TensorType, path: Any, limit: int) -> None:
    """Refuse a per-sample tensor above ``limit`` elements (dynamic axes count as 1)."""
    n = 1
    for d in t.shape:
        n *= d if isinstance(d, int) and d > 0 else 1
    if n > limit:
        raise SpecError(
            f"{label} {fmt_shape(t.shape)} has {n:,} elements per sample "
            f"({n * 4 / 1e9:,.1f} GB as float32), above the limit of {limit:,}", path=path,
            hint="refused before allocating anything; set SPECC_MAX_ACTIVATION to raise the "
            "limit")


def compile_net(raw: RawNet, layers: Registry) -> LayerGraph:
    """Validate, order and type one network; raises SpecError listing every problem found."""
    errors: list[SpecError] = []
    nodes: dict[str, Node] = {}
    invalid: set[str] = set()  # nodes already reported; references to them are not errors
    for rn in raw.nodes:
        node = _validate_node(rn, layers, errors)
        if node is None:
            invalid.add(rn.name)
            continue
        if rn.name in nodes or rn.name in raw.inputs:
            errors.append(SpecError(f"duplicate node name '{rn.name}'", path=rn.src,
                                    hint="node names must be unique (inputs included)"))
            continue
        nodes[rn.name] = node
    inputs: dict[str, TensorType] = {}
    for name, (shape, dtype, _path) in raw.inputs.items():
        # images (C, H, W) and volumes are channels-first; vectors and sequences (T, F) last
        inputs[name] = TensorType(tuple(shape), dtype, 0 if len(shape) >= 3 else -1)
    _check_references(raw, nodes, inputs, errors, invalid)
    if errors or invalid:  # invalid without errors: reported by the resolver ($param)
        raise SpecError.collect(errors)
    order = _toposort(raw, nodes)
    graph = LayerGraph(raw.name, inputs, {n: nodes[n] for n in order}, raw.outputs, raw.src)
    infer_shapes(graph, layers)
    return graph


def _validate_node(rn: RawNode, layers: Registry, errors: list[SpecError]) -> Node | None:
    if not _IDENT.match(rn.name.replace(".", "_")):
        errors.append(SpecError("node names must be identifiers (letters, digits, _)",
                                path=rn.src, received=rn.name))
        return None
    canon = layers.canonical(rn.kind)
    if canon is None:
        err = layers.unknown(rn.kind)
        errors.append(SpecError(err.issues[0].message, path=rn.src, hint=err.issues[0].hint))
        return None
    kind = layers.get(canon)
    params, errs = validate_model(kind.Params, rn.params, rn.src)
    if params is None:  # errs may be empty when only an undefined $param was involved
        errors.extend(errs)
        return None
    n_in = len(rn.inputs)
    lo, hi = kind.min_inputs, kind.max_inputs
    if n_in < lo or (hi is not None and n_in > hi):
        want = str(lo) if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
        errors.append(SpecError(f"{rn.name} ({canon}): takes {want} input(s)", path=rn.src,
                                received=f"{n_in}: {', '.join(rn.inputs) or 'none'}"))
        return None
    return Node(rn.name, canon, params, list(rn.inputs), rn.src, rn.share, rn.trainable)


def _check_references(raw: RawNet, nodes: dict[str, Node], inputs: dict[str, TensorType],
                      errors: list[SpecError], invalid: set[str]) -> None:
    known = set(nodes) | set(inputs)
    for node in nodes.values():
        for ref in node.inputs:
            if ref not in known and ref not in invalid:
                hint = did_you_mean(ref, known)
                errors.append(SpecError(f"{node.name}: input '{ref}' is not a node or input",
                                        path=node.src + ("in",) if "in" not in node.src else node.src,
                                        hint=hint or f"known: {', '.join(sorted(known))}"))
        if node.share is not None:
            target = nodes.get(node.share)
            if target is None:
                errors.append(SpecError(f"{node.name}: 'share' names unknown node '{node.share}'",
                                        path=node.src + ("share",),
                                        hint=did_you_mean(node.share, nodes)))
            elif target.kind != node.kind:
                errors.append(SpecError(
                    f"{node.name}: can only share weights with a node of the same kind",
                    path=node.src + ("share",), received=f"{node.share} is {target.kind}"))
            elif target.share is not None:
                errors.append(SpecError(
                    f"{node.name}: shares with '{node.share}', which itself shares; name the "
                    f"owner '{target.share}'", path=node.src + ("share",)))
    if not raw.outputs:
        errors.append(SpecError("the network has no outputs", path=raw.src or ("outputs",)))
    seen: set[str] = set()
    for i, out in enumerate(raw.outputs):
        where = raw.src + ("outputs", i)
        if out in seen:
            errors.append(SpecError(f"output '{out}' is listed twice", path=where,
                                    hint="each output is named once"))
        elif out in inputs:
            errors.append(SpecError(f"output '{out}' is an input, not computed by the network",
                                    path=where, hint="outputs name nodes; add a layer"))
        elif out not in known and out not in invalid:
            errors.append(SpecError(f"output '{out}' is not a node or input",
                                    path=where, hint=did_you_mean(out, known)))
        seen.add(out)


def _toposort(raw: RawNet, nodes: dict[str, Node]) -> list[str]:
    """Kahn's algorithm, stable in declaration order; a cycle is a SpecError naming it."""
    deps = {n: [i for i in node.inputs if i in nodes] for n, node in nodes.items()}
    for n, node in nodes.items():
        if node.share in nodes and node.share != n:
            deps[n].append(node.share)  # the owner builds first
    indeg = {n: len(d) for n, d in deps.items()}
    users: dict[str, list[str]] = {n: [] for n in nodes}
    for n, d in deps.items():
        for i in d:
            users[i].append(n)
    ready = [n for n in nodes if indeg[n] == 0]
    order: list[str] = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for u in users[n]:
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.append(u)
    if len(order) != len(nodes):
        stuck = [n for n in nodes if n not in set(order)]
        cycle = _find_cycle(stuck, deps)
        raise SpecError(f"the graph has a cycle: {' -> '.join(cycle)}",
                        path=nodes[cycle[0]].src, hint="'in:' references must not loop")
    return order


def _find_cycle(stuck: list[str], deps: dict[str, list[str]]) -> list[str]:
    start = stuck[0]
    path, seen = [start], {start}
    cur = start
    while True:
        nxt = next(d for d in deps[cur] if d in stuck)
        if nxt in seen:
            return path[path.index(nxt):] + [nxt]
        path.append(nxt)
        seen.add(nxt)
        cur = nxt


def infer_shapes(graph: LayerGraph, layers: Registry) -> None:
    """Type every node; errors name the node, its kind, the expectation and the producers."""
    errors: list[SpecError] = []
    total = 0
    limit = max_params()
    act_limit = max_activation()
    for name, t in graph.inputs.items():
        _check_activation(f"input '{name}'", t, graph.src + ("inputs", name), act_limit)
    failed: set[str] = set()
    for node in graph.nodes.values():
        if any(i in failed for i in node.inputs):
            failed.add(node.name)
            continue
        kind = layers.get(node.kind)
        in_types = [graph.type_of(i) for i in node.inputs]
        try:
            out = kind.infer(node.params, in_types)
            trainable, frozen = kind.count_params(node.params, in_types)
        except SpecError as err:
            failed.add(node.name)
            errors.append(_node_error(node, err, in_types))
            continue
        if kind.feature_axis is not None and out.feature_axis != kind.feature_axis and \
                out.rank > 0 and kind.fuses_activation:
            out = TensorType(out.shape, out.dtype, kind.feature_axis)
        node.type = out
        _check_activation(f"{node.name} ({node.kind}): its output", out, node.src, act_limit)
        if node.share is not None:
            owner = graph.nodes[node.share]
            owner_in = [graph.type_of(i) for i in owner.inputs]
            if [t.shape[-1:] for t in owner_in] != [t.shape[-1:] for t in in_types] or \
                    owner.params != node.params:
                errors.append(SpecError(
                    f"{node.name} ({node.kind}): shares weights with '{owner.name}' but its "
                    f"parameters or input features differ",
                    path=node.src, received=", ".join(fmt_shape(t.shape) for t in in_types)))
            continue
        node.n_trainable = trainable if node.trainable else 0
        node.n_frozen = frozen + (0 if node.trainable else trainable)
        total += trainable + frozen
        if trainable + frozen > limit or total > limit:
            n = trainable + frozen if trainable + frozen > limit else total
            raise SpecError(
                f"{node.name} ({node.kind}): the network would have {n:,} parameters "
                f"({n * 4 / 1e9:,.1f} GB as float32), above the limit of {limit:,}",
                path=node.src, hint="refused before allocating anything; set SPECC_MAX_PARAMS "
                "to raise the limit")
    if errors:
        raise SpecError.collect(errors)


def _node_error(node: Node, err: SpecError, in_types: list[TensorType]) -> SpecError:
    issues = []
    producers = ", ".join(node.inputs)
    for issue in err.issues:
        from dataclasses import replace

        received = issue.received
        if isinstance(received, Shown):  # from shape_error: say where the input came from
            received = Shown(f"{received!r} from {producers}", received.untruncated)
        issues.append(replace(issue, message=f"{node.name} ({node.kind}): {issue.message}",
                              path=node.src + issue.path, received=received))
    return SpecError(issues=issues)

