"""``greedy_layerwise``: a deep belief network's training, in phases inside one run.

A deep belief network is a stack of ``rbm`` nodes with a head on top. Phase ``i`` trains the
``i``-th rbm with ``contrastive_divergence`` on the activations arriving at it (through the
rbms below, already trained, whose forward is p(h|v)); the last phase fine-tunes the whole
network, usually with ``backprop``. One run folder, one ``metrics.csv`` (a ``phase`` column,
epochs numbered across phases) and exact resume in any phase: see
:mod:`specc.train.composite`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import Field, PrivateAttr

from ..errors import PathT, SpecError, did_you_mean
from .composite import SHARED, CompositeConfig, CompositeRegime

#: The regime of a pretraining phase written in the short form.
PRETRAIN_REGIME = "contrastive_divergence"
#: The layer kind a pretraining phase trains.
RBM = "rbm"


class GreedyConfig(CompositeConfig):
    """Greedy layer-wise pretraining of rbm nodes, then fine-tuning."""

    phases: list[dict[str, Any]] = Field(
        default_factory=list, description="Long form: the phases in order, each a train: "
        "section of its own regime; a pretraining phase names its rbm (node: NAME).")
    pretrain: dict[str, Any] | None = Field(
        None, exclude=True, description="Short form: {nodes: [rbm1, rbm2, ...], and "
        "contrastive_divergence fields (k, lr, momentum, weight_decay, epochs, ...)}: one "
        "contrastive_divergence phase per node, in graph order, each with these fields.")
    finetune: dict[str, Any] | None = Field(
        None, exclude=True, description="Short form: the last phase, a train: section of its "
        "own regime (default backprop, e.g. {loss: cross_entropy, optimizer: adam, epochs: "
        "40}) training the whole network; leave it out to stop after pretraining.")
    _expanded: bool = PrivateAttr(False)

    def cross_check(self) -> list[SpecError]:
        short = self.pretrain is not None or self.finetune is not None
        if short and self.phases and not self._expanded:
            return [SpecError("give either the phases or 'pretrain' and 'finetune', not both",
                              path=("phases",), hint="the short form expands to the phases")]
        if short and not self._expanded:
            nodes = (self.pretrain or {}).get("nodes")
            if self.pretrain is not None and not (
                    isinstance(nodes, list) and nodes and all(isinstance(n, str) for n in nodes)):
                return [SpecError("list the rbm nodes to pretrain, in graph order",
                                  path=("pretrain", "nodes"),
                                  received=nodes if nodes is not None else "nothing",
                                  hint="e.g. pretrain: {nodes: [rbm1, rbm2], epochs: 30}")]
            self.phases = self._short_phases()
            self._expanded = True
        if not self.phases:
            return [SpecError("give the pretraining and fine-tuning: 'pretrain' and 'finetune' "
                              "(or the phases)", path=("pretrain",),
                              hint="pretrain: {nodes: [rbm1, rbm2], epochs: 30}, finetune: "
                              "{loss: cross_entropy, epochs: 40}")]
        return self._unique([self._short_path(e) for e in super().cross_check()])

    def _short_phases(self) -> list[dict[str, Any]]:
        """The phases the short form stands for, with the shared fields inherited."""
        shared = self.model_dump(mode="json", include=set(SHARED), exclude_unset=True)
        pre = dict(self.pretrain or {})
        nodes = pre.pop("nodes", None) or []
        phases = [{**shared, "regime": PRETRAIN_REGIME, **pre, "node": n} for n in nodes]
        if self.finetune is not None:
            phases.append({**shared, "regime": "backprop", **self.finetune})
        return phases

    def _short_path(self, err: SpecError) -> SpecError:
        """An error of an expanded phase at the field the user wrote (``pretrain.lr``)."""
        if not self._expanded:
            return err
        n = len(self.phases) - (self.finetune is not None)
        issues = []
        for issue in err.issues:
            path = issue.path
            if len(path) >= 2 and path[0] == "phases" and isinstance(path[1], int):
                i, rest = path[1], path[2:]
                section, where = ("pretrain", self.pretrain) if i < n else \
                    ("finetune", self.finetune)
                if i < n and rest[:1] == ("node",):
                    path = ("pretrain", "nodes", i)
                elif rest and rest[0] in (where or {}):
                    path = (section, *rest)
                elif rest and rest[0] in SHARED:
                    path = rest
                else:
                    path = (section,)
            issues.append(replace(issue, path=path))
        return SpecError(issues=issues)

    @staticmethod
    def _unique(errs: list[SpecError]) -> list[SpecError]:
        """Each issue once (an inherited field is checked in every phase)."""
        seen: set[tuple[Any, ...]] = set()
        out = []
        for err in errs:
            issues = [i for i in err.issues if (i.path, i.message) not in seen]
            seen.update((i.path, i.message) for i in issues)
            if issues:
                out.append(SpecError(issues=issues))
        return out

    def node_path(self, index: int) -> PathT:
        """Where the spec names the rbm of pretraining phase ``index``."""
        return ("pretrain", "nodes", index) if self._expanded else ("phases", index, "node")

    def check_networks(self, networks: dict[str, Any], layers: Any) -> list[SpecError]:
        """Every pretraining phase (one with a ``node`` field) names an rbm node of the
        network, the rbms in graph order."""
        if len(networks) != 1 or len(self._configs) != len(self.phases):
            return []  # several networks: the phases' regimes say; a bad phase: reported
        graph = next(iter(networks.values()))
        order = list(graph.nodes)
        rbms = ", ".join(n for n, v in graph.nodes.items() if v.kind == RBM) or "none"
        errs: list[SpecError] = []
        last: tuple[int, str] | None = None
        for i, cfg in enumerate(self._configs):
            if "node" not in type(cfg).model_fields:
                continue  # the fine-tune
            node, path = cfg.node, self.node_path(i)
            if node is None:
                errs.append(SpecError(f"phase {i + 1} must name the rbm it pretrains",
                                      path=path, hint=f"rbm nodes: {rbms}"))
            elif node not in graph.nodes:
                errs.append(SpecError(f"the network has no node '{node}'", path=path,
                                      hint=did_you_mean(node, order) or f"rbm nodes: {rbms}"))
            elif graph.nodes[node].kind != RBM:
                errs.append(SpecError(f"regime '{self.regime}' pretrains rbm nodes; '{node}' is "
                                      f"a {graph.nodes[node].kind}", path=path, received=node,
                                      hint=f"rbm nodes: {rbms}"))
            elif last is not None and order.index(node) <= last[0]:
                errs.append(SpecError(f"'{node}' does not come after '{last[1]}' in the network: "
                                      "the rbms are pretrained bottom-up, in graph order",
                                      path=path, received=node, hint=f"in graph order: {rbms}"))
            else:
                last = (order.index(node), node)
        return errs


class GreedyLayerwise(CompositeRegime):
    """Greedy layer-wise pretraining of rbm nodes (a deep belief network), then fine-tuning.

    Phases inside one run: one per rbm of the stack, bottom-up, then one training the whole
    network.

    Short form (expands to one contrastive_divergence phase per node, then the fine-tune)::

        train:
          regime: greedy_layerwise
          data: {dataset: digits, split: {val: 0.2, seed: 0}, scale: unit}
          pretrain: {nodes: [rbm1, rbm2], epochs: 30, k: 1, lr: 0.05, batch_size: 20}
          finetune: {regime: backprop, loss: cross_entropy, optimizer: adam, epochs: 40}

    Long form: ``phases:``, as every composite regime (a phase per rbm with its own settings,
    ``node: NAME``, then the fine-tune). The shared fields (data, seed, checkpoint, metrics,
    batch_size, target) are inherited by every phase that does not set them; put ``metrics``
    in the fine-tune. Phase i trains the i-th rbm on the activations arriving at it, which
    pass through the rbms already trained (their forward is p(h|v)); before it starts, that
    rbm's data-dependent initialisation (visible bias from the data) is redone on those
    activations. The fine-tune starts from every pretrained weight. metrics.csv has a phase
    column; a run killed in any phase resumes there exactly; evaluation and prediction use
    the last phase's regime.
    """

    name = "greedy_layerwise"
    Config = GreedyConfig

    def handoff(self, done: Any, nxt: Any) -> None:
        """The next phase starts from ``done``'s weights; the rbm it pretrains is first
        initialised from the data as it now arrives there (through the trained rbms)."""
        from .data_init import initialize_from_data

        node = getattr(nxt.cfg, "node", None)
        if node is not None and done.models:
            initialize_from_data(done, only=(node,))
        super().handoff(done, nxt)
