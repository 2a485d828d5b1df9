"""Resolution: ``--set`` overrides, ``$param`` substitution, blocks with ``repeat``, and the
sequential ``layers:`` form lowered to the graph form. Output: one :class:`RawNet` per network,
still holding unvalidated layer parameters, each node remembering its spec path."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import PathT, SpecError, did_you_mean
from ..limits import env_limit
from ..registry import Registry
from .loader import parse_value

STRUCTURAL = ("op", "in", "share", "trainable", "name", "repeat")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAM_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
DEFAULT_MAX_NODES = 100_000
DEFAULT_MAX_VALUES = 2_000_000


def max_nodes() -> int:
    """Most nodes a spec may expand to (``repeat`` and blocks multiplied out)."""
    return env_limit("SPECC_MAX_NODES", DEFAULT_MAX_NODES)


def max_values() -> int:
    """Most values ``$param`` substitution and block expansion may produce."""
    return env_limit("SPECC_MAX_VALUES", DEFAULT_MAX_VALUES)


class Budget:
    """Counts values produced while resolving; a SpecError once over :func:`max_values`."""

    def __init__(self) -> None:
        self.used = 0
        self.limit = max_values()

    def spend(self, n: int, path: PathT) -> None:
        self.used += n
        if self.used > self.limit:
            raise SpecError(f"the spec expands to over {self.limit:,} values after substituting "
                            "parameters and expanding blocks", path=path,
                            hint="a large $param used many times? set SPECC_MAX_VALUES to raise "
                            "the limit")


def count_values(value: Any) -> int:
    """Number of values in plain data (containers and scalars)."""
    if isinstance(value, dict):
        return 1 + sum(count_values(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(count_values(v) for v in value)
    return 1


@dataclass
class RawNode:
    name: str
    kind: str
    params: dict[str, Any]
    inputs: list[str]
    src: PathT
    share: str | None = None
    trainable: bool = True


@dataclass
class RawNet:
    name: str
    inputs: dict[str, tuple[list[Any], str, PathT]]  # name -> (shape, dtype, path)
    nodes: list[RawNode]
    outputs: list[str]
    src: PathT
    aliases: dict[str, str] = field(default_factory=dict)  # block usage name -> its output


# -- overrides -----------------------------------------------------------------------------------


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``KEY=VALUE`` overrides (dotted keys, list indices as numbers). ``KEY`` may be a bare
    parameter name. The value is read as YAML (so ``5`` is an int). Unknown keys are errors."""
    if not overrides:
        return data
    data = copy.deepcopy(data)
    errors: list[SpecError] = []
    for item in overrides:
        try:
            _apply_one(data, item)
        except SpecError as err:
            errors.append(err)
    if errors:
        from dataclasses import replace

        raise SpecError(issues=[replace(i, file="command line")
                                for e in errors for i in e.issues])
    return data


def _apply_one(data: dict[str, Any], item: str) -> None:
    if "=" not in item:
        raise SpecError("--set takes KEY=VALUE, e.g. train.epochs=3", received=item)
    key, _, text = item.partition("=")
    key = key.strip()
    value = parse_value(text)  # same reading and limits as a value in a spec file
    # an index too long for int() is out of range anyway
    parts: list[str | int] = [(int(p) if len(p) < 19 else 10**18) if p.isascii() and p.isdigit()
                              else p for p in key.split(".") if p != ""]
    if not parts:
        raise SpecError("--set needs a key before '='", received=item)
    params = data.get("params")
    if len(parts) == 1 and isinstance(params, dict) and parts[0] in params:
        parts = ["params", parts[0]]
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        node = _step(node, part, parts[: i + 1], item)
    last = parts[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or last >= len(node):
            raise SpecError(f"--set {key}: index out of range ({len(node)} item(s), indices 0 "
                            f"to {len(node) - 1})", received=last)
        node[last] = value
        return
    if not isinstance(node, dict):
        raise SpecError(f"--set {key}: '{'.'.join(map(str, parts[:-1]))}' is not a mapping")
    if last not in node and not _may_add(parts, node):
        hint = did_you_mean(str(last), [str(k) for k in node])
        raise SpecError(f"--set {key}: the spec has no key '{last}' there", received=item,
                        hint=hint or f"keys there: {', '.join(map(str, node)) or '(none)'}")
    node[last] = value


def _step(node: Any, part: str | int, so_far: list[str | int], item: str) -> Any:
    if isinstance(node, list) and isinstance(part, int):
        if part < len(node):
            return node[part]
        raise SpecError(f"--set: index out of range: '{'.'.join(map(str, so_far[:-1]))}' has "
                        f"{len(node)} item(s) (indices 0 to {len(node) - 1})", received=item)
    if isinstance(node, dict):
        if part in node and isinstance(node[part], (dict, list)):
            return node[part]
        if part in node and node[part] is None:
            node[part] = {}
            return node[part]
        if part not in node and so_far == ["train"] or (so_far[:1] == ["train"] and part not in node):
            node[part] = {}
            return node[part]
        hint = did_you_mean(str(part), [str(k) for k in node]) if isinstance(node, dict) else None
        raise SpecError(f"--set: the spec has no key '{'.'.join(map(str, so_far))}'",
                        received=item, hint=hint)
    raise SpecError(f"--set: '{'.'.join(map(str, so_far))}' is not a mapping or list",
                    received=item)


def _may_add(parts: list[str | int], node: dict[str, Any]) -> bool:
    """New keys are allowed inside layer parameters and the train section (validated later)."""
    return parts[0] in ("train", "layers", "nodes", "networks")


# -- parameters ----------------------------------------------------------------------------------


class Undefined:
    """Stands in for an undefined ``$param`` so later stages don't report it twice."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"${self.name}"



def substitute(value: Any, params: dict[str, Any], path: PathT, errors: list[SpecError],
               budget: Budget | None = None) -> Any:
    """Replace ``$name`` strings with parameter values (recursively). Every value produced is
    counted against ``budget`` (a SpecError when the result grows too large)."""
    budget = budget or Budget()
    budget.spend(1, path)
    if isinstance(value, str):
        m = _PARAM_REF.match(value)
        if m:
            name = m.group(1)
            if name not in params:
                errors.append(SpecError(f"undefined parameter '${name}'", path=path,
                                        hint=did_you_mean(name, params)
                                        or "declare it under 'params:'"))
                return Undefined(name)
            if isinstance(params[name], (dict, list)):
                budget.spend(count_values(params[name]), path)
            return copy.deepcopy(params[name])
        if value.startswith("$") and len(value) > 1 and not value.startswith("$$"):
            errors.append(SpecError("a parameter reference is '$' plus a name", path=path,
                                    received=value))
        return value[1:] if value.startswith("$$") else value
    if isinstance(value, dict):
        return {k: substitute(v, params, path + (k,), errors, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, params, path + (i,), errors, budget) for i, v in enumerate(value)]
    return value


def param_references(value: Any, path: PathT) -> list[tuple[PathT, str]]:
    """``($name`` references, where)`` inside ``value`` (``$$`` escapes excluded)."""
    if isinstance(value, str):
        m = _PARAM_REF.match(value)
        return [(path, m.group(1))] if m else []
    if isinstance(value, dict):
        return [r for k, v in value.items() for r in param_references(v, path + (k,))]
    if isinstance(value, list):
        return [r for i, v in enumerate(value) for r in param_references(v, path + (i,))]
    return []


# -- networks ------------------------------------------------------------------------------------


class Resolver:
    """Lowers a spec's networks to :class:`RawNet` s, collecting all errors."""

    def __init__(self, data: dict[str, Any], layers: Registry) -> None:
        self.data = data
        self.layers = layers
        self.errors: list[SpecError] = []
        self.params = data.get("params") or {}
        self.blocks: dict[str, Any] = data.get("blocks") or {}
        self.budget = Budget()
        self.max_nodes = max_nodes()
        self.n_nodes = 0  # over all networks
        self._sizes: dict[tuple[str, str], int] = {}
        self._expanding: list[str] = []  # blocks being expanded (cycle guard)
        for bname in self.blocks:  # names only: checking aliases would import every kind
            if layers.is_name(bname):
                self.err(f"block name '{bname}' shadows the layer kind of that name",
                         ("blocks", bname))
        for where, ref in param_references(self.params, ("params",)):
            self.err(f"a parameter cannot reference another parameter (${ref})", where,
                     hint="write the value itself; params are plain values")

    def err(self, message: str, path: PathT, **kw: Any) -> None:
        self.errors.append(SpecError(message, path=path, **kw))

    # networks ----------------------------------------------------------------------------------
    def networks(self) -> list[RawNet]:
        d = self.data
        if d.get("networks") is not None:
            nets = d["networks"]
            return [self.network(name, body, ("networks", name)) for name, body in nets.items()
                    if isinstance(body, dict) or self.err("a network is a mapping", ("networks", name))]
        return [self.network(str(d.get("name") or "model"), d, ())]

    def network(self, name: str, body: dict[str, Any], src: PathT) -> RawNet:
        body = substitute({k: v for k, v in body.items() if k in ("inputs", "layers", "nodes",
                                                                  "outputs")},
                          self.params, src, self.errors, self.budget)
        inputs = self.inputs(body.get("inputs"), src + ("inputs",))
        net = RawNet(name, inputs, [], [], src)
        has_layers, has_nodes = body.get("layers") is not None, body.get("nodes") is not None
        if has_layers and has_nodes:
            self.err("use either 'layers' (sequential) or 'nodes' (graph), not both", src)
            return net
        if not has_layers and not has_nodes:
            self.err("the network has no 'layers' or 'nodes'", src or ("layers",))
            return net
        if body.get("layers") == [] or body.get("nodes") == {}:
            key = "layers" if has_layers else "nodes"
            self.err(f"'{key}' is empty: a network needs at least one layer", src + (key,))
            return net
        if has_layers:
            last = self.sequential(net, body["layers"], src + ("layers",), prefix="")
            outs = body.get("outputs")
            net.outputs = self.names_list(outs, src + ("outputs",)) if outs is not None else (
                [last] if last else [])
        else:
            self.graph_nodes(net, body["nodes"], src + ("nodes",), prefix="")
            outs = body.get("outputs")
            if outs is None:
                net.outputs = [net.nodes[-1].name] if net.nodes else []
            else:
                net.outputs = self.names_list(outs, src + ("outputs",))
        for node in net.nodes:  # graph form may name a block usage before defining it
            node.inputs = [net.aliases.get(i, i) for i in node.inputs]
        net.outputs = [net.aliases.get(o, o) for o in net.outputs]
        if not net.inputs and not self.errors:
            self.err("the network declares no inputs", src + ("inputs",),
                     hint="e.g. inputs: {image: [1, 28, 28]}")
        return net

    def names_list(self, value: Any, path: PathT) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        self.err("must be a node name or a list of node names", path, received=value)
        return []

    def inputs(self, value: Any, path: PathT) -> dict[str, tuple[list[Any], str, PathT]]:
        out: dict[str, tuple[list[Any], str, PathT]] = {}
        if value is None:
            return out
        if not isinstance(value, dict):
            self.err("inputs must map names to shapes, e.g. {image: [1, 28, 28]}", path,
                     received=value)
            return out
        for name, spec in value.items():
            p = path + (name,)
            if not _IDENT.match(str(name)):
                self.err("input names must be identifiers (letters, digits, _)", p, received=name)
                continue
            dtype = "float32"
            if isinstance(spec, dict):
                extra = set(spec) - {"shape", "dtype"}
                if extra:
                    self.err(f"unknown field '{sorted(extra)[0]}' in input", p,
                             hint="an input takes 'shape' and 'dtype'")
                dtype = spec.get("dtype", "float32")
                if dtype not in ("float32", "int64", "float64", "float16", "bool"):
                    self.err("dtype must be float32, int64, float64, float16 or bool",
                             p + ("dtype",), received=dtype)
                spec = spec.get("shape")
                p = p + ("shape",)
            if isinstance(spec, int) and not isinstance(spec, bool):
                spec = [spec]
            if not isinstance(spec, list) or not all(
                    d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0)
                    for d in spec):
                self.err("an input shape is a list of positive sizes (null for a dynamic axis), "
                         "batch axis excluded", p, received=spec)
                continue
            out[name] = (spec, dtype, p)
        return out

    # sequential --------------------------------------------------------------------------------
    def sequential(self, net: RawNet, items: Any, path: PathT, prefix: str,
                   first_input: str | None = None,
                   rename: dict[str, str] | None = None) -> str | None:
        """Lower a ``layers:`` list; returns the name of the last node."""
        if not isinstance(items, list):
            self.err("'layers' must be a list of layers", path, received=items)
            return None
        prev = first_input
        if prev is None:
            if items and isinstance(items[0], dict) and len(items[0]) == 1 and \
                    set(items[0]) <= {"input", "Input", "InputLayer"}:
                self.input_item(net, items[0], path + (0,))
                items = [None] + items[1:]
            if len(net.inputs) > 1:
                self.err("the sequential 'layers' form takes one input; use 'nodes' for several",
                         path)
                return None
            prev = next(iter(net.inputs), None)
        counters: dict[str, int] = {}
        local: dict[str, str] = dict(rename or {})  # names usable in `in:` -> node names
        for i, item in enumerate(items):
            if item is None and i == 0:
                continue
            p = path + (i,)
            parsed = self.layer_item(item, p)
            if parsed is None:
                continue
            kind, params, kpath = parsed
            name = params.pop("name", None)
            if name is None:
                counters[kind] = counters.get(kind, 0) + 1
                name = f"{_snake(kind)}_{counters[kind]}"
            local_name, name = str(name), prefix + str(name)
            ins = params.pop("in", None)
            ins = [local.get(x, x) for x in self.names_list(ins, kpath + ("in",))] \
                if ins is not None else ([prev] if prev else [])
            prev = self.add(net, name, kind, params, ins, kpath, prefix)
            local[local_name] = prev
        return prev

    def input_item(self, net: RawNet, item: dict[str, Any], path: PathT) -> None:
        key = next(iter(item))
        spec = item[key] or {}
        if not isinstance(spec, dict) or "shape" not in spec:
            self.err("an 'input' layer needs a shape, e.g. - input: {shape: [1, 28, 28]}",
                     path + (key,), received=spec)
            return
        name = spec.get("name", "input")
        got = self.inputs({name: {k: v for k, v in spec.items() if k != "name"}},
                          path[:-1] + (path[-1], key))
        if net.inputs and not set(got) <= set(net.inputs):
            self.err("the input is declared both in 'inputs' and as an 'input' layer", path)
        net.inputs.update(got)

    def layer_item(self, item: Any, path: PathT) -> tuple[str, dict[str, Any], PathT] | None:
        if isinstance(item, str):
            return item, {}, path
        if isinstance(item, dict) and len(item) == 1:
            kind, params = next(iter(item.items()))
            kpath = path + (kind,)
            if params is None:
                params = {}
            if not isinstance(params, dict):
                self.err(f"parameters of '{kind}' must be a mapping", kpath, received=params)
                return None
            return str(kind), dict(params), kpath
        self.err("a layer is a kind name or a one-key mapping {kind: {params}}", path,
                 received=item)
        return None

    # graph -------------------------------------------------------------------------------------
    def graph_nodes(self, net: RawNet, nodes: Any, path: PathT, prefix: str,
                    rename: dict[str, str] | None = None) -> None:
        if not isinstance(nodes, dict):
            self.err("'nodes' must map node names to {op: KIND, in: ...}", path, received=nodes)
            return
        for name, body in nodes.items():
            p = path + (name,)
            if not isinstance(body, dict):
                self.err("a node is a mapping {op: KIND, in: ..., params...}", p, received=body)
                continue
            body = dict(body)
            kind = body.pop("op", None)
            if not isinstance(kind, str):
                self.err("node needs 'op: KIND'", p, received=kind,
                         hint="e.g. {op: dense, in: x, units: 10}")
                continue
            ins = body.pop("in", None)
            if ins is None:
                self.err("node needs 'in:' naming its input(s)", p)
                continue
            ins = self.names_list(ins, p + ("in",))
            # block bodies arrive with `in:` already resolved (rename); spec-level graphs get
            # the (empty) prefix
            ins = [rename.get(i, i) for i in ins] if rename is not None else \
                [prefix + i for i in ins]
            self.add(net, prefix + str(name), kind, body, ins, p, prefix)

    def add(self, net: RawNet, name: str, kind: str, params: dict[str, Any], ins: list[str],
            path: PathT, prefix: str) -> str:
        """Add one node (or expand a block); returns the name later nodes refer to."""
        ins = [net.aliases.get(i, i) for i in ins]
        if kind in self.blocks:
            return self.expand_block(net, name, kind, params, ins, path)
        repeat = params.pop("repeat", None)
        share = params.pop("share", None)
        if share is not None and not isinstance(share, str):
            self.err("'share' names the node whose weights to reuse", path + ("share",),
                     received=share)
            share = None
        trainable = params.pop("trainable", True)
        if not isinstance(trainable, bool):
            self.err("'trainable' must be true or false", path + ("trainable",), received=trainable)
            trainable = True
        if repeat not in (None, 1):
            return self.repeat_layer(net, name, kind, params, ins, path, repeat, share, trainable)
        if share is not None:
            share = prefix + str(share) if prefix and not str(share).startswith(prefix) else share
        self.reserve(1, path)
        net.nodes.append(RawNode(name, kind, params, ins, path, share, trainable))
        return name

    def reserve(self, n: int, path: PathT) -> None:
        """Count ``n`` more nodes against :func:`max_nodes`, before they are made."""
        if self.n_nodes + n > self.max_nodes:
            raise SpecError(f"the spec expands to {self.n_nodes + n:,} or more nodes, above the "
                            f"limit of {self.max_nodes:,}", path=path,
                            hint="'repeat' and blocks multiply; refused before expanding. Set "
                            "SPECC_MAX_NODES to raise the limit")
        self.n_nodes += n

    def repeat_layer(self, net: RawNet, name: str, kind: str, params: dict[str, Any],
                     ins: list[str], path: PathT, repeat: Any, share: Any, trainable: bool) -> str:
        if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
            self.err("'repeat' must be a positive integer", path + ("repeat",), received=repeat)
            repeat = 1
        if self.n_nodes + repeat > self.max_nodes:
            self.reserve(repeat, path + ("repeat",))
        self.budget.spend(repeat * count_values(params), path)
        prev = ins
        for r in range(repeat):
            self.reserve(1, path)
            n = f"{name}.{r}" if repeat > 1 else name
            net.nodes.append(RawNode(n, kind, dict(params), prev, path, share, trainable))
            prev = [n]
        return prev[0]

    def expand_block(self, net: RawNet, name: str, bname: str, args: dict[str, Any],
                     ins: list[str], path: PathT) -> str:
        block = self.blocks[bname]
        bpath = ("blocks", bname)
        if not isinstance(block, dict):
            self.err("a block is a mapping with params, inputs, nodes/layers, outputs", bpath)
            return name
        unknown = set(block) - {"params", "inputs", "nodes", "layers", "outputs", "description"}
        if unknown:
            self.err(f"unknown field '{sorted(unknown)[0]}' in block", bpath,
                     hint="a block takes params, inputs, nodes or layers, outputs")
            return name
        repeat = args.pop("repeat", 1)
        trainable = args.pop("trainable", True)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
            self.err("'repeat' must be a positive integer", path + ("repeat",), received=repeat)
            repeat = 1
        defaults = block.get("params") or {}
        for k in args:
            if k not in defaults:
                self.err(f"block '{bname}' has no parameter '{k}'", path + (k,),
                         hint=did_you_mean(k, defaults) or
                         f"its parameters: {', '.join(defaults) or '(none)'}")
        bparams = {**self.params, **defaults, **args}
        missing = [k for k, v in bparams.items() if v is None and k in defaults]
        for k in missing:
            self.err(f"block '{bname}' needs a value for parameter '{k}'", path)
        b_inputs = block.get("inputs") or ["x"]
        if isinstance(b_inputs, str):
            b_inputs = [b_inputs]
        if len(b_inputs) != len(ins):
            self.err(f"block '{bname}' takes {len(b_inputs)} input(s)", path,
                     received=f"{len(ins)} input(s)")
            return name
        if repeat > 1 and len(b_inputs) != 1:
            self.err("'repeat' needs a block with exactly one input and one output", path)
            return name
        if bname in self._expanding:  # normally found by block_size first
            loop = self._expanding[self._expanding.index(bname):] + [bname]
            raise SpecError(f"block '{bname}' uses itself: {' -> '.join(loop)}", path=bpath)
        size = self.block_size(bname, args, path, ())
        if self.n_nodes + repeat * size > self.max_nodes:
            self.reserve(repeat * size, path)
        body = substitute({k: block.get(k) for k in ("nodes", "layers", "outputs")}, bparams,
                          bpath, self.errors, self.budget)
        self._expanding.append(bname)
        try:
            return self._expand_body(net, name, bname, body, b_inputs, ins, repeat, trainable)
        finally:
            self._expanding.pop()

    def block_size(self, bname: str, args: dict[str, Any], path: PathT,
                   chain: tuple[str, ...]) -> int:
        """Nodes one use of block ``bname`` expands to (nested blocks and ``repeat`` multiplied
        out), computed without expanding; a block that uses itself is a SpecError naming the
        chain."""
        if bname in chain:
            loop = chain[chain.index(bname):] + (bname,)
            raise SpecError(f"block '{bname}' uses itself: {' -> '.join(loop)}",
                            path=("blocks", bname), hint="a block cannot contain itself, "
                            "directly or through other blocks")
        key = (bname, repr(sorted(args.items(), key=lambda kv: str(kv[0]))))
        if key in self._sizes:
            return self._sizes[key]
        block = self.blocks[bname]
        if not isinstance(block, dict):
            return 1
        defaults = block.get("params") or {}
        bparams = {**self.params, **(defaults if isinstance(defaults, dict) else {}), **args}
        body = block.get("layers")
        if body is None:
            nodes = block.get("nodes")
            body = list(nodes.values()) if isinstance(nodes, dict) else []
        body = substitute(body, bparams, ("blocks", bname), [], self.budget)
        total = 0
        for item in body if isinstance(body, list) else []:
            kind, params = _kind_of(item)
            repeat = params.get("repeat", 1)
            if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
                repeat = 1
            inner = {k: v for k, v in params.items() if k not in STRUCTURAL}
            n = self.block_size(kind, inner, path, chain + (bname,)) \
                if isinstance(kind, str) and kind in self.blocks else 1
            total += repeat * n
            if total > self.max_nodes:
                break  # already too many: no need to count further
        self._sizes[key] = total
        return total

    def _expand_body(self, net: RawNet, name: str, bname: str, body: dict[str, Any],
                     b_inputs: list[str], ins: list[str], repeat: int, trainable: Any) -> str:
        bpath = ("blocks", bname)
        prev = ins
        out = name
        for r in range(repeat):
            prefix = f"{name}.{r}." if repeat > 1 else f"{name}."
            rename = {b: i for b, i in zip(b_inputs, prev, strict=False)}
            before = len(net.nodes)
            if body.get("layers") is not None:
                last = self.sequential(net, body["layers"], bpath + ("layers",), prefix,
                                       first_input=prev[0], rename=rename)
                outs = [last] if last else []
            else:
                inner = {n: {**b, "in": b.get("in")} if isinstance(b, dict) else b
                         for n, b in (body.get("nodes") or {}).items()}
                local = set(inner)
                for node_body in inner.values():
                    if isinstance(node_body, dict) and node_body.get("in") is not None:
                        ref = node_body["in"]
                        refs = [ref] if isinstance(ref, str) else ref
                        if isinstance(refs, list):
                            node_body["in"] = [rename.get(x, prefix + x if x in local else x)
                                               for x in refs]
                self.graph_nodes(net, inner, bpath + ("nodes",), prefix, rename={})
                outs_raw = body.get("outputs") or ([list(inner)[-1]] if inner else [])
                outs = [prefix + o for o in self.names_list(outs_raw, bpath + ("outputs",))]
            if not trainable:
                for node in net.nodes[before:]:
                    node.trainable = False
            if len(outs) != 1:
                self.err(f"block '{bname}' used as a layer must have exactly one output", bpath)
                return name
            prev = outs
            out = outs[0]
        net.aliases[name] = out
        return out


def _kind_of(item: Any) -> tuple[Any, dict[str, Any]]:
    """(kind, parameters) of a ``layers:`` item or a ``nodes:`` body, for size estimates."""
    if isinstance(item, str):
        return item, {}
    if isinstance(item, dict) and "op" in item:
        return item["op"], item
    if isinstance(item, dict) and len(item) == 1:
        kind, params = next(iter(item.items()))
        return kind, params if isinstance(params, dict) else {}
    return None, {}


def _snake(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()
