"""Every loss, optimizer, schedule and metric against a reference (torch, scikit-learn)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from specc.entries import Choice
from specc.registry import current
from specc.spec.choices import Problems, parse_choice
from specc.train.losses import make_loss
from specc.train.metrics import MetricSet, OutputKind
from specc.train.optim import Schedule, make_optimizer
from specc.types import TensorType


def choice(group, raw) -> Choice:
    errs = Problems()
    c = parse_choice(raw, group, (), errs)
    assert not errs.items, errs.items
    return c


VEC = TensorType((4,))
g = torch.Generator().manual_seed(0)
LOGITS = torch.randn(32, 4, generator=g)
LABELS = torch.randint(0, 4, (32,), generator=g)
PROBS = torch.softmax(LOGITS, dim=1)


# -- losses ---------------------------------------------------------------------------------


def test_cross_entropy_on_logits_and_probabilities():
    ref = skm.log_loss(LABELS.numpy(), PROBS.numpy(), labels=range(4))
    on_logits = make_loss(choice("losses", "cross_entropy"), VEC, "softmax", "softmax")
    on_probs = make_loss(choice("losses", "categorical_crossentropy"), VEC, None, "softmax")
    linear = make_loss(choice("losses", "cross_entropy"), VEC, None, None)
    assert float(on_logits(LOGITS, LABELS)) == pytest.approx(ref, rel=1e-5)
    assert float(on_probs(PROBS, LABELS)) == pytest.approx(ref, rel=1e-5)
    assert float(linear(LOGITS, LABELS)) == pytest.approx(ref, rel=1e-5)
    onehot = torch.nn.functional.one_hot(LABELS, 4).float()
    assert float(on_logits(LOGITS, onehot)) == pytest.approx(ref, rel=1e-5)
    smooth = make_loss(choice("losses", {"cross_entropy": {"label_smoothing": 0.1}}), VEC,
                       "softmax", "softmax")
    want = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(LOGITS, LABELS)
    assert torch.allclose(smooth(LOGITS, LABELS), want)


def test_cross_entropy_on_sequences_uses_feature_axis():
    seq = TensorType((5, 4))
    logits = torch.randn(3, 5, 4, generator=g)
    y = torch.randint(0, 4, (3, 5), generator=g)
    fn = make_loss(choice("losses", "cross_entropy"), seq, "softmax", "softmax")
    want = torch.nn.functional.cross_entropy(logits.reshape(-1, 4), y.reshape(-1))
    assert torch.allclose(fn(logits, y), want, atol=1e-6)


def test_binary_cross_entropy():
    t = TensorType((1,))
    z = torch.randn(32, 1, generator=g)
    y = torch.randint(0, 2, (32, 1), generator=g).float()
    ref = skm.log_loss(y.numpy().ravel(), torch.sigmoid(z).numpy().ravel())
    for fn, pred in [(make_loss(choice("losses", "bce"), t, "sigmoid", "sigmoid"), z),
                     (make_loss(choice("losses", "binary_crossentropy"), t, None, "sigmoid"),
                      torch.sigmoid(z))]:
        assert float(fn(pred, y)) == pytest.approx(ref, rel=1e-5)


@pytest.mark.parametrize("name,ref", [
    ("mse", skm.mean_squared_error), ("squared_error", skm.mean_squared_error),
    ("mae", skm.mean_absolute_error), ("absolute", skm.mean_absolute_error)])
def test_regression_losses(name, ref):
    p, y = torch.randn(20, 3, generator=g), torch.randn(20, 3, generator=g)
    fn = make_loss(choice("losses", name), TensorType((3,)), None, None)
    assert float(fn(p, y)) == pytest.approx(ref(y.numpy(), p.numpy()), rel=1e-5)


def test_regression_loss_sees_activated_output():
    fn = make_loss(choice("losses", "mse"), VEC, "sigmoid", "sigmoid")
    y = torch.rand(32, 4, generator=g)
    want = skm.mean_squared_error(y.numpy(), torch.sigmoid(LOGITS).numpy())
    assert float(fn(LOGITS, y)) == pytest.approx(want, rel=1e-5)


def test_huber():
    p, y = 3 * torch.randn(50, 2, generator=g), torch.randn(50, 2, generator=g)
    fn = make_loss(choice("losses", {"huber": {"delta": 0.7}}), TensorType((2,)), None, None)
    d = (p - y).abs()
    manual = torch.where(d <= 0.7, 0.5 * d**2, 0.7 * (d - 0.35)).mean()
    assert torch.allclose(fn(p, y), manual)
    assert torch.allclose(fn(p, y), torch.nn.HuberLoss(delta=0.7)(p, y))


def test_hinge_binary_and_multiclass_match_sklearn():
    score = torch.randn(40, 1, generator=g)
    y01 = torch.randint(0, 2, (40,), generator=g)
    fn = make_loss(choice("losses", "hinge"), TensorType((1,)), None, None)
    ref = skm.hinge_loss(y01.numpy() * 2 - 1, score.numpy().ravel())
    assert float(fn(score, y01.float())) == pytest.approx(ref, rel=1e-5)
    assert float(fn(score, (y01 * 2 - 1).float())) == pytest.approx(ref, rel=1e-5)
    multi = make_loss(choice("losses", "hinge"), VEC, None, None)
    ref = skm.hinge_loss(LABELS.numpy(), LOGITS.numpy(), labels=range(4))
    assert float(multi(LOGITS, LABELS)) == pytest.approx(ref, rel=1e-5)


def test_kl_divergence():
    target = torch.softmax(torch.randn(32, 4, generator=g), dim=1)
    fn = make_loss(choice("losses", "kl_divergence"), VEC, "softmax", "softmax")
    want = torch.nn.functional.kl_div(torch.log_softmax(LOGITS, 1), target, reduction="batchmean")
    assert torch.allclose(fn(LOGITS, target), want, atol=1e-6)
    from scipy.special import rel_entr

    ref = rel_entr(target.numpy(), PROBS.numpy()).sum(axis=1).mean()
    assert float(fn(LOGITS, target)) == pytest.approx(ref, rel=1e-4)
    on_probs = make_loss(choice("losses", "kld"), VEC, None, "softmax")
    assert float(on_probs(PROBS, target)) == pytest.approx(ref, rel=1e-4)


def test_every_loss_is_tested():
    assert set(current().losses.names()) == {"mse", "mae", "huber", "binary_cross_entropy", "hinge",
                                   "cross_entropy", "kl_divergence"}


# -- optimizers -----------------------------------------------------------------------------


def run(opt_factory, steps: int = 5) -> torch.Tensor:
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(6))
    opt = opt_factory([w])
    x = torch.randn(6)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((w * x).sum() - 1) ** 2 + (w**2).sum()
        loss.backward()
        opt.step()
    return w.detach().clone()


@pytest.mark.parametrize("raw,ref", [
    ({"gd": {"lr": 0.1}}, lambda p: torch.optim.SGD(p, lr=0.1)),
    ({"sgd": {"lr": 0.05, "momentum": 0.9, "nesterov": True}},
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    ({"sgd": {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01}},
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, weight_decay=0.01)),
    ("adagrad", lambda p: torch.optim.Adagrad(p, lr=0.01)),
    ({"rmsprop": {"lr": 0.01, "rho": 0.8}}, lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-7)),
    ("adam", lambda p: torch.optim.Adam(p, lr=0.001, eps=1e-7, fused=True)),
    ({"adam": {"fused": False}}, lambda p: torch.optim.Adam(p, lr=0.001, eps=1e-7)),
    ({"adam": {"lr": 0.01, "beta1": 0.8, "amsgrad": True}},
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.999), eps=1e-7, amsgrad=True,
                                fused=True)),
    ({"adamw": {"lr": 0.01, "weight_decay": 0.1}},
     lambda p: torch.optim.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.1, fused=True)),
    ({"adamw": {"lr": 0.01, "weight_decay": 0.1, "fused": False}},
     lambda p: torch.optim.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.1)),
])
def test_optimizers_match_torch(raw, ref):
    c = choice("optimizers", raw)
    assert torch.equal(run(lambda p: make_optimizer(c, p)), run(ref))


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_adam_is_the_default_on_cpu_and_agrees_with_the_loop_to_rounding(name):
    w = torch.nn.Parameter(torch.ones(3))
    assert make_optimizer(choice("optimizers", name), [w]).defaults["fused"] is True
    auto = run(lambda p: make_optimizer(choice("optimizers", name), p))
    loop = run(lambda p: make_optimizer(choice("optimizers", {name: {"fused": False}}), p))
    torch.testing.assert_close(auto, loop, rtol=1e-5, atol=1e-6)


def test_fused_adam_falls_back_for_parameters_without_the_kernel():
    w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    assert make_optimizer(choice("optimizers", "adam"), [w]).defaults["fused"] is True
    opt = make_optimizer(choice("optimizers", "adam"), [torch.nn.Parameter(torch.ones(2, device="meta"))])
    assert opt.defaults["fused"] is None  # no fused kernel on the meta device: torch's default


def test_gradient_descent_is_w_minus_lr_grad():
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = make_optimizer(choice("optimizers", {"gd": {"lr": 0.5}}), [w])
    (w**2).sum().backward()
    opt.step()
    assert w.detach().tolist() == [0.0, 0.0]


def test_optimizer_skips_frozen_parameters():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    b.requires_grad_(False)
    opt = make_optimizer(choice("optimizers", "adam"), [a, b])
    assert len(opt.param_groups[0]["params"]) == 1


def lrs(raw, epochs: int, values=None) -> list[float]:
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=1.0)
    sched = Schedule(choice("schedules", raw), opt, epochs)
    out = []
    for e in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step({"val_loss": values[e]} if values else {})
    return out


def test_schedules():
    assert lrs({"step": {"step_size": 2, "gamma": 0.5}}, 5) == [1, 1, 0.5, 0.5, 0.25]
    cos = lrs({"cosine": {"eta_min": 0.0}}, 4)
    assert cos == pytest.approx([0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)])
    plateau = lrs({"reduce_on_plateau": {"patience": 1, "factor": 0.1}}, 6,
                  [1.0, 0.5, 0.5, 0.5, 0.5, 0.5])
    assert plateau == pytest.approx([1, 1, 1, 1, 0.1, 0.1])


# -- metrics --------------------------------------------------------------------------------


def metric_set(names, kind) -> MetricSet:
    return MetricSet([choice("metrics", n) for n in names], kind, torch.device("cpu"))


def test_classification_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    probs = torch.softmax(torch.tensor(rng.normal(size=(300, 5))), 1)
    y = torch.tensor(rng.integers(0, 5, 300))
    ms = metric_set(["accuracy", "precision", "recall", "f1", {"top_k": {"k": 2}}, "top_k"],
                    OutputKind("multiclass", 5))
    for i in range(0, 300, 64):  # batches accumulate
        ms.update(probs[i:i + 64], y[i:i + 64])
    got = ms.compute()
    pred = probs.argmax(1).numpy()
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert got["top_2"] == pytest.approx(skm.top_k_accuracy_score(y, probs.numpy(), k=2))
    assert got["top_k"] == 1.0  # k=5 of 5 classes
    cm = ms.confusion().long().numpy()
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, pred))


def test_macro_average_skips_absent_classes_like_sklearn():
    y = torch.tensor([0, 0, 1, 1])
    probs = torch.tensor([[0.9, 0.1, 0, 0], [0.2, 0.8, 0, 0], [0.1, 0.9, 0, 0], [0.6, 0.4, 0, 0]])
    ms = metric_set(["precision", "f1"], OutputKind("multiclass", 4))
    ms.update(probs, y)
    got = ms.compute()
    pred = probs.argmax(1)
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))


def test_binary_metrics():
    p = torch.tensor([[0.9], [0.2], [0.7], [0.4]])
    y = torch.tensor([[1.0], [0.0], [0.0], [0.0]])
    ms = metric_set(["accuracy", "recall"], OutputKind("binary", 2, threshold=0.5))
    ms.update(p, y)
    got = ms.compute()
    assert got["accuracy"] == 0.75
    assert got["recall"] == pytest.approx(skm.recall_score(y.ravel(), (p > 0.5).ravel(), average="macro"))
    hinge = metric_set(["accuracy"], OutputKind("binary", 2, threshold=0.0))
    hinge.update(torch.tensor([[0.3], [-0.2]]), torch.tensor([[1.0], [-1.0]]))
    assert hinge.compute()["accuracy"] == 1.0


def test_regression_metrics_match_sklearn_in_original_units():
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=(100, 2)), rng.normal(size=(100, 2))
    kind = OutputKind("regression", scale=torch.tensor([2.0, 2.0], dtype=torch.float64),
                      shift=torch.tensor([10.0, 10.0], dtype=torch.float64))
    ms = metric_set(["mse", "mae", "rmse", "nrmse"], kind)
    ms.update(torch.tensor(p[:50]), torch.tensor(y[:50]))
    ms.update(torch.tensor(p[50:]), torch.tensor(y[50:]))
    got = ms.compute()
    yo, po = y * 2 + 10, p * 2 + 10
    mse = skm.mean_squared_error(yo, po)
    assert got["mse"] == pytest.approx(mse)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(yo, po))
    assert got["rmse"] == pytest.approx(math.sqrt(mse))
    assert got["nrmse"] == pytest.approx(math.sqrt(mse) / yo.std())
