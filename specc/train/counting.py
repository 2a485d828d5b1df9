"""``counting``: fit a ``markov_chain`` by counting (context, next) pairs in the training text.

One pass over the training windows: each window's last ``order - 1`` token ids and the token
after it make one pair index ``context * vocab + next``; a batch's pairs are counted at once
(``torch.unique`` with counts, a bincount over only the pairs that occur, so orders whose
dense table would not fit in memory still count) and merged into the running sorted pairs and
their float64 counts (small batches are held back and merged together). Those two tensors are
the sums the fit loop checkpoints with its cursor (pending batches merged first), so a resumed
run continues mid-accumulation and ends with the same counts. The solve hands the
counts to the chain, which turns them into add-alpha probabilities: the smoothing ``alpha`` is
a property of the model (a field of the ``markov_chain`` node), not of this regime, so the
regime has no fields of its own. ``bits_per_char`` (cross-entropy in bits per token) is logged
for the training split (from the counts) and the held-out split (through the model).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import SpecError
from ..spec.training import FitConfig
from .fit import FitRegime

if TYPE_CHECKING:
    import torch

    from ..graph.ir import LayerGraph, Node


MERGE_EVERY = 1 << 18  # pairs held back before a merge (small batches are merged together)


class CountingConfig(FitConfig):
    """Settings of the ``counting`` regime: the shared ones only (smoothing is the chain's
    ``alpha``). ``batch_size: full`` counts the training split in one batch."""


class Counting(FitRegime):
    """Maximum-likelihood counts of an n-gram ``markov_chain``, with its add-alpha smoothing."""

    name = "counting"
    aliases = ("ngram_counts",)
    Config = CountingConfig
    targets = "labels"
    multiprocess = False  # the sums are sparse (the pairs that occur), not a fixed-size tensor
    own_metrics = {"bits_per_char": "min"}

    # -- setup --------------------------------------------------------------------------------
    def build_models(self) -> None:
        from ..layers._markov_chain_torch import MarkovChainModule

        s = self.session
        self.graph = s.spec.graph
        self.node = find_chain(self.graph, s.locate)
        self.net = s.build(logits=False)
        self.models = {self.graph.name: self.net}
        self.chain = next(m for m in self.net.modules() if isinstance(m, MarkovChainModule))

    def setup(self) -> None:
        from ..data.prepare import load_raw

        self.build_models()
        s, graph, node = self.session, self.graph, self.node
        try:
            raw = load_raw(self.cfg.data)
        except SpecError as err:
            raise s.locate(err) from None
        check_vocab(raw, node, s.locate)  # before the data's own label checks, at the node
        self.data = s.tensor_data(graph.inputs, self.output_targets(graph), raw)
        self.metric_sets()  # a metric the chain cannot give is refused before the pass
        self.net.eval()

    def metric_sets(self) -> dict[str, Any]:
        from .shared import metric_sets

        try:
            return metric_sets(self.cfg, self.graph, {self.node.name: None},
                               self.data.prepared, self.session.device)
        except SpecError as err:
            raise self.session.locate(err) from None

    # -- accumulate and solve -----------------------------------------------------------------
    def begin(self) -> None:
        import torch

        dev = self.session.device
        self.sums = {"pairs": torch.zeros(0, dtype=torch.int64, device=dev),
                     "counts": torch.zeros(0, dtype=torch.float64, device=dev)}
        self.pending: list[torch.Tensor] = []
        self.held = 0

    def accumulate(self, batch: Any) -> None:
        self.pending.append(self.pairs(batch))
        self.held += len(self.pending[-1])
        if self.held >= MERGE_EVERY:
            self.merge()

    def merge(self) -> None:
        """Fold the pending batches' pairs into the sorted pairs and their counts."""
        import torch

        if not self.pending:
            return
        new = torch.cat(self.pending)
        both = torch.cat([self.sums["pairs"], new])
        weights = torch.cat([self.sums["counts"], new.new_ones(len(new), dtype=torch.float64)])
        merged, where = torch.unique(both, sorted=True, return_inverse=True)
        counts = torch.zeros(len(merged), dtype=torch.float64, device=merged.device)
        self.sums = {"pairs": merged, "counts": counts.index_add_(0, where, weights)}
        self.pending, self.held = [], 0

    def state_dict(self) -> dict[str, Any]:
        self.merge()  # the checkpointed sums hold every batch before the cursor
        return super().state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.pending, self.held = [], 0

    def pairs(self, batch: Any) -> torch.Tensor:
        """Pair indices ``context * vocab + next`` of a batch's windows."""
        (name,) = self.graph.inputs
        context = self.chain.context_index(batch.inputs[name])
        return context * self.chain.vocab + batch.targets[self.node.name].long()

    def solve(self) -> dict[str, float]:
        self.merge()
        pairs, counts = self.sums["pairs"], self.sums["counts"]
        self.chain.fit_counts(pairs, counts)
        nats = train_cross_entropy(pairs, counts, self.chain.vocab, self.chain.alpha)
        return {"loss": nats, "bits_per_char": nats / math.log(2),
                "contexts": float(len(self.chain.contexts))}

    # -- inference ----------------------------------------------------------------------------
    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        import torch

        (name,) = self.graph.inputs
        with torch.no_grad():
            out = self.net(inputs[name].to(self.session.device))
        return {self.node.name: out}

    def evaluate(self, split: str) -> dict[str, float]:
        """Cross-entropy of the next token (``loss`` in nats, ``bits_per_char``) and the
        configured metrics."""
        import torch

        from .shared import logs

        sets = self.metric_sets()
        total, count = 0.0, 0
        for batch in self.data.parts[split].batches(max(self.batch_size(), 4096),
                                                      self.session.device):
            probs = self.predict(batch.inputs)[self.node.name]
            y = batch.targets[self.node.name].long()
            total -= float(torch.log(probs.gather(1, y[:, None]).double()).sum())
            count += len(y)
            sets[self.node.name].update(probs, y)
        nats = total / max(count, 1)
        return {**logs(nats, sets), "bits_per_char": nats / math.log(2)}


# -- checks and the training cross-entropy (torch-free at import) ------------------------------


def find_chain(graph: LayerGraph, locate: Any) -> Node:
    """The network's one ``markov_chain`` node: fed by the input, the network's output."""
    chains = [n for n in graph.nodes.values() if n.kind == "markov_chain"]
    if len(chains) != 1:
        raise locate(SpecError(f"counting fits one markov_chain node; the network has "
                               f"{len(chains)}", path=("train", "regime"), received="counting",
                               hint="a network of one markov_chain layer"))
    (node,) = chains
    if node.inputs != list(graph.inputs) or len(graph.nodes) != 1:
        raise locate(SpecError("counting fits a network of one markov_chain layer that reads "
                               "the input token ids", path=node.src,
                               received=f"nodes {', '.join(graph.nodes)}"))
    return node


def check_vocab(raw: Any, node: Node, locate: Any) -> None:
    """The chain's vocabulary must be the data's: a text's characters, or hold every id."""
    import numpy as np

    vocab = node.params.vocab
    if raw.vocab:
        have, what = len(raw.vocab), f"the text has {len(raw.vocab)} distinct characters"
    else:
        ids = np.asarray(raw.arrays["x"])
        if ids.dtype.kind not in "iu" or ids.size == 0:
            return  # not token ids: the data's own checks say so
        have = int(ids.max()) + 1
        what = f"the token ids run up to {have - 1}"
        if have <= vocab:
            return
    if have != vocab:
        raise locate(SpecError(f"the chain's vocabulary does not match the data: {what}",
                               path=(*node.src, "vocab"), received=vocab,
                               hint=f"set vocab: {have}"))


def train_cross_entropy(pairs: torch.Tensor, counts: torch.Tensor, vocab: int,
                        alpha: float) -> float:
    """Mean -ln P(next | context) over the counted pairs, with add-alpha probabilities."""
    import torch

    contexts, row = torch.unique_consecutive(pairs // vocab, return_inverse=True)
    totals = torch.zeros(len(contexts), dtype=torch.float64, device=counts.device)
    totals.index_add_(0, row, counts)
    logp = torch.log((counts + alpha) / (totals[row] + alpha * vocab))
    return float(-(counts * logp).sum() / counts.sum())
