"""Loss functions named in ``train.loss``, built for one network output.

A model built with ``logits=True`` leaves a final fused softmax/sigmoid off its outputs. The
loss for such an output receives the logits: cross-entropy and binary cross-entropy then use
the numerically stable forms (``log_softmax``, BCE with logits); other losses apply the
activation first, so they always see what the model outputs at inference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..types import TensorType

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
EPS = 1e-7


def _to_channels(x: torch.Tensor, axis: int) -> torch.Tensor:
    """Move the per-sample feature axis ``axis`` to dim 1 (torch's class axis)."""
    dim = axis + 1 if axis >= 0 else x.dim() + axis
    return x if dim == 1 else x.movedim(dim, 1)


def activate(x: torch.Tensor, act: str | None, axis: int) -> torch.Tensor:
    if act == "softmax":
        return torch.softmax(x, dim=axis + 1 if axis >= 0 else axis)
    if act == "sigmoid":
        return torch.sigmoid(x)
    return x


def make_loss(choice: Any, out: TensorType, omitted: str | None, final: str | None) -> LossFn:
    """The loss ``choice`` (a config Choice) for an output of type ``out``.

    ``omitted`` is the activation the model left off (the prediction is logits), ``final`` the
    probability activation the output ends with at inference (None for a linear output).
    """
    name, p = choice.name, choice.params
    axis = out.feature_axis % max(out.rank, 1) if out.rank else 0
    probabilities = final is not None and omitted is None  # model outputs probabilities

    def value(pred: torch.Tensor) -> torch.Tensor:
        return activate(pred, omitted, axis)

    if name == "mse":
        return lambda pred, y: F.mse_loss(value(pred), y.to(pred.dtype).reshape(pred.shape))
    if name == "mae":
        return lambda pred, y: F.l1_loss(value(pred), y.to(pred.dtype).reshape(pred.shape))
    if name == "huber":
        return lambda pred, y: F.huber_loss(value(pred), y.to(pred.dtype).reshape(pred.shape),
                                            delta=p.delta)
    if name == "cross_entropy":
        def cross_entropy(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if y.is_floating_point():
                y = _to_channels(y.to(pred.dtype), axis)
            if probabilities:
                logp = torch.log(pred.clamp_min(EPS))
                return F.cross_entropy(_to_channels(logp, axis), y,
                                       label_smoothing=p.label_smoothing)
            return F.cross_entropy(_to_channels(pred, axis), y, label_smoothing=p.label_smoothing)

        return cross_entropy
    if name == "binary_cross_entropy":
        def bce(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            y = y.to(pred.dtype).reshape(pred.shape)
            if probabilities:
                return F.binary_cross_entropy(pred.clamp(EPS, 1 - EPS), y)
            return F.binary_cross_entropy_with_logits(pred, y)

        return bce
    if name == "hinge":
        def hinge(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            pred = value(pred)
            if not y.is_floating_point() and pred.dim() >= 2 and pred.shape[-1] > 1 \
                    and y.dim() == pred.dim() - 1:
                scores = _to_channels(pred, axis).movedim(1, -1)
                correct = scores.gather(-1, y.unsqueeze(-1)).squeeze(-1)
                others = scores.scatter(-1, y.unsqueeze(-1), float("-inf")).amax(dim=-1)
                return torch.clamp(p.margin + others - correct, min=0).mean()
            y = y.to(pred.dtype).reshape(pred.shape)
            signs = torch.where(y > 0, 1.0, -1.0).to(pred.dtype)
            return torch.clamp(p.margin - signs * pred, min=0).mean()

        return hinge
    if name == "kl_divergence":
        def kl(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            y = y.to(pred.dtype).reshape(pred.shape)
            if omitted == "softmax":
                logp = torch.log_softmax(pred, dim=axis + 1)
            else:
                logp = torch.log(value(pred).clamp_min(EPS))
            terms = torch.xlogy(y, y) - y * logp
            return terms.sum(dim=axis + 1).mean()

        return kl
    raise KeyError(name)
