"""Metrics named in ``train.metrics``, registry entries (``specc.metrics``), and the per-output
:class:`MetricSet` that streams them over an epoch in tensors (summed across processes).

Classification metrics read a confusion matrix; precision, recall and F1 are macro averages
over the classes present in the targets or predictions (as scikit-learn's ``average="macro"``).
Regression metrics are computed in the targets' original units. ``nrmse`` is the RMSE divided
by the (population) standard deviation of the targets. Metrics that read the same statistics
share one state, updated once per batch. Pure Python at import; torch when a set is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from ..entries import Metric, NoParams, OutputKind, SplitContext, SplitMetric
from ..registry import abstract, current

__all__ = ["MetricSet", "OutputKind", "all_reduce", "metric_key", "task_mismatch"]


def metric_key(choice: Any) -> str:
    """Log column of a metric choice (``top_k`` with k = 3 is ``top_3``)."""
    return current().metrics.get(choice.name).key(choice.params)


def task_mismatch(choice: Any, kind: OutputKind) -> str | None:
    """The task ("classification"/"regression") metric ``choice`` needs when an output read as
    ``kind`` cannot give it, else None."""
    task = current().metrics.get(choice.name).task
    regression = kind.mode == "regression"
    if task == "classification" and regression or task == "regression" and not regression:
        return task
    return None


def split_context(data: Any, split: str, predict: Callable[[dict[str, Any]], dict[str, Any]],
                  model: Any = None) -> SplitContext:
    """The :class:`SplitContext` of ``split`` of ``data`` (prepared tensors) for a regime's
    ``predict`` and network, with the training split's attached."""
    def one(name: str) -> SplitContext:
        part = data.parts[name]
        return SplitContext(name, predict, part.inputs, part.targets, model, part.extras)

    ctx = one(split)
    ctx.train = ctx if split == "train" else one("train")
    return ctx


def evaluate_split(choices: list[Any], ctx: SplitContext) -> dict[str, float]:
    """The whole-split metrics among ``choices`` (entries with ``evaluate``; ``choices`` are
    ``train.metrics`` in order) on ``ctx``. A metric may log several columns (a dict from
    ``evaluate``); its errors with a path inside its own parameters (not starting at
    ``train``) are placed at its entry, ``train.metrics[i].<name>``."""
    from ..errors import SpecError

    out: dict[str, float] = {}
    for i, ch in enumerate(choices):
        entry = current().metrics.get(ch.name)
        if not issubclass(entry, SplitMetric):
            continue
        try:
            value = entry.evaluate(ch.params, ctx)
        except SpecError as err:
            if err.issues and err.issues[0].path[:1] != ("train",):
                raise err.prefixed(("train", "metrics", i, ch.name)) from None
            raise
        columns = value if isinstance(value, dict) else {entry.key(ch.params): value}
        out.update({k: float(v) for k, v in columns.items()})
    return out


class MetricState:
    """A streaming state: float64 tensors in ``state``, ``update(value, target)`` per batch,
    ``compute()`` at the end. States with the same ``share`` key hold the same statistics (one
    is updated, the others read it)."""

    share: str | None = None

    def __init__(self, kind: OutputKind, device: Any) -> None:
        self.kind = kind
        self.device = device
        self.state: dict[str, Any] = {}

    def zeros(self, *shape: int) -> Any:
        import torch

        return torch.zeros(shape, dtype=torch.float64, device=self.device)

    def update(self, value: Any, target: Any) -> None:
        raise NotImplementedError

    def compute(self) -> float:
        raise NotImplementedError


class Confusion(MetricState):
    """Confusion matrix (true class x predicted class) of a classification output; ``read``
    turns it into the metric's value."""

    share = "confusion"

    def __init__(self, kind: OutputKind, device: Any,
                 read: Callable[[Any], float] | None = None) -> None:
        super().__init__(kind, device)
        c = max(kind.classes, 2)
        self.state = {"count": self.zeros(), "confusion": self.zeros(c, c)}
        self.read = read

    def update(self, value: Any, target: Any) -> None:
        pred, tgt = _classes(self.kind, value, target)
        s = self.state
        c = s["confusion"].shape[0]
        s["confusion"] += _bincount(tgt * c + pred, c * c).reshape(c, c).double()
        s["count"] += tgt.numel()

    def compute(self) -> float:
        if self.read is None or float(self.state["count"]) == 0:
            return float("nan")
        return float(self.read(self.state["confusion"]))


class Errors(MetricState):
    """Sums of squared and absolute errors and of the targets (original units)."""

    share = "errors"

    def __init__(self, kind: OutputKind, device: Any,
                 read: Callable[[dict[str, float]], float] | None = None) -> None:
        super().__init__(kind, device)
        self.state = {k: self.zeros() for k in ("count", "sq", "abs", "y", "y2")}
        self.read = read

    def update(self, value: Any, target: Any) -> None:
        k, s = self.kind, self.state
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

    def compute(self) -> float:
        n = float(self.state["count"])
        if self.read is None or n == 0:
            return float("nan")
        return float(self.read({k: float(v) / n for k, v in self.state.items()}))


class TopKState(MetricState):
    """Count of samples whose class is among the k highest scores."""

    def __init__(self, kind: OutputKind, device: Any, k: int) -> None:
        super().__init__(kind, device)
        self.k = k
        self.share = f"top{k}"
        self.state = {"count": self.zeros(), "hits": self.zeros()}

    def update(self, value: Any, target: Any) -> None:
        kind = self.kind
        _, tgt = _classes(kind, value, target)
        self.state["count"] += tgt.numel()
        if kind.mode != "multiclass":
            return
        dim = _dim(kind, value)
        kk = min(self.k, value.shape[dim])
        top = value.detach().topk(kk, dim=dim).indices.movedim(dim, -1).reshape(-1, kk)
        self.state["hits"] += (top == tgt[:, None]).any(dim=1).sum()

    def compute(self) -> float:
        n = float(self.state["count"])
        ok = n > 0 and self.kind.mode == "multiclass"
        return float(self.state["hits"]) / n if ok else float("nan")


class MetricSet:
    """The streaming metrics of one output: ``choices`` are validated metric choices (whole-
    split metrics are left to the regime: see :func:`evaluate_split`)."""

    def __init__(self, choices: list[Any], kind: OutputKind, device: Any) -> None:
        self.choices = choices
        self.kind = kind
        self.device = device
        self.reset()

    def reset(self) -> None:
        reg = current().metrics
        self.metrics: dict[str, MetricState] = {}
        self.shared: dict[str, MetricState] = {}  # share key -> the state that is updated
        if self.kind.mode != "regression":  # evaluate's confusion matrix, always kept
            self.shared["confusion"] = Confusion(self.kind, self.device)
        for ch in self.choices:
            entry = reg.get(ch.name)
            if issubclass(entry, SplitMetric):
                continue
            st = entry.build(ch.params, self.kind, self.device)
            owner = self.shared.setdefault(st.share, st) if st.share else st
            if owner is not st:
                st.state = owner.state
            self.metrics[entry.key(ch.params)] = st
        self._updated = list(self.shared.values()) + [
            st for st in self.metrics.values() if not st.share]

    @property
    def state(self) -> dict[str, Any]:
        """Every tensor, keyed ``share/name`` (summed across processes, saved for resume)."""
        return {f"{key}/{name}": v for key, st in self._owners().items()
                for name, v in st.state.items()}

    @state.setter
    def state(self, tensors: dict[str, Any]) -> None:
        for key, st in self._owners().items():
            for name in st.state:
                st.state[name] = tensors[f"{key}/{name}"]
        for st in self.metrics.values():  # sharers read their owner's (new) tensors
            if st.share:
                st.state = self.shared[st.share].state

    def _owners(self) -> dict[str, MetricState]:
        owners = dict(self.shared)
        owners.update({key: st for key, st in self.metrics.items() if not st.share})
        return owners

    def update(self, value: Any, target: Any) -> None:
        """``value``: the output as at inference (probabilities, scores or values)."""
        import torch

        with torch.no_grad():
            value, target = value.detach(), target.detach()
            for st in self._updated:
                st.update(value, target)

    def compute(self) -> dict[str, float]:
        return {key: st.compute() for key, st in self.metrics.items()}

    def confusion(self) -> Any:
        st = self.shared.get("confusion")
        return st.state["confusion"] if st is not None else None


def all_reduce(sets: list[MetricSet]) -> None:
    """Sum accumulators across processes (no-op when not distributed)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    for m in sets:
        for v in m.state.values():
            dist.all_reduce(v)


def _dim(kind: OutputKind, value: Any) -> int:
    return kind.axis + 1 if kind.axis >= 0 else value.dim() + kind.axis


def _bincount(x: Any, n: int) -> Any:
    import torch

    return torch.bincount(x, minlength=n)


def _classes(kind: OutputKind, value: Any, target: Any) -> tuple[Any, Any]:
    """(predicted, true) class per element of a classification output."""
    if kind.mode == "multiclass":
        dim = _dim(kind, value)
        pred = value.argmax(dim=dim)
        if target.is_floating_point() and target.dim() == value.dim():
            target = target.argmax(dim=dim)
        return pred.reshape(-1), target.reshape(-1).long()
    pred = (value > kind.threshold).long()
    # 0/1 targets against probabilities; 0/1 or -1/+1 targets against scores (hinge)
    tgt = (target.reshape(value.shape) > (0.5 if kind.threshold == 0.5 else 0.0)).long()
    return pred.reshape(-1), tgt.reshape(-1)


# -- entries ---------------------------------------------------------------------------------


@abstract
class ConfusionMetric(Metric):
    """A classification metric read from the confusion matrix by ``read(cm)``."""

    task = "classification"

    @classmethod
    def read(cls, cm: Any) -> float:
        raise NotImplementedError

    @classmethod
    def build(cls, p: Any, kind: OutputKind, device: Any) -> MetricState:
        return Confusion(kind, device, cls.read)


def _macro(cm: Any) -> tuple[Any, Any, Any]:
    """(precision, recall, present) per class of confusion matrix ``cm``."""
    import torch

    tp = cm.diag()
    true, pred = cm.sum(dim=1), cm.sum(dim=0)
    prec = torch.where(pred > 0, tp / pred.clamp_min(1), torch.zeros_like(tp))
    rec = torch.where(true > 0, tp / true.clamp_min(1), torch.zeros_like(tp))
    return prec, rec, (true + pred) > 0


class Accuracy(ConfusionMetric):
    """Fraction of samples classified correctly."""

    name = "accuracy"
    aliases = ("acc", "Accuracy", "categorical_accuracy", "binary_accuracy")

    @classmethod
    def read(cls, cm: Any) -> float:
        return float(cm.diag().sum() / cm.sum())


class Precision(ConfusionMetric):
    """Macro-averaged precision."""

    name = "precision"
    aliases = ("Precision",)

    @classmethod
    def read(cls, cm: Any) -> float:
        prec, _, present = _macro(cm)
        return float(prec[present].mean())


class Recall(ConfusionMetric):
    """Macro-averaged recall."""

    name = "recall"
    aliases = ("Recall",)

    @classmethod
    def read(cls, cm: Any) -> float:
        _, rec, present = _macro(cm)
        return float(rec[present].mean())


class F1(ConfusionMetric):
    """Macro-averaged F1."""

    name = "f1"
    aliases = ("f1_score", "F1Score")

    @classmethod
    def read(cls, cm: Any) -> float:
        import torch

        prec, rec, present = _macro(cm)
        f1 = torch.where(prec + rec > 0, 2 * prec * rec / (prec + rec).clamp_min(1e-300),
                         torch.zeros_like(prec))
        return float(f1[present].mean())


class TopKParams(NoParams):
    k: int = Field(5, gt=0, description="How many of the highest scores count as a hit.")


class TopK(Metric):
    """Fraction of samples whose class is among the k highest scores (column top_k, or top_3
    for k = 3)."""

    name = "top_k"
    aliases = ("top_k_accuracy", "TopKCategoricalAccuracy")
    Params = TopKParams
    task = "classification"

    @classmethod
    def key(cls, p: TopKParams) -> str:
        return cls.name if p.k == 5 else f"top_{p.k}"

    @classmethod
    def build(cls, p: TopKParams, kind: OutputKind, device: Any) -> MetricState:
        return TopKState(kind, device, p.k)


@abstract
class ErrorMetric(Metric):
    """A regression metric read from the mean errors (``mean['sq']``, ``'abs'``, ``'y'``,
    ``'y2'``) by ``read``."""

    mode = "min"
    task = "regression"

    @classmethod
    def read(cls, mean: dict[str, float]) -> float:
        raise NotImplementedError

    @classmethod
    def build(cls, p: Any, kind: OutputKind, device: Any) -> MetricState:
        return Errors(kind, device, cls.read)


class MSE(ErrorMetric):
    """Mean squared error (original units)."""

    name = "mse"
    aliases = ("mean_squared_error",)

    @classmethod
    def read(cls, mean: dict[str, float]) -> float:
        return mean["sq"]


class MAE(ErrorMetric):
    """Mean absolute error (original units)."""

    name = "mae"
    aliases = ("mean_absolute_error",)

    @classmethod
    def read(cls, mean: dict[str, float]) -> float:
        return mean["abs"]


class RMSE(ErrorMetric):
    """Root mean squared error (original units)."""

    name = "rmse"
    aliases = ("root_mean_squared_error", "RootMeanSquaredError")

    @classmethod
    def read(cls, mean: dict[str, float]) -> float:
        return mean["sq"] ** 0.5


class NRMSE(ErrorMetric):
    """RMSE divided by the standard deviation of the targets."""

    name = "nrmse"

    @classmethod
    def read(cls, mean: dict[str, float]) -> float:
        var = mean["y2"] - mean["y"] ** 2
        return (mean["sq"] / var) ** 0.5 if var > 0 else float("nan")
