"""Metrics over an epoch, accumulated batch by batch in tensors (summed across processes).

Classification metrics read a confusion matrix; precision, recall and F1 are macro averages
over the classes present in the targets or predictions (as scikit-learn's ``average="macro"``).
Regression metrics are computed in the targets' original units. ``nrmse`` is the RMSE divided
by the (population) standard deviation of the targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

CLASSIFICATION = ("accuracy", "top_k", "precision", "recall", "f1")
REGRESSION = ("mse", "mae", "rmse", "nrmse")


@dataclass
class OutputKind:
    """How to read one output: ``multiclass`` (argmax over ``axis``), ``binary`` (value >
    ``threshold``) or ``regression``; ``classes`` for confusion matrices."""

    mode: str
    classes: int = 2
    axis: int = -1  # per-sample feature axis
    threshold: float = 0.5
    scale: torch.Tensor | None = None  # original = value * scale + shift
    shift: torch.Tensor | None = None


class MetricSet:
    """Accumulates what the named metrics need for one output."""

    def __init__(self, names: list[Any], kind: OutputKind, device: torch.device) -> None:
        self.choices = names
        self.kind = kind
        self.device = device
        self.reset()

    def reset(self) -> None:
        k = self.kind
        dev = self.device
        self.state: dict[str, torch.Tensor] = {
            "count": torch.zeros((), dtype=torch.float64, device=dev)}
        if k.mode != "regression":
            c = max(k.classes, 2)
            self.state["confusion"] = torch.zeros(c, c, dtype=torch.float64, device=dev)
            for ch in self.choices:
                if ch.name == "top_k":
                    self.state[f"top{ch.params.k}"] = torch.zeros((), dtype=torch.float64, device=dev)
        else:
            for key in ("sq", "abs", "y", "y2"):
                self.state[key] = torch.zeros((), dtype=torch.float64, device=dev)

    def _classes(self, value: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.kind
        dim = k.axis + 1 if k.axis >= 0 else value.dim() + k.axis
        if k.mode == "multiclass":
            pred = value.argmax(dim=dim)
            if target.is_floating_point() and target.dim() == value.dim():
                target = target.argmax(dim=dim)
            return pred.reshape(-1), target.reshape(-1).long()
        pred = (value > k.threshold).long()
        # 0/1 targets against probabilities; 0/1 or -1/+1 targets against scores (hinge)
        tgt = (target.reshape(value.shape) > (0.5 if k.threshold == 0.5 else 0.0)).long()
        return pred.reshape(-1), tgt.reshape(-1)

    @torch.no_grad()
    def update(self, value: torch.Tensor, target: torch.Tensor) -> None:
        """``value``: the output as at inference (probabilities, scores or values)."""
        k = self.kind
        s = self.state
        if k.mode == "regression":
            v = value.detach().double()
            y = target.detach().double().reshape(v.shape)
            if k.scale is not None:
                v = v * k.scale + k.shift
                y = y * k.scale + k.shift
            err = v - y
            s["count"] += err.numel()
            s["sq"] += (err * err).sum()
            s["abs"] += err.abs().sum()
            s["y"] += y.sum()
            s["y2"] += (y * y).sum()
            return
        pred, tgt = self._classes(value.detach(), target.detach())
        c = s["confusion"].shape[0]
        s["confusion"] += torch.bincount(tgt * c + pred, minlength=c * c).reshape(c, c).double()
        s["count"] += tgt.numel()
        for ch in self.choices:
            if ch.name == "top_k" and k.mode == "multiclass":
                dim = k.axis + 1 if k.axis >= 0 else value.dim() + k.axis
                kk = min(ch.params.k, value.shape[dim])
                top = value.detach().topk(kk, dim=dim).indices.movedim(dim, -1).reshape(-1, kk)
                s[f"top{ch.params.k}"] += (top == tgt[:, None]).any(dim=1).sum()

    def compute(self) -> dict[str, float]:
        s = self.state
        n = float(s["count"])
        out: dict[str, float] = {}
        if n == 0:
            return {ch.name: float("nan") for ch in self.choices}
        if "confusion" in s:
            cm = s["confusion"]
            tp = cm.diag()
            true, pred = cm.sum(dim=1), cm.sum(dim=0)
            present = (true + pred) > 0
            prec = torch.where(pred > 0, tp / pred.clamp_min(1), torch.zeros_like(tp))
            rec = torch.where(true > 0, tp / true.clamp_min(1), torch.zeros_like(tp))
            f1 = torch.where(prec + rec > 0, 2 * prec * rec / (prec + rec).clamp_min(1e-300),
                             torch.zeros_like(tp))
            values = {"accuracy": float(tp.sum()) / n,
                      "precision": float(prec[present].mean()),
                      "recall": float(rec[present].mean()),
                      "f1": float(f1[present].mean())}
        else:
            mse = float(s["sq"]) / n
            var = float(s["y2"]) / n - (float(s["y"]) / n) ** 2
            values = {"mse": mse, "mae": float(s["abs"]) / n, "rmse": mse ** 0.5,
                      "nrmse": (mse / var) ** 0.5 if var > 0 else float("nan")}
        for ch in self.choices:
            if ch.name == "top_k":
                key = f"top{ch.params.k}"
                out[metric_key(ch)] = float(s[key]) / n if key in s else float("nan")
            else:
                out[metric_key(ch)] = values.get(ch.name, float("nan"))
        return out

    def confusion(self) -> torch.Tensor | None:
        return self.state.get("confusion")


def metric_key(choice: Any) -> str:
    """Column name of a metric: ``top_k`` with k != 5 becomes ``top_3`` etc."""
    if choice.name == "top_k" and choice.params.k != 5:
        return f"top_{choice.params.k}"
    return choice.name


def all_reduce(sets: list[MetricSet]) -> None:
    """Sum accumulators across processes (no-op when not distributed)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    for m in sets:
        for v in m.state.values():
            dist.all_reduce(v)
