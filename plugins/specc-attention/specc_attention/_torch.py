"""Torch modules behind the attention kinds; imported only by the builders.

Plain matmul/softmax attention (no fused kernels) so the ONNX export has dynamic batch and
sequence axes and matches PyTorch closely.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _linear(n_in: int, n_out: int, bias: bool) -> nn.Linear:
    m = nn.Linear(n_in, n_out, bias=bias)
    nn.init.xavier_uniform_(m.weight)
    if m.bias is not None:
        nn.init.zeros_(m.bias)
    return m


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention over ``(batch, time, features)``."""

    def __init__(self, features: int, num_heads: int, head_dim: int, dropout: float,
                 causal: bool, bias: bool) -> None:
        super().__init__()
        inner = num_heads * head_dim
        self.query = _linear(features, inner, bias)
        self.key = _linear(features, inner, bias)
        self.value = _linear(features, inner, bias)
        self.out = _linear(inner, features, bias)
        self.dropout = nn.Dropout(dropout)
        self.num_heads, self.head_dim, self.causal = num_heads, head_dim, causal
        self.scale = 1.0 / math.sqrt(head_dim)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        return t.unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) * self.scale  # (batch, heads, T, T)
        if self.causal:
            steps = torch.arange(x.shape[1], device=x.device)
            future = steps.unsqueeze(0) > steps.unsqueeze(1)
            scores = scores.masked_fill(future, float("-inf"))
        weights = self.dropout(torch.softmax(scores, dim=-1))
        y = torch.matmul(weights, v).transpose(1, 2).flatten(2)
        return self.out(y)


class PositionalEncoding(nn.Module):
    """Adds sinusoidal (computed for any length) or learned position vectors."""

    def __init__(self, features: int, learned_len: int | None, dropout: float) -> None:
        super().__init__()
        self.features = features
        self.weight = None
        if learned_len is not None:
            self.weight = nn.Parameter(torch.empty(learned_len, features))
            nn.init.normal_(self.weight, std=0.02)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = x.shape[1]
        if self.weight is not None:
            return self.dropout(x + self.weight[:steps])
        half = torch.arange(0, self.features, 2, device=x.device, dtype=x.dtype)
        inv_freq = torch.exp(half * (-math.log(10000.0) / self.features))
        pos = torch.arange(steps, device=x.device, dtype=x.dtype).unsqueeze(1) * inv_freq
        table = torch.stack((torch.sin(pos), torch.cos(pos)), dim=-1).flatten(-2)
        return self.dropout(x + table[:, : self.features])


class EncoderBlock(nn.Module):
    """Attention + feed-forward, each with a residual connection and layer norm."""

    def __init__(self, features: int, num_heads: int, head_dim: int, ffn_dim: int,
                 dropout: float, activation: str, norm_first: bool, causal: bool, eps: float,
                 bias: bool) -> None:
        super().__init__()
        self.attention = SelfAttention(features, num_heads, head_dim, dropout, causal, bias)
        self.norm1 = nn.LayerNorm(features, eps=eps)
        self.norm2 = nn.LayerNorm(features, eps=eps)
        self.ffn = nn.Sequential(
            _linear(features, ffn_dim, bias), nn.GELU() if activation == "gelu" else nn.ReLU(),
            nn.Dropout(dropout), _linear(ffn_dim, features, bias))
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm_first:
            x = x + self.dropout(self.attention(self.norm1(x)))
            return x + self.dropout(self.ffn(self.norm2(x)))
        x = self.norm1(x + self.dropout(self.attention(x)))
        return self.norm2(x + self.dropout(self.ffn(x)))


def encoder(blocks: list[EncoderBlock], final_norm: nn.LayerNorm | None) -> nn.Sequential:
    return nn.Sequential(*blocks, *([final_norm] if final_norm is not None else []))

