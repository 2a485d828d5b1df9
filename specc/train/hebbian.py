"""``hebbian``: store the training patterns in a ``hopfield`` node's weights, in one pass.

The pass collects the distinct targets of the training split (the clean +-1 patterns ``x^mu``,
in order of first appearance; a dataset gives each pattern once or with many probes) and
:meth:`Hebbian.solve` sets the weights by the chosen ``rule`` (in float64):

- ``hebbian``: ``W = sum_mu x^mu x^mu^T`` (not divided by N: integers);
- ``storkey``: Storkey's (1997) incremental rule, pattern by pattern,
  ``W += (x x^T - x h^T - h x^T + 2 W) / N`` with ``h = W x`` (higher capacity);
- ``pseudo_inverse``: the projection rule ``W = X^T (X X^T)^+ X`` (every pattern a fixed point
  while they are linearly independent).

The diagonal is then zeroed. Storkey and pseudo-inverse weights are not integers: they are
scaled by a power of two and rounded to integers whose row sums stay below 2^23 (the sign
dynamics are scale-free; the rounding is ~2^-23 of a field), so every rule keeps the exact
ONNX parity of integer weights; ``weight_scale`` logs the factor (energies are in those
units). Figures on a split: ``recall_overlap``, the mean over probes of ``(1/N) sum_i s_i
x_i`` between the recalled state and the clean pattern; ``perfect_recall``, the fraction of
probes recalled without an error; ``loss``, the fraction of wrong bits (``(1 - overlap)/2``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..errors import SpecError, did_you_mean
from ..spec.training import FitConfig
from .fit import FitRegime

if TYPE_CHECKING:
    import torch

#: Largest row sum of |W| after scaling: every partial sum of W s stays an exact float32 integer.
EXACT = 2.0 ** 23


class HebbianConfig(FitConfig):
    """The ``train:`` section of ``regime: hebbian``."""

    node: str | None = Field(None, description="The hopfield node to store the patterns in "
                             "(default: the only one).")
    rule: Literal["hebbian", "storkey", "pseudo_inverse"] = Field(
        "hebbian", description="Storage rule: hebbian (sum of outer products), storkey or "
        "pseudo_inverse (the projection rule).")


class Hebbian(FitRegime):
    """Store the distinct training targets in a Hopfield network (Hebbian, Storkey or
    pseudo-inverse rule)."""

    name = "hebbian"
    Config = HebbianConfig
    targets = "values"
    own_metrics = {"recall_overlap": "max", "perfect_recall": "max"}

    # -- setup --------------------------------------------------------------------------------
    def build_models(self) -> None:
        from ..backends.torch.build import attr_name
        from .shared import Network

        s = self.session
        self.graph = s.spec.graph
        self.node = find_hopfield(self.graph, self.cfg.node, s.locate)
        self.network = Network(s, self.graph, s.build(logits=True))
        self.net = self.network.net
        self.models = {self.graph.name: self.net}
        self.layer = self.net.get_submodule(attr_name(self.node))
        self.units = int(self.graph.nodes[self.node].params.units)

    def setup(self) -> None:
        self.build_models()
        self.data = self._prepare()
        self.network.input_targets = self.data.prepared.input_targets
        self._check_signs()
        self.metric_sets()  # a metric the output cannot give is refused before the pass
        self.net.eval()

    def _prepare(self) -> Any:
        """The session's tensor data; targets that do not fit the units (class labels) are
        refused saying what a Hopfield network stores."""
        try:
            return self.session.tensor_data(self.graph.inputs, self.output_targets(self.graph))
        except SpecError as err:
            first = err.issues[0]
            if len(err.issues) > 1 or "do not fit output" not in first.message:
                raise
            told = SpecError(issues=[replace(
                first, message=f"a 'hopfield' network stores +-1 patterns of its {self.units} "
                f"units, but the {first.message}", hint="use +-1 patterns as targets "
                "(dataset: random_patterns), or store the inputs with train.target: input")])
            told.source = err.source
            raise told from None

    def _check_signs(self) -> None:
        """Refuse training patterns (and probes read straight from an input) that are not
        +-1."""
        import torch

        source = self.graph.nodes[self.node].inputs[0]
        checked = {f"targets of output '{self.node}'": self.patterns_of(self.data.train)}
        if source in self.graph.inputs:
            checked[f"inputs '{source}'"] = self.data.train.inputs[source]
        for what, v in checked.items():
            bad = v[(v != 1) & (v != -1)]
            if bad.numel():
                raise self.session.locate(SpecError(
                    f"a 'hopfield' network stores and recalls +-1 patterns; the {what} of "
                    "the training split hold other values", path=("train", "data", "dataset"),
                    received=", ".join(f"{x:g}" for x in torch.unique(bad)[:5].tolist()),
                    hint="use +-1 data (dataset: random_patterns), or map each value v to "
                    "+1 (v >= threshold) or -1"))

    def patterns_of(self, part: Any) -> torch.Tensor:
        """The patterns (targets of the hopfield output) of a split or batch, as rows."""
        src = self.network.input_targets.get(self.node)
        y = part.inputs[src] if src else part.targets[self.node]
        return y.reshape(-1, self.units)

    def metric_sets(self) -> dict[str, Any]:
        from .shared import metric_sets

        try:
            return metric_sets(self.cfg, self.graph, {self.node: None}, self.data.prepared,
                               self.session.device)
        except SpecError as err:
            raise self.session.locate(err) from None

    # -- accumulate and solve -----------------------------------------------------------------
    def begin(self) -> None:
        import torch

        self.sums = {"patterns": torch.zeros(0, self.units, dtype=torch.float64,
                                             device=self.session.device)}

    def accumulate(self, batch: Any) -> None:
        import torch

        y = self.patterns_of(batch).double()
        self.sums["patterns"] = distinct_rows(torch.cat([self.sums["patterns"], y]))

    def solve(self) -> dict[str, float]:
        import torch

        patterns = self.sums["patterns"]
        if not len(patterns):
            raise self.session.locate(SpecError("the training split holds no pattern to store",
                                                path=("train", "data"),
                                                hint="train on more data"))
        w, scale = integer_weights(store(patterns, self.cfg.rule), self.cfg.rule == "hebbian")
        if scale < 1:
            self.session.progress.note(
                f"the weights' row sums exceed 2^23: scaled by {scale:g} and rounded to keep "
                "float32 recall exact")
        with torch.no_grad():
            self.layer.weight.copy_(w.to(self.layer.weight))
        return {**self.evaluate("train"), "patterns": float(len(patterns)),
                "load": len(patterns) / self.units, "weight_scale": scale}

    # -- inference ----------------------------------------------------------------------------
    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.network.predict(inputs)

    def evaluate(self, split: str) -> dict[str, float]:
        """Bit error rate (``loss``), ``recall_overlap``, ``perfect_recall`` and the
        configured metrics of the recall of the split's probes."""
        import torch

        from .metrics import evaluate_split, split_context
        from .shared import logs

        sets = self.metric_sets()
        part = self.data.parts[split]
        overlap, perfect, count = 0.0, 0, 0
        self.net.eval()
        with torch.no_grad():
            for batch in part.batches(self.batch_size(), self.session.device):
                outs, targets = self.network.forward(batch, train=False)
                s, y = outs[self.node], targets[self.node].reshape(outs[self.node].shape)
                o = (s.double() * y.double()).mean(-1)
                overlap += float(o.sum())
                perfect += int((o == 1).sum())
                count += len(o)
                sets[self.node].update(s, y)
        n = max(count, 1)
        mean = overlap / n if count else math.nan
        ctx = split_context(self.data, split, self.predict, self.net)
        return {**logs((1 - mean) / 2, sets), "recall_overlap": mean,
                "perfect_recall": perfect / n if count else math.nan,
                **evaluate_split(list(self.cfg.metrics), ctx)}


# -- the rules (torch imported inside) ---------------------------------------------------------


def distinct_rows(rows: torch.Tensor) -> torch.Tensor:
    """The distinct rows of ``rows`` in order of first appearance."""
    import torch

    if not len(rows):
        return rows
    uniq, inverse = torch.unique(rows, dim=0, return_inverse=True)
    first = torch.full((len(uniq),), len(rows), dtype=torch.long, device=rows.device)
    first.scatter_reduce_(0, inverse, torch.arange(len(rows), device=rows.device), "amin")
    return uniq[first.argsort()]


def store(patterns: torch.Tensor, rule: str) -> torch.Tensor:
    """The weight matrix (float64, zero diagonal) storing ``patterns`` (P, N) by ``rule``."""
    import torch

    x = patterns.double()
    n = x.shape[1]
    if rule == "hebbian":
        w = x.T @ x
    elif rule == "storkey":
        w = x.new_zeros(n, n)
        for p in x:
            w.fill_diagonal_(0)
            h = w @ p
            w += (torch.outer(p, p) - torch.outer(p, h) - torch.outer(h, p) + 2 * w) / n
    else:
        w = x.T @ torch.linalg.pinv(x @ x.T, hermitian=True) @ x
    return w.fill_diagonal_(0)


def integer_weights(w: torch.Tensor, integer: bool) -> tuple[torch.Tensor, float]:
    """``w`` scaled by a power of two and rounded so every row sum of |w| is at most 2^23
    (an ``integer`` matrix is kept as it is when it fits); (weights, scale)."""
    import torch

    top = float(w.abs().sum(1).max()) if w.numel() else 0.0
    if top == 0.0:
        return w, 1.0
    k = math.floor(math.log2(EXACT / top))
    if integer and k >= 0:
        k = 0
    scale = 2.0 ** k
    return torch.round(w * scale), scale


def find_hopfield(graph: Any, name: str | None, locate: Any) -> str:
    """The ``hopfield`` node the regime stores in: ``name`` or the only one; it must be an
    output, and no node of the network may have trainable weights."""
    nodes = [n for n, node in graph.nodes.items() if node.kind == "hopfield"]
    if name is None:
        if len(nodes) != 1:
            raise locate(SpecError(
                f"regime 'hebbian' stores patterns in a 'hopfield' node; the network has "
                f"{len(nodes) or 'no'} such node{'s' if len(nodes) != 1 else ''}",
                path=("train", "node") if nodes else ("train", "regime"),
                hint="name one with train.node" if nodes else "- hopfield: {units: N}"))
        name = nodes[0]
    node = graph.nodes.get(name)
    if node is None or node.kind != "hopfield":
        what = f"is '{node.kind}'" if node is not None else "does not exist"
        raise locate(SpecError(f"train.node must name a 'hopfield' node; '{name}' {what}",
                               path=("train", "node"), received=name,
                               hint=did_you_mean(name, nodes) or "hopfield nodes: "
                               + (", ".join(nodes) or "none")))
    if name not in graph.outputs:
        raise locate(SpecError(f"the hopfield node '{name}' is not an output of the network",
                               path=("train", "node"), received=name,
                               hint="outputs: " + ", ".join(graph.outputs)))
    bad = [n for n in graph.nodes.values() if n.n_trainable and n.trainable]
    if bad:
        raise locate(SpecError.collect(SpecError(
            f"node '{n.name}' has trainable weights, but regime 'hebbian' only stores the "
            "hopfield weights", path=n.src, received=f"{n.n_trainable} trainable parameters",
            hint="freeze it with trainable: false") for n in bad))
    return name
