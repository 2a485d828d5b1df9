"""``contrastive_divergence``: Gibbs-sampling training of an energy-based node (``rbm``,
``boltzmann_machine``: any kind whose module is an :class:`~specc.layers.energy.EnergyModel`).

The network runs up to the chosen ``node`` without gradients; the visible vector of a step is
the activations arriving at it, followed (for a node that is a graph output with a read-out,
as a Boltzmann machine) by the training targets of that output. Each step:

- positive phase: the model's statistics with the visible units clamped to the batch
  (a Boltzmann machine turns each clamped 1 off with probability ``clamp_noise`` and each
  clamped 0 on with a third of it, and settles its hidden units with ``sweeps`` Gibbs sweeps);
- negative phase: ``k`` Gibbs sweeps from the data (CD-k) or from persistent chains kept
  between steps (``persistent``: PCD, ``chains`` of them);
- ``velocity = momentum * velocity + lr * (data - model - weight_decay * w)`` (no decay on
  biases: parameters of one axis), ``w += velocity``, then the model's constraints.

``lr`` decays by ``lr_decay`` per epoch; ``momentum`` is a constant or ``{start, final,
after}``. All sampling draws from a generator of the regime, saved in ``last`` with the chains
and velocities, so a resumed run ends bit for bit where an uninterrupted one does.
``restarts: R`` trains R machines side by side from different seeds (same data order); after
every epoch the one with the highest exact log-likelihood of the training split (when the
model can enumerate its states) or else the lowest reconstruction error is the network's node,
and each machine's figure is a column of the metrics rows (``restart_<i>``).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..errors import SpecError, did_you_mean
from ..spec.choices import Section
from ..spec.training import EpochConfig
from .epoch import EpochRegime

if TYPE_CHECKING:
    import torch


class MomentumSchedule(Section):
    """Momentum ``start`` for the first ``after`` epochs, then ``final``."""

    start: float = Field(ge=0, lt=1, description="Momentum of the first epochs.")
    final: float = Field(ge=0, lt=1, description="Momentum from epoch `after` on.")
    after: int = Field(ge=0, description="Epochs at the start momentum.")


class ContrastiveDivergenceConfig(EpochConfig):
    """The ``train:`` section of ``regime: contrastive_divergence``."""

    node: str | None = Field(None, description="The energy node to train (an rbm or "
                             "boltzmann_machine; default: the network's only one).")
    k: int = Field(1, ge=1, description="Gibbs sweeps of the negative phase (CD-k).")
    persistent: bool = Field(False, description="Persistent CD: the negative chains carry "
                             "over between steps instead of starting from the data.")
    chains: int | None = Field(None, ge=1, description="Persistent chains (default: the "
                               "batch size).")
    lr: float = Field(0.1, gt=0, allow_inf_nan=False, description="Learning rate.")
    lr_decay: float = Field(1.0, gt=0, le=1, description="Learning rate multiplied by this "
                            "after every epoch (1: constant).")
    momentum: float | MomentumSchedule = Field(
        0.0, description="Momentum in [0, 1), or {start, final, after} (start for the first "
        "`after` epochs, then final).")
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False, description="L2 decay of the "
                                "weights (not the biases).")
    clamp_noise: float = Field(0.0, ge=0, lt=0.5, description="Noisy clamping in a Boltzmann "
                               "machine's positive phase: a clamped 1 is turned off with this "
                               "probability, a clamped 0 on with a third of it (0.15: Ackley, "
                               "Hinton and Sejnowski's 0.15 / 0.05).")
    sweeps: int = Field(3, ge=1, description="Gibbs sweeps settling the hidden units in the "
                        "positive phase (a Boltzmann machine; an RBM needs none).")
    restarts: int = Field(1, ge=1, description="Machines trained side by side from different "
                          "seeds; the best by exact log-likelihood (else reconstruction "
                          "error) is kept.")
    batch_size: int | Literal["full"] = Field(20, description="Samples per step, or 'full'.")

    def check_networks(self, networks: dict[str, Any], layers: Any) -> list[SpecError]:
        """``node`` (or the only energy node) is an energy node of the network."""
        if len(networks) != 1:
            return []
        try:
            energy_node(next(iter(networks.values())), self.node, layers)
        except SpecError as err:
            return [err]
        return []

    def default_monitor(self, has_val: bool) -> tuple[str, str]:
        if self.early_stopping is not None:
            return super().default_monitor(has_val)
        return ("val_recon_error" if has_val else "recon_error"), "min"


class ContrastiveDivergence(EpochRegime):
    """CD-k / persistent CD with momentum, weight decay, noisy clamping and restarts.

    Trains one energy node (an ``rbm`` or ``boltzmann_machine``) on the activations arriving
    at it (plus a Boltzmann machine's read-out targets); the nodes before it run without
    gradients. Logs ``recon_error`` every epoch (the mean over its steps of each step's figure:
    read off an RBM's CD negative phase, before the update, else a Gibbs round trip after it),
    ``log_likelihood`` when the machine is small enough to enumerate, and with ``restarts``
    each machine's figure (``restart_<i>``) and the one kept (``restart``).
    """

    name = "contrastive_divergence"
    aliases = ("cd",)
    Config = ContrastiveDivergenceConfig
    own_metrics = {"recon_error": "min", "log_likelihood": "max"}

    # -- setup --------------------------------------------------------------------------------
    def build_models(self) -> None:
        s = self.session
        self.graph = s.spec.graph
        self.node = find_energy_node(self.graph, self.cfg.node, s.locate)
        self.net = s.build(logits=False)
        self.models = {self.graph.name: self.net}
        self.nets = [self.net]
        self.module = self._energy(self.net)

    def _energy(self, net: Any) -> Any:
        from ..backends.torch.build import attr_name

        return net.get_submodule(attr_name(self.node))

    def output_targets(self, graph: Any) -> dict[str, Any]:
        """The read-out targets of an energy node that is a graph output wider than what
        arrives at it (a Boltzmann machine's read-out groups), else none."""
        from ..data.prepare import OutputTarget

        width = graph.type_of(graph.nodes[self.node].inputs[0]).shape[-1]
        if self.node not in graph.outputs or self.module.visible_size == width:
            return {}
        return {self.node: OutputTarget(graph.type_of(self.node), None, self.cfg.target)}

    def setup(self) -> None:
        import torch

        self.build_models()
        s, cfg = self.session, self.cfg
        self.data = s.tensor_data(self.graph.inputs, self.output_targets(self.graph))
        self.nets += [s.build(logits=False, seed_offset=r) for r in range(1, cfg.restarts)]
        for net in self.nets:
            net.eval()
        self.machines = [self._energy(net) for net in self.nets]
        #: each machine's parameters, in the order of ``named_parameters()``
        self.params = [dict(m.named_parameters()) for m in self.machines]
        self.velocity = [{n: torch.zeros_like(p) for n, p in m.named_parameters()}
                         for m in self.machines]
        self.chains: list[torch.Tensor | None] = [None] * cfg.restarts
        #: one sampling generator per restart (restart 0 runs as a run without restarts),
        #: and one for the logged reconstruction error
        self.generators = [torch.Generator(device=s.device).manual_seed(cfg.seed + 104729 * r)
                           for r in range(1, cfg.restarts + 2)]
        self.epoch, self.selected = 0, 0
        self.reset_epoch()

    def initialize(self) -> None:
        """Data-dependent initialisation (or the given initial weights) of every restart's
        network; given initial weights leave each restart's energy node as drawn."""
        for r, (net, m) in enumerate(zip(self.nets, self.machines, strict=True)):
            drawn = copy.deepcopy(m.state_dict())
            self.models = {self.graph.name: net}
            super().initialize()
            if r and self.initial_weights is not None:
                m.load_state_dict(drawn)
        self.models = {self.graph.name: self.nets[self.selected]}

    def visible(self, batch: Any, net: Any) -> torch.Tensor:
        """The visible vectors of a batch for ``net``: the activations arriving at the node,
        then the node's targets when it has read-out units."""
        import torch

        from .shared import features

        source = self.graph.nodes[self.node].inputs[0]
        with torch.no_grad():
            x = features(net, self.graph, source, batch.inputs)
        x = x.reshape(len(x), -1).float()
        y = batch.targets.get(self.node)
        return x if y is None else torch.cat([x, y.reshape(len(y), -1).float()], 1)

    # -- steps --------------------------------------------------------------------------------
    def momentum(self) -> float:
        m = self.cfg.momentum
        if isinstance(m, MomentumSchedule):
            return m.start if self.epoch < m.after else m.final
        return float(m)

    def learning_rate(self) -> float:
        return self.cfg.lr * self.cfg.lr_decay ** self.epoch

    def train_step(self, batch: Any) -> float:
        import torch

        cfg = self.cfg
        lr, mom = self.learning_rate(), self.momentum()
        with torch.no_grad():
            for r, (m, gen) in enumerate(zip(self.machines, self.generators, strict=False)):
                v = self.visible(batch, self.nets[r])
                pos = m.data_statistics(v, gen, clamp_noise=cfg.clamp_noise, sweeps=cfg.sweeps)
                if cfg.persistent:
                    start = self.chains[r]
                    if start is None:
                        start = m.init_chains(cfg.chains or len(v), gen)
                else:
                    start = m.chain_start(v, gen)
                neg, end = m.model_statistics(start, cfg.k, gen)
                if cfg.persistent:
                    self.chains[r] = end
                if r == self.selected:
                    err, kept = m.step_reconstruction_error(v), v
                self._update(self.params[r], self.velocity[r], pos, neg, lr, mom)
                m.constrain()
            if err is None:  # no figure from the step: a Gibbs round trip after the update
                err = self.machines[self.selected].reconstruction_error(kept,
                                                                        self.generators[-1])
            err = self.check_finite(err)
        self.err_sum += err * len(kept)
        self.count += len(kept)
        return err

    def _update(self, params: dict[str, torch.Tensor], velocity: dict[str, torch.Tensor],
                pos: dict[str, torch.Tensor], neg: dict[str, torch.Tensor], lr: float,
                mom: float) -> None:
        """velocity = mom * velocity + lr * (pos - neg - weight_decay * w), p += velocity
        (no decay on biases): a few fused calls over all the parameters."""
        import torch

        vel = [velocity[n] for n in params]
        steps = list(torch._foreach_sub([pos[n] for n in params], [neg[n] for n in params]))
        decay = self.cfg.weight_decay
        if decay:
            for i, p in enumerate(params.values()):
                if p.dim() > 1:
                    steps[i] = steps[i] - decay * p
        torch._foreach_mul_(vel, mom)
        torch._foreach_add_(vel, steps, alpha=lr)
        torch._foreach_add_(list(params.values()), vel)

    def reset_epoch(self) -> None:
        self.err_sum, self.count = 0.0, 0

    def running_logs(self) -> dict[str, float]:
        return {"recon_error": self.err_sum / max(self.count, 1)}

    def epoch_logs(self) -> dict[str, float]:
        return {**self.running_logs(), **self._select()}

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch += 1

    def _select(self) -> dict[str, float]:
        """Score every machine on the training split and make the best the network trained,
        saved and evaluated; the figures (``restart_<i>`` columns when there are several)."""
        several = len(self.nets) > 1
        scores = [self.score(net, self.data.train, recon=several) for net in self.nets]
        exact = scores[0]["log_likelihood"] is not None
        key = "log_likelihood" if exact else "recon_error"
        if not (exact or several):  # one machine, nothing to choose or log
            return {}
        figures = [float(sc[key]) for sc in scores]
        pick = max if exact else min
        self.selected = pick(range(len(figures)), key=lambda i: figures[i])
        self.net = self.nets[self.selected]
        self.models = {self.graph.name: self.net}
        logs = {"log_likelihood": figures[self.selected]} if exact else {}
        if several:
            logs["restart"] = float(self.selected)
            logs.update({f"restart_{i}": f for i, f in enumerate(figures)})
        return logs

    def score(self, net: Any, part: Any, recon: bool = True) -> dict[str, float | None]:
        """Reconstruction error (from a fixed seed, so scores compare; None unless ``recon``)
        and exact log-likelihood (None when the model cannot enumerate) of ``net``'s energy
        node on ``part``."""
        import torch

        machine = self._energy(net)
        gen = torch.Generator(device=self.session.device).manual_seed(self.cfg.seed)
        err, ll, n = 0.0, 0.0, 0
        with torch.no_grad():
            for batch in part.batches(1024, self.session.device):
                v = self.visible(batch, net)
                if recon:
                    err += float(machine.reconstruction_error(v, gen)) * len(v)
                exact = machine.exact_log_likelihood(v)
                ll = None if exact is None or ll is None else ll + float(exact) * len(v)
                n += len(v)
        n = max(n, 1)
        return {"recon_error": err / n if recon else None,
                "log_likelihood": None if ll is None else ll / n}

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, split: str) -> dict[str, float]:
        """Reconstruction error and (when exact) log-likelihood of the selected machine, and
        the whole-split metrics (``linear_probe``)."""
        from .metrics import evaluate_split, split_context

        figures = self.score(self.net, self.data.parts[split])
        ctx = split_context(self.data, split, self.predict, self.net)
        return {**{k: v for k, v in figures.items() if v is not None},
                **evaluate_split(list(self.cfg.metrics), ctx)}

    def predict(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The network's outputs (an RBM: p(h|v); a Boltzmann machine: its mean-field
        completion of the read-out groups)."""
        import torch

        self.net.eval()
        dev = self.session.device
        with torch.no_grad():
            out = self.net(*[inputs[n].to(dev) for n in self.graph.inputs])
        return dict(zip(self.graph.outputs, out if isinstance(out, tuple) else (out,),
                        strict=True))

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"machines": [copy.deepcopy(m.state_dict()) for m in self.machines],
                "velocity": [dict(v) for v in self.velocity], "chains": list(self.chains),
                "generators": [g.get_state() for g in self.generators], "epoch": self.epoch,
                "selected": self.selected, "sums": [self.err_sum, self.count]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        dev = self.session.device
        for m, saved in zip(self.machines, state["machines"], strict=True):
            m.load_state_dict(saved)
        self.velocity = [{k: t.to(dev) for k, t in v.items()} for v in state["velocity"]]
        self.chains = [None if c is None else c.to(dev) for c in state["chains"]]
        for g, saved in zip(self.generators, state["generators"], strict=True):
            g.set_state(saved.cpu())
        self.epoch, self.selected = int(state["epoch"]), int(state["selected"])
        self.err_sum, self.count = state["sums"]
        self.net = self.nets[self.selected]
        self.models = {self.graph.name: self.net}


def find_energy_node(graph: Any, name: str | None, locate: Any) -> str:
    """The node ``name``, or the network's only energy node; a located SpecError (at
    ``train.node`` or ``train.regime``) when it is missing or not an energy kind."""
    from ..registry import current

    try:
        return energy_node(graph, name, current().layers)
    except SpecError as err:
        raise locate(err.prefixed(("train",))) from None


def energy_node(graph: Any, name: str | None, layers: Any) -> str:
    """As :func:`find_energy_node`, the error's path inside ``train`` (no file position)."""
    from ..layers.energy import energy_kinds

    kinds = energy_kinds(layers)
    what = " or ".join(sorted(kinds, reverse=True)) or "energy-based"
    need = f"regime 'contrastive_divergence' trains an {what} node"
    energy = [n for n, node in graph.nodes.items() if node.kind in kinds]
    listed = "energy nodes: " + (", ".join(energy) or "none")
    if name is None:
        if len(energy) == 1:
            return energy[0]
        if not energy:
            raise SpecError(f"{need}; this network has none", path=("regime",),
                            hint="add one, or train with another regime")
        raise SpecError(f"{need}; this network has {len(energy)} ({', '.join(energy)}): "
                        "name one", path=("node",), hint=f"node: {energy[0]}")
    node = graph.nodes.get(name)
    if node is None:
        raise SpecError(f"the network has no node '{name}'", path=("node",), received=name,
                        hint=did_you_mean(name, graph.nodes) or listed)
    if node.kind not in kinds:
        raise SpecError(f"{need}; '{name}' is a {node.kind}", path=("node",), received=name,
                        hint=listed)
    return name
