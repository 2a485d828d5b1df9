"""The ``linear_probe`` metrics, and the ``rbm`` spec end to end: contrastive divergence, the
probe bar, export parity and the pictures ``specc sample`` draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from specc.entries import Choice, NoParams, SplitContext
from specc.errors import SpecError
from specc.registry import current
from specc.train.metrics import evaluate_split
from specc.train.probe import NetworkProbe, ProbeParams, RawProbe


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three noisy classes in 5 dimensions."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.tensor([[2.0, 0, 0, 0, 0], [0, 2.0, 0, 0, 0], [0, 0, 2.0, 0, 0]])
    return centres[y] + torch.randn(n, 5, generator=gen), y


def contexts(features: object = None) -> tuple[SplitContext, SplitContext]:
    """(train, val) contexts whose network squares its input (or returns ``features``)."""
    def predict(inputs: dict) -> dict:
        x = inputs["x"]
        return {"out": x * x.abs()} if features is None else features

    (xt, yt), (xv, yv) = blobs(90, 0), blobs(60, 1)
    train = SplitContext("train", predict, {"x": xt}, {}, extras={"y": yt})
    train.train = train
    val = SplitContext("val", predict, {"x": xv}, {}, extras={"y": yv}, train=train)
    return train, val


def reference(x_fit: torch.Tensor, y_fit: torch.Tensor, x: torch.Tensor,
              y: torch.Tensor) -> float:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=5000).fit(x_fit.double().numpy(),
                                                        y_fit.numpy()).score(x.double().numpy(),
                                                                             y.numpy())


def test_probes_are_logistic_regressions_fitted_on_the_training_split() -> None:
    train, val = contexts()
    (xt, yt), (xv, yv) = (train.inputs["x"], train.extras["y"]), (val.inputs["x"],
                                                                    val.extras["y"])
    p = ProbeParams()
    want = reference(xt * xt.abs(), yt, xv * xv.abs(), yv)
    assert NetworkProbe.evaluate(p, val) == want
    assert RawProbe.evaluate(p, val) == reference(xt, yt, xv, yv)
    assert NetworkProbe.evaluate(p, train) == reference(xt * xt.abs(), yt, xt * xt.abs(), yt)
    assert NetworkProbe.evaluate(p, val) == want  # deterministic


def test_probes_are_registered_split_metrics() -> None:
    _, val = contexts()
    got = evaluate_split([Choice("linear_probe", ProbeParams()),
                          Choice("linear_probe_raw", ProbeParams(C=0.5)), Choice("mse", NoParams())],
                         val)
    assert set(got) == {"linear_probe", "linear_probe_raw"}
    assert current().metrics.get("linear_probe").mode == "max"


def test_a_probe_needs_labels_a_training_split_and_one_output() -> None:
    train, val = contexts()
    val.extras = {}
    with pytest.raises(SpecError) as err:
        NetworkProbe.evaluate(ProbeParams(), val)
    assert "metric 'linear_probe' needs class labels, and this dataset has none" in str(err.value)
    assert err.value.issues[0].path == ("train", "metrics")
    floats = SplitContext("val", train.predict, train.inputs, {},
                          extras={"y": torch.rand(90)}, train=train)
    with pytest.raises(SpecError, match="needs class labels"):
        RawProbe.evaluate(ProbeParams(), floats)
    orphan = SplitContext("val", train.predict, train.inputs, {}, extras=train.extras)
    with pytest.raises(SpecError, match="fits on the training split, which this regime does "
                       "not give its metrics"):
        RawProbe.evaluate(ProbeParams(), orphan)
    _, two = contexts({"a": np.zeros((90, 2)), "b": np.zeros((90, 2))})
    with pytest.raises(SpecError, match="probes the output of a one-output network; this one "
                       "has 2"):
        NetworkProbe.evaluate(ProbeParams(), two)
