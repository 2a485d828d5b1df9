"""The ``svm`` and ``svm_linear`` specs: the recipe, the Crammer-Singer hinge they train with,
and the bars (``pytest -m slow``)."""

from __future__ import annotations

import time

import pytest
import torch

from specc.assembled import load
from specc.entries import LossContext
from specc.registry import current
from specc.train.api import evaluate, train
from specc.types import TensorType


def test_svm_spec_is_the_recipe() -> None:
    spec = load("svm")
    kernel = spec.graph.nodes["kernel"]
    assert kernel.kind == "random_fourier_features"
    assert (kernel.params.units, kernel.params.gamma) == (2000, 0.25)
    assert spec.graph.nodes["scores"].activation is None
    for name in ("svm", "svm_linear"):
        t = load(name).train
        assert t.loss.name == "hinge" and t.optimizer.name == "adam"
        assert (t.optimizer.params.lr, t.optimizer.params.weight_decay) == (1.0e-2, 5.0e-4)
        assert (t.data.dataset, t.data.split.val, t.data.split.order) == ("digits", 0.5, "last")


def test_multiclass_hinge_is_crammer_singer() -> None:
    hinge = current().losses.get("hinge")
    ctx = LossContext(TensorType((3,)))
    fn = hinge.build(hinge.Params(), ctx)
    scores = torch.tensor([[2.0, 1.5, -1.0], [0.0, 3.0, 2.5], [1.0, 0.0, 4.0]])
    labels = torch.tensor([0, 2, 2])
    # max(0, 1 + max_{j != y} s_j - s_y) per sample: 0.5, 1.5, 0 -> mean 2/3
    assert float(fn(scores, labels)) == pytest.approx(2 / 3)


def _accuracy(name: str, tmp_path) -> tuple[float, float]:
    t0 = time.perf_counter()
    run = train(name, out=tmp_path / name, quiet=True)
    seconds = time.perf_counter() - t0
    result = evaluate(run.dir, checkpoint="last")
    assert result["n"] == 899  # the second half of digits
    print(f"{name} digits: accuracy {result['accuracy']:.4f} in {seconds:.0f}s")
    return result["accuracy"], seconds


@pytest.mark.slow
def test_svm_on_digits_reaches_96_percent(tmp_path) -> None:
    accuracy, _ = _accuracy("svm", tmp_path)
    assert accuracy >= 0.96  # 96.2% here; an exact RBF SVC gives 97.0%


@pytest.mark.slow
def test_svm_linear_is_reported_near_the_linear_ceiling(tmp_path) -> None:
    accuracy, _ = _accuracy("svm_linear", tmp_path)
    assert 0.92 <= accuracy < 0.96  # 93.4% here: a linear boundary's ceiling on this split
