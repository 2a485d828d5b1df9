"""Linear probes: how linearly separable the classes are in what a network outputs.

``linear_probe`` fits scikit-learn's multinomial ``LogisticRegression`` (L2, ``C`` = 1 by
default, L-BFGS, deterministic) on the network's output over the training split against the
dataset's class labels (its ``y`` array, so an unsupervised network such as an RBM trained by
``contrastive_divergence`` is probed too), and scores it on the split being evaluated:
the accuracy of that logistic readout. ``linear_probe_raw`` is the same probe on the raw
network input, the figure a learned representation should beat.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..entries import NoParams, SplitContext, SplitMetric
from ..errors import SpecError
from ..registry import abstract

PATH = ("train", "metrics")


class ProbeParams(NoParams):
    C: float = Field(1.0, gt=0, allow_inf_nan=False,
                     description="Inverse L2 strength of the logistic regression.")
    max_iter: int = Field(5000, gt=0, description="L-BFGS iterations at most.")


@abstract
class LinearProbe(SplitMetric):
    """Base of the probes: ``features(ctx)`` is what the logistic regression reads."""

    Params = ProbeParams
    task = "any"

    @classmethod
    def features(cls, ctx: SplitContext) -> Any:
        raise NotImplementedError

    @classmethod
    def evaluate(cls, p: ProbeParams, ctx: SplitContext) -> float:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        train = ctx.train
        if train is None:
            raise SpecError(f"metric '{cls.name}' fits on the training split, which this "
                            "regime does not give its metrics", path=PATH, received=cls.name)
        x_fit, y_fit = cls.features(train), _labels(cls.name, train)
        x, y = (x_fit, y_fit) if ctx is train else (cls.features(ctx), _labels(cls.name, ctx))
        probe = LogisticRegression(C=p.C, max_iter=p.max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            probe.fit(x_fit, y_fit)
        return float(probe.score(x, y))


class NetworkProbe(LinearProbe):
    """Accuracy of a logistic regression (C = 1) on the network's output, fitted on the
    training split."""

    name = "linear_probe"

    @classmethod
    def features(cls, ctx: SplitContext) -> Any:
        outs = ctx.predict(ctx.inputs)
        if len(outs) != 1:
            raise SpecError(f"metric '{cls.name}' probes the output of a one-output network; "
                            f"this one has {len(outs)}", path=PATH, received=", ".join(outs))
        return _rows(next(iter(outs.values())))


class RawProbe(LinearProbe):
    """Accuracy of the same logistic regression on the raw network input (the baseline a
    learned representation should beat)."""

    name = "linear_probe_raw"

    @classmethod
    def features(cls, ctx: SplitContext) -> Any:
        if len(ctx.inputs) != 1:
            raise SpecError(f"metric '{cls.name}' probes the input of a one-input network; "
                            f"this one has {len(ctx.inputs)}", path=PATH,
                            received=", ".join(ctx.inputs))
        return _rows(next(iter(ctx.inputs.values())))


def _rows(t: Any) -> Any:
    """One float64 NumPy row per sample."""
    import numpy as np

    a = t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)
    return a.reshape(len(a), -1).astype(np.float64)


def _labels(name: str, ctx: SplitContext) -> Any:
    """The split's integer class labels (the dataset's ``y``)."""
    import numpy as np

    y = ctx.extras.get("y")
    y = None if y is None else np.asarray(y.cpu() if hasattr(y, "cpu") else y)
    if y is None or y.dtype.kind not in "iub" or y.ndim != 1:
        raise SpecError(f"metric '{name}' needs class labels, and this dataset has none (an "
                        "integer array 'y')", path=PATH, received=name,
                        hint="probe on a labelled dataset (digits, mnist5k, iris)")
    return y
