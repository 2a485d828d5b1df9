"""The torch module of the ``markov_chain`` kind (kept apart so validation never imports torch)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class MarkovChainModule(nn.Module):
    """Probabilities of the next token after the last ``order - 1`` ids of each row.

    Buffers: ``contexts`` (K,) int64, the sorted indices of the contexts seen in training
    (ids as base-``vocab`` digits, oldest first), and ``probs`` (K + 1, vocab) float32, one row
    per stored context and a last row for every unseen one. Their size follows the data:
    :meth:`fit_counts` sets them, and loading a state dict resizes them to the stored tensors.
    """

    def __init__(self, order: int, vocab: int, alpha: float) -> None:
        super().__init__()
        self.order, self.vocab, self.alpha = order, vocab, alpha
        self.register_buffer("contexts", torch.zeros(0, dtype=torch.int64))
        self.register_buffer("probs", torch.full((1, vocab), 1.0 / vocab))

    def context_index(self, ids: torch.Tensor) -> torch.Tensor:
        """(N, >= order - 1) ids -> (N,) index of the last ``order - 1`` ids (Horner's rule)."""
        ctx = ids[:, ids.shape[1] - (self.order - 1):].long()
        index = ctx[:, 0]
        for i in range(1, self.order - 1):
            index = index * self.vocab + ctx[:, i]
        return index

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        index = self.context_index(ids)
        k = int(self.contexts.shape[0])  # a constant of the exported graph
        unseen = torch.full_like(index, k)
        if k == 0:
            return self.probs[unseen]
        # Binary search unrolled over the sorted contexts (fixed steps, so it exports):
        # ``pos`` ends as the number of stored contexts <= index.
        pos = torch.zeros_like(index)
        step = 1 << (k.bit_length() - 1)
        while step:
            cand = pos + step
            key = self.contexts[(cand - 1).clamp(max=k - 1)]
            pos = torch.where((cand <= k) & (key <= index), cand, pos)
            step >>= 1
        row = (pos - 1).clamp(min=0)
        hit = (pos > 0) & (self.contexts[row] == index)
        return self.probs[torch.where(hit, row, unseen)]

    @torch.no_grad()
    def fit_counts(self, pairs: torch.Tensor, counts: torch.Tensor) -> None:
        """Set the table from counts of (context, next) pairs with add-alpha smoothing.

        ``pairs``: sorted distinct indices context * vocab + next (int64); ``counts``: their
        counts (float64). P(next | context) = (count + alpha) / (total + alpha * vocab), in
        float64, stored as float32."""
        v = self.vocab
        contexts, row = torch.unique_consecutive(pairs // v, return_inverse=True)
        table = torch.zeros(len(contexts), v, dtype=torch.float64, device=pairs.device)
        table.index_put_((row, pairs % v), counts.double(), accumulate=True)
        table += self.alpha
        table /= table.sum(1, keepdim=True)
        self.contexts = contexts
        self.probs = torch.cat([table, torch.full((1, v), 1.0 / v, dtype=torch.float64,
                                                   device=pairs.device)]).float()

    def _load_from_state_dict(self, state: dict[str, Any], prefix: str, metadata: Any,
                              strict: bool, missing: list[str], unexpected: list[str],
                              errors: list[str]) -> None:
        contexts, probs = state.get(prefix + "contexts"), state.get(prefix + "probs")
        if isinstance(contexts, torch.Tensor) and isinstance(probs, torch.Tensor):
            if contexts.dim() != 1 or probs.shape != (len(contexts) + 1, self.vocab):
                errors.append(f"{prefix}probs has shape {tuple(probs.shape)}; a chain over "
                              f"{self.vocab} tokens with {tuple(contexts.shape)} contexts "
                              f"needs ({len(contexts) + 1}, {self.vocab})")
                return
            self.contexts = torch.empty_like(self.contexts).resize_(contexts.shape)
            self.probs = torch.empty_like(self.probs).resize_(probs.shape)
        super()._load_from_state_dict(state, prefix, metadata, strict, missing, unexpected,
                                      errors)
