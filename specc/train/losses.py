"""Losses named in ``train.loss`` / ``train.losses``, registry entries (``specc.losses``).

A model built with ``logits=True`` leaves a final fused softmax/sigmoid off its outputs. The
loss for such an output receives the logits: cross-entropy and binary cross-entropy then use
the numerically stable forms (``log_softmax``, BCE with logits); other losses apply the
activation first, so they always see what the model outputs at inference. Pure Python at
import; torch inside the builders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..entries import Loss, LossContext, NoParams
from ..registry import abstract, current
from ..types import TensorType

if TYPE_CHECKING:
    import torch

LossFn = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]
EPS = 1e-7


def make_loss(choice: Any, out: TensorType, omitted: str | None, final: str | None) -> LossFn:
    """The loss ``choice`` (a config choice: ``name``, ``params``) for an output of type
    ``out``; ``omitted``/``final`` as in :class:`specc.entries.LossContext`."""
    entry = current().losses.get(choice.name)
    return entry.build(choice.params, LossContext(out, omitted, final))


def _to_channels(x: torch.Tensor, axis: int) -> torch.Tensor:
    """Move the per-sample feature axis ``axis`` to dim 1 (torch's class axis)."""
    dim = axis + 1 if axis >= 0 else x.dim() + axis
    return x if dim == 1 else x.movedim(dim, 1)


def activate(x: torch.Tensor, act: str | None, axis: int) -> torch.Tensor:
    """``x`` with the omitted probability activation ``act`` applied (None: unchanged)."""
    import torch

    if act == "softmax":
        return torch.softmax(x, dim=axis + 1 if axis >= 0 else axis)
    if act == "sigmoid":
        return torch.sigmoid(x)
    return x


@abstract
class ValueLoss(Loss):
    """A loss on the output's values (the omitted activation applied) against same-shaped
    targets: subclasses give ``fn(value, target, p)``."""

    @classmethod
    def fn(cls, value: torch.Tensor, y: torch.Tensor, p: Any) -> torch.Tensor:
        raise NotImplementedError

    @classmethod
    def build(cls, p: Any, ctx: LossContext) -> LossFn:
        def loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            value = activate(pred, ctx.omitted, ctx.axis)
            return cls.fn(value, y.to(pred.dtype).reshape(pred.shape), p)

        return loss


class MSE(ValueLoss):
    """Mean squared error."""

    name = "mse"
    aliases = ("squared", "squared_error", "mean_squared_error", "MeanSquaredError")

    @classmethod
    def fn(cls, value: torch.Tensor, y: torch.Tensor, p: Any) -> torch.Tensor:
        import torch.nn.functional as F

        return F.mse_loss(value, y)


class MAE(ValueLoss):
    """Mean absolute error."""

    name = "mae"
    aliases = ("absolute", "absolute_error", "mean_absolute_error", "MeanAbsoluteError")

    @classmethod
    def fn(cls, value: torch.Tensor, y: torch.Tensor, p: Any) -> torch.Tensor:
        import torch.nn.functional as F

        return F.l1_loss(value, y)


class HuberParams(NoParams):
    delta: float = Field(1.0, gt=0, description="Where the loss turns from quadratic to linear.")


class Huber(ValueLoss):
    """Huber loss (quadratic below delta, linear above)."""

    name = "huber"
    aliases = ("Huber",)
    Params = HuberParams

    @classmethod
    def fn(cls, value: torch.Tensor, y: torch.Tensor, p: HuberParams) -> torch.Tensor:
        import torch.nn.functional as F

        return F.huber_loss(value, y, delta=p.delta)


class CrossEntropyParams(NoParams):
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="Mass spread over all classes.")


class CrossEntropy(Loss):
    """Categorical cross-entropy with class indices or one-hot/probability targets (on logits
    when the output is softmax)."""

    name = "cross_entropy"
    aliases = ("categorical_cross_entropy", "categorical_crossentropy",
               "sparse_categorical_crossentropy", "CategoricalCrossentropy",
               "SparseCategoricalCrossentropy")
    Params = CrossEntropyParams
    targets = "classes"

    @classmethod
    def build(cls, p: CrossEntropyParams, ctx: LossContext) -> LossFn:
        import torch
        import torch.nn.functional as F

        axis = ctx.axis

        def cross_entropy(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if y.is_floating_point():
                y = _to_channels(y.to(pred.dtype), axis)
            if ctx.probabilities:
                pred = torch.log(pred.clamp_min(EPS))
            return F.cross_entropy(_to_channels(pred, axis), y, label_smoothing=p.label_smoothing)

        return cross_entropy


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy (on logits when the output is sigmoid)."""

    name = "binary_cross_entropy"
    aliases = ("bce", "binary_crossentropy", "BinaryCrossentropy")
    targets = "binary"

    @classmethod
    def build(cls, p: Any, ctx: LossContext) -> LossFn:
        import torch.nn.functional as F

        def bce(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            y = y.to(pred.dtype).reshape(pred.shape)
            if ctx.probabilities:
                return F.binary_cross_entropy(pred.clamp(EPS, 1 - EPS), y)
            return F.binary_cross_entropy_with_logits(pred, y)

        return bce


class HingeParams(NoParams):
    margin: float = Field(1.0, gt=0, description="Scores closer than this to the boundary cost.")


class Hinge(Loss):
    """Hinge: binary with 0/1 or -1/+1 targets; multi-class (Crammer-Singer) with class
    indices."""

    name = "hinge"
    aliases = ("Hinge", "categorical_hinge")
    Params = HingeParams
    targets = "signs"

    @classmethod
    def build(cls, p: HingeParams, ctx: LossContext) -> LossFn:
        import torch

        def hinge(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            pred = activate(pred, ctx.omitted, ctx.axis)
            if not y.is_floating_point() and pred.dim() >= 2 and pred.shape[-1] > 1 \
                    and y.dim() == pred.dim() - 1:
                scores = _to_channels(pred, ctx.axis).movedim(1, -1)
                correct = scores.gather(-1, y.unsqueeze(-1)).squeeze(-1)
                others = scores.scatter(-1, y.unsqueeze(-1), float("-inf")).amax(dim=-1)
                return torch.clamp(p.margin + others - correct, min=0).mean()
            y = y.to(pred.dtype).reshape(pred.shape)
            signs = torch.where(y > 0, 1.0, -1.0).to(pred.dtype)
            return torch.clamp(p.margin - signs * pred, min=0).mean()

        return hinge


class KLDivergence(Loss):
    """KL(target || prediction) per sample, averaged over the batch."""

    name = "kl_divergence"
    aliases = ("kld", "kl", "kullback_leibler", "KLDivergence")

    @classmethod
    def build(cls, p: Any, ctx: LossContext) -> LossFn:
        import torch

        axis = ctx.axis

        def kl(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            y = y.to(pred.dtype).reshape(pred.shape)
            if ctx.omitted == "softmax":
                logp = torch.log_softmax(pred, dim=axis + 1)
            else:
                logp = torch.log(activate(pred, ctx.omitted, axis).clamp_min(EPS))
            terms = torch.xlogy(y, y) - y * logp
            return terms.sum(dim=axis + 1).mean()

        return kl
