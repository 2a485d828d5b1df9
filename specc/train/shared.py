"""What several regimes need from one network: running it (frozen parts kept in eval mode,
data-parallel wrapping, augmentation, auxiliary losses), its losses from the registry, metric
sets per output, and the activations at a named node (readouts, feature extraction).

Backprop uses all of it; a regime with its own learning rule (perceptron, least squares,
competitive learning) takes what it needs. Torch is imported inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import SpecError
from ..registry import current

if TYPE_CHECKING:
    import torch

    from .session import Session


class Network:
    """One compiled network as a regime trains it.

    ``net`` is the module (built with logits: fused final softmax/sigmoid left off, see
    ``omitted``); ``model`` is what a training step calls (``net`` wrapped for data-parallel
    training when the session has several processes). Modules whose own parameters are all
    frozen stay in eval mode while training, so their weights and batch-norm statistics stay
    bit for bit.
    """

    def __init__(self, session: Session, graph: Any, net: Any) -> None:
        from ..backends.torch.build import FINAL_PROBABILITY, final_activation

        self.session = session
        self.graph = graph
        self.net = net
        self.model = net
        self.omitted: dict[str, str | None] = {}
        self.final: dict[str, str | None] = {}
        for out in graph.outputs:
            node = graph.nodes.get(out)
            fused = node.activation if node is not None else None
            self.omitted[out] = fused if fused in FINAL_PROBABILITY else None
            self.final[out] = final_activation(graph, out)
        self.modules = list(net.modules())
        self.frozen = [m for m in self.modules if _all_frozen(m)]
        self.augmenters: dict[str, Any] = {}
        self.input_targets: dict[str, str] = {}  # output -> input it reconstructs (data)

    def wrap(self) -> None:
        """Data-parallel wrapping (DistributedDataParallel) when there are several processes."""
        s = self.session
        if s.dist.active:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.model = DDP(self.net, device_ids=[s.device.index] if s.device.type == "cuda"
                             else None)

    def augment(self, cfg: Any) -> None:
        """Augment the inputs while training, as ``cfg`` (``data.augment``) says."""
        if cfg is not None:
            from ..data.augment import Augmenter

            self.augmenters = {n: Augmenter(cfg, t, n) for n, t in self.graph.inputs.items()}

    def train_mode(self) -> None:
        """Train mode, with the frozen parts in eval mode."""
        self.model.train()
        for m in self.frozen:
            m.eval()

    def forward(self, batch: Any, train: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        """(outputs, targets) of a batch: outputs by graph output (logits where a final
        activation was left off), targets with reconstruction targets (the clean input)
        added. ``train``: augment, and run the data-parallel model."""
        import torch

        gen = self.session.generator
        channels_last = self.session.channels_last
        xs, clean = [], {}
        for name in self.graph.inputs:
            x = batch.inputs[name]
            aug = self.augmenters.get(name) if train else None
            if aug is not None:
                x = aug.apply_geometric(x, gen)
                clean[name] = x
                x = aug.apply_noise(x, gen)
            else:
                clean[name] = x
            if channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            xs.append(x)
        for m in self.modules:  # the auxiliary losses are those set by this forward
            if getattr(m, "aux_loss", None) is not None:
                m.aux_loss = None
        out = (self.model if train else self.net)(*xs)
        outs = dict(zip(self.graph.outputs, out if isinstance(out, tuple) else (out,),
                        strict=True))
        targets = dict(batch.targets)
        for o, src in self.input_targets.items():
            targets[o] = clean[src].reshape(outs[o].shape)
        return outs, targets

    def aux_losses(self) -> list[Any]:
        """The auxiliary losses the layers set in the last forward (VAE, sparsity)."""
        return [m.aux_loss for m in self.modules if getattr(m, "aux_loss", None) is not None]

    def value(self, out: str, pred: Any) -> Any:
        """An output as at inference (the omitted probability activation applied)."""
        from .losses import activate

        return activate(pred, self.omitted[out], _axis(self.graph.type_of(out)))

    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Outputs as at inference for preprocessed input tensors."""
        import torch

        self.net.eval()
        dev = self.session.device
        with torch.no_grad():
            out = self.net(*[inputs[n].to(dev) for n in self.graph.inputs])
        outs = dict(zip(self.graph.outputs, out if isinstance(out, tuple) else (out,),
                        strict=True))
        return {o: self.value(o, v) for o, v in outs.items()}


def _all_frozen(m: Any) -> bool:
    """A module whose own parameters are all frozen (run in eval mode while training)."""
    params = list(m.parameters(recurse=False))
    return bool(params) and not any(p.requires_grad for p in params)


def _axis(t: Any) -> int:
    return t.feature_axis % max(t.rank, 1) if t.rank else 0


# -- losses and metrics ---------------------------------------------------------------------


def loss_functions(network: Network, losses: dict[str, Any]) -> dict[str, Any]:
    """The loss function of each output (``losses``: output -> OutputLoss), from the
    registry."""
    from .losses import make_loss

    g = network.graph
    return {o: make_loss(ol.loss, g.type_of(o), network.omitted[o], network.final[o])
            for o, ol in losses.items()}


def output_kind(graph: Any, out: str, loss: str | None, prep: Any, device: Any) -> Any:
    """How metrics read output ``out``: its classes (from the prepared targets), binary
    (a 0/1 or signed loss) or values in the targets' units."""
    import torch

    from .metrics import OutputKind

    axis = _axis(graph.type_of(out))
    if out in prep.classes:
        return OutputKind("multiclass", prep.classes[out], axis)
    targets = current().losses.get(loss).targets if loss else None
    if targets in ("binary", "signs"):  # 0/1 against probabilities, or signed scores
        return OutputKind("binary", 2, axis, 0.5 if targets == "binary" else 0.0)
    kind = OutputKind("regression", axis=axis)
    ts = prep.target_scale.get(out)
    if ts:
        kind.scale = torch.tensor(ts["scale"], dtype=torch.float64, device=device)
        kind.shift = torch.tensor(ts["shift"], dtype=torch.float64, device=device)
    return kind


def metric_sets(cfg: Any, graph: Any, losses: dict[str, str | None], prep: Any,
                device: Any) -> dict[str, Any]:
    """A :class:`~specc.train.metrics.MetricSet` of ``train.metrics`` per output
    (``losses``: output -> loss name or None); a metric the output cannot give is a
    SpecError at ``train.metrics[i]``."""
    from .metrics import MetricSet, task_mismatch

    sets = {}
    for out, loss in losses.items():
        kind = output_kind(graph, out, loss, prep, device)
        for i, ch in enumerate(cfg.metrics):
            need = task_mismatch(ch, kind)
            if need is not None:
                how = f"is trained with {loss}" if loss else "gives values"
                raise SpecError(f"metric '{ch.name}' needs a {need} output; output '{out}' "
                                f"{how}", path=("train", "metrics", i))
        sets[out] = MetricSet(list(cfg.metrics), kind, device)
    return sets


def logs(loss: float | None, sets: dict[str, Any]) -> dict[str, float]:
    """``loss`` (when given) and each set's metrics (prefixed by the output when several)."""
    out = {} if loss is None else {"loss": loss}
    for o, ms in sets.items():
        prefix = "" if len(sets) == 1 else f"{o}_"
        out.update({prefix + k: v for k, v in ms.compute().items()})
    return out


def reduce_sums(session: Session, sums: list[float], sets: dict[str, Any]) -> list[float]:
    """Scalar running sums and metric sets added over processes (every process calls it)."""
    if not session.dist.active:
        return sums
    import torch
    import torch.distributed as dist

    from .metrics import all_reduce

    t = torch.tensor(sums, dtype=torch.float64, device=session.device)
    dist.all_reduce(t)
    all_reduce(list(sets.values()))
    return [float(v) for v in t]


# -- activations at a node ----------------------------------------------------------------


def features(model: Any, graph: Any, node: str, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """The value of node ``node`` (its fused activation applied) when ``model``, a network of
    ``graph``, runs on ``inputs`` (by graph input); the layers after it do not run. A graph
    input's name gives that input."""
    from ..backends.torch.build import apply_activation, attr_name

    if node in graph.inputs:
        return inputs[node]
    if node not in graph.nodes:
        raise SpecError(f"the network has no node '{node}'",
                        hint="nodes: " + ", ".join(graph.nodes))
    model = getattr(model, "module", model)
    owner = graph.nodes[node].share or node
    calls = [n for n, v in graph.nodes.items() if (v.share or n) == owner]
    module = model.get_submodule(attr_name(owner))
    seen: list[Any] = []

    class _Stop(Exception):
        pass

    def hook(_m: Any, _args: Any, output: Any) -> None:
        seen.append(output)
        if calls[len(seen) - 1] == node:
            raise _Stop  # nothing after this node is needed

    handle = module.register_forward_hook(hook)
    try:
        model(*[inputs[n] for n in graph.inputs])
    except _Stop:
        pass
    finally:
        handle.remove()
    return apply_activation(model, graph, node, seen[-1])
