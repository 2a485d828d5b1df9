"""LayerGraph -> torch.fx.GraphModule with a generated straight-line ``forward``.

Each node becomes a submodule built by its kind; fused activations become submodules too. The
generated code calls them in topological order, so there is no interpreter loop at run time:
the module runs as fast as a hand-written one. Shared weights (``share:``) call the owner's
submodule. ``logits=True`` omits a final softmax/sigmoid on the outputs (for numerically stable
losses); the state dict is the same either way.
"""

from __future__ import annotations

import gc
import keyword
import re
from typing import Any

import torch
from torch import fx, nn

from ...errors import InternalError, SpecError
from ...graph.ir import LayerGraph
from ...layers.activation import batched_axis, make_activation
from ...registry import Registry, current

_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
           "bfloat16": torch.bfloat16}
FINAL_PROBABILITY = ("softmax", "sigmoid")


def _direct_call(act: str, axis: int) -> tuple[Any, dict[str, Any]] | None:
    """(function, kwargs) when the activation entry offers a plain torch function (emitted as
    a direct call: no module-call overhead), else None (a module built by make_activation)."""
    entry = current().activations.get(act)
    fn = entry.function()
    if fn is None:
        return None
    return fn, ({"dim": axis} if entry.uses_axis else {})


def attr_name(node_name: str) -> str:
    """A valid Python attribute name for a node (block nodes contain dots: ``a.0.b`` ->
    ``a__0__b``); names that torch modules already use (``code``, ``graph``, ``forward``,
    ``training``, ...) get a trailing ``_``."""
    name = re.sub(r"\W", "_", node_name.replace(".", "__"))
    return name + "_" if name in _RESERVED or not _usable(name) else name


def _usable(name: str) -> bool:
    """Whether generated code may use ``name`` as is (not a keyword such as ``class`` or
    ``None``, nor ``self``, the generated forward's own argument)."""
    return name.isidentifier() and not keyword.iskeyword(name) and name != "self"


def placeholder_name(input_name: str) -> str:
    """The generated forward's argument for a spec input (``class`` -> ``class_``)."""
    return input_name if _usable(input_name) else input_name + "_"


def activation_attrs(graph: LayerGraph) -> dict[str, str]:
    """Attribute name of each node's fused activation module, never one a node's own module
    (or another activation) uses: node ``h`` with ``leaky_relu`` is ``h_leaky_relu`` unless a
    node is called that, then ``h_leaky_relu_``."""
    taken = {attr_name(n) for n in graph.nodes}
    out: dict[str, str] = {}
    for name, node in graph.nodes.items():
        act = node.activation
        if act is None:
            continue
        attr = f"{attr_name(name)}_{act}"
        while attr in taken:
            attr += "_"
        taken.add(attr)
        out[name] = attr
    return out


def apply_activation(model: nn.Module, graph: LayerGraph, name: str, value: Any) -> Any:
    """Node ``name``'s fused activation on ``value`` as the compiled inference model applies
    it (a direct call for relu/sigmoid/tanh/softmax, else the node's activation module)."""
    fn = activation_fn(model, graph, name)
    return value if fn is None else fn(value)


def activation_fn(model: nn.Module, graph: LayerGraph, name: str) -> Any:
    """The callable :func:`apply_activation` applies for node ``name`` (None: no fused
    activation), resolved once so that callers stepping a network pay no look-ups."""
    node = graph.nodes[name]
    act = node.activation
    if act is None or not current().layers.get(node.kind).fuses_activation:
        return None
    axis = batched_axis(node.type.feature_axis if node.type is not None else -1)
    direct = _direct_call(act, axis)
    if direct is None:
        return model.get_submodule(activation_attrs(graph)[name])
    fn, kwargs = direct
    return (lambda value: fn(value, **kwargs)) if kwargs else fn


class SpeccModule(fx.GraphModule):
    """A compiled network. ``input_names``/``output_names`` follow the spec."""

    input_names: list[str]
    output_names: list[str]


_RESERVED = frozenset(dir(SpeccModule(nn.Module(), fx.Graph()))) | {"input_names", "output_names",
                                                                   "aux_loss"}


def build_module(graph: LayerGraph, *, seed: int | None = 0, logits: bool = False,
                 device: str | torch.device | None = None, dtype: str | torch.dtype | None = None,
                 layers: Registry | None = None, pretrained: Any = None) -> SpeccModule:
    """Compile ``graph`` into a module. ``seed`` makes initialisation deterministic (the global
    torch RNG state is restored afterwards); ``device``/``dtype`` place the parameters;
    ``pretrained`` (a spec's ``pretrained:`` section, see :meth:`Spec.pretrained_for`) loads
    weights into part of it (transfer learning)."""
    layers = layers or current().layers
    if seed is not None:
        rng_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # thousands of new objects: full collections would make compile superlinear
    try:
        root, g = _codegen(graph, layers, logits)
    finally:
        if gc_was_enabled:
            gc.enable()
        if seed is not None:
            torch.random.set_rng_state(rng_state)
    gm = SpeccModule(root, g, class_name=_class_name(graph.name))
    # fx wraps __call__ to decorate tracebacks; a plain nn.Module call is measurably cheaper
    # at batch 1 and the generated code stays readable in tracebacks anyway.
    type(gm).__call__ = nn.Module.__call__
    gm.input_names = list(graph.inputs)
    gm.output_names = list(graph.outputs)
    _freeze(gm, graph)
    if pretrained is not None:
        from .pretrained import apply_pretrained

        apply_pretrained(gm, graph, pretrained)
    if dtype is not None:
        dt = _DTYPES[dtype] if isinstance(dtype, str) else dtype
        gm.to(dtype=dt)
    if device is not None:
        gm.to(device=resolve_device(device))
    return gm


def resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SpecError("device 'cuda' was requested but no CUDA GPU is available",
                        received=device, hint="use --device cpu or --device auto")
    try:
        return torch.device(device)
    except RuntimeError:
        raise SpecError("unknown device", received=device, hint="auto, cpu or cuda") from None


def _class_name(name: str) -> str:
    parts = re.split(r"\W+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p) or "Model"


def _codegen(graph: LayerGraph, layers: Registry, logits: bool) -> tuple[nn.Module, fx.Graph]:
    root = nn.Module()
    seen: dict[str, str] = {}
    for name in graph.nodes:
        attr = attr_name(name)
        if attr in seen:
            raise SpecError(f"node names '{seen[attr]}' and '{name}' collide as module names",
                            hint="rename one of them")
        seen[attr] = name
    g = fx.Graph()
    env: dict[str, fx.Node] = {name: g.placeholder(placeholder_name(name))
                               for name in graph.inputs}
    outputs = set(graph.outputs)
    act_attrs = activation_attrs(graph)
    for name, node in graph.nodes.items():
        kind = layers.get(node.kind)
        in_types = [graph.type_of(i) for i in node.inputs]
        target = attr_name(name)
        if node.share is not None:
            target = attr_name(node.share)
        else:
            try:
                module = kind.build(node.params, in_types)
            except SpecError:
                raise
            except Exception as exc:
                raise InternalError(f"layer kind '{node.kind}' failed to build node "
                                    f"'{name}': {type(exc).__name__}: {exc}") from exc
            if not isinstance(module, nn.Module):
                raise InternalError(f"layer kind '{node.kind}' build() must return an "
                                    f"nn.Module, got {type(module).__name__}")
            root.add_module(target, module)
        value = g.call_module(target, tuple(env[i] for i in node.inputs))
        act = node.activation if kind.fuses_activation else None
        if act is not None and not (logits and name in outputs and act in FINAL_PROBABILITY):
            axis = batched_axis(node.type.feature_axis if node.type is not None else -1)
            direct = _direct_call(act, axis)
            if direct is not None:  # a plain call: no module-call overhead in the hot path
                value = g.call_function(direct[0], (value,), direct[1])
            else:
                act_name = act_attrs[name]
                root.add_module(act_name, make_activation(act, axis))
                value = g.call_module(act_name, (value,))
        env[name] = value
    outs = [env[o] for o in graph.outputs]
    g.output(outs[0] if len(outs) == 1 else tuple(outs))
    return root, g


def _freeze(gm: nn.Module, graph: LayerGraph) -> None:
    for name, node in graph.nodes.items():
        if not node.trainable and node.share is None:
            for p in gm.get_submodule(attr_name(name)).parameters():
                p.requires_grad_(False)


def final_activation(graph: LayerGraph, output: str | None = None) -> str | None:
    """The probability activation (softmax/sigmoid) fused at the end of an output, if any."""
    name = output or graph.outputs[0]
    node = graph.nodes.get(name)
    if node is None:
        return None
    act = node.activation
    if act in FINAL_PROBABILITY:
        return act
    if node.kind in FINAL_PROBABILITY:
        return node.kind
    if node.kind == "activation" and getattr(node.params, "function", None) in FINAL_PROBABILITY:
        return node.params.function
    return None


def count_torch_params(module: nn.Module) -> tuple[int, int]:
    """(trainable, non-trainable) as torch sees them: frozen parameters and buffers (except
    batch-norm step counters) are non-trainable."""
    seen: set[int] = set()
    trainable = frozen = 0
    for p in module.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        if p.requires_grad:
            trainable += p.numel()
        else:
            frozen += p.numel()
    for name, b in module.named_buffers():
        if not name.endswith("num_batches_tracked"):
            frozen += b.numel()
    return trainable, frozen


def example_inputs(graph: LayerGraph, batch: int = 2, seq_len: int = 5,
                   generator: torch.Generator | None = None) -> tuple[Any, ...]:
    """Random inputs matching the graph's declared inputs (dynamic axes get ``seq_len``)."""
    out = []
    for name, t in graph.inputs.items():
        shape = (batch,) + tuple(seq_len if d is None else d for d in t.shape)
        if t.dtype == "int64":
            high = _int_high(graph, name)
            out.append(torch.randint(0, high, shape, generator=generator))
        elif t.dtype == "bool":
            out.append(torch.rand(shape, generator=generator) > 0.5)
        else:
            out.append(torch.rand(shape, generator=generator, dtype=_DTYPES.get(t.dtype,
                                                                                 torch.float32)))
    return tuple(out)


def _int_high(graph: LayerGraph, input_name: str) -> int:
    """Upper bound for random token ids: the smallest ``input_dim`` of consuming layers."""
    highs = []
    for node in graph.nodes.values():
        if input_name in node.inputs:
            dim = getattr(node.params, "input_dim", None)
            if dim:
                highs.append(dim)
    return min(highs) if highs else 2
