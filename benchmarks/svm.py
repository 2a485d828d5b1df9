"""Support vector machine: specc's ``svm`` spec (random Fourier features + a linear layer
trained with the Crammer-Singer hinge) and ``svm_linear`` against scikit-learn's exact
``SVC(kernel="rbf")`` / ``SVC(kernel="linear")`` on the same split (digits, first half train,
second half test), side by side in one process.

    OMP_NUM_THREADS=1 python -m benchmarks.svm [--quick]

Fit time is measured in-process around the training only, both sides on data already in
memory: specc's epochs of steps (the spec's 300 full-batch Adam steps, without the per-epoch
validation and checkpoints a run adds), scikit-learn's ``SVC.fit``. A fresh network is set up
(untimed) before each specc fit; the sides alternate and the medians are compared. The peer's
``C`` is the best of a small grid scored on the test half itself, which favours the peer.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import Row, med, regime_of, spread

ROOT = Path(__file__).resolve().parents[1]
SPECS = {"rbf": ROOT / "specs" / "svm.yaml", "linear": ROOT / "specs" / "svm_linear.yaml"}
PEER_C = (1.0, 3.0, 10.0)
GAMMA = 0.25  # the spec's kernel width, on the same unit-scaled pixels


def specc_fit(kind: str) -> tuple[Any, float]:
    """A fresh regime for the spec, trained for its epochs; (regime, seconds of training)."""
    regime = regime_of(SPECS[kind], [])
    regime.initialize()
    train, bs, dev = regime.data.train, regime.batch_size(), regime.session.device
    gen = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(regime.cfg.epochs):
        regime.reset_epoch()
        order = gen.permutation(train.n)
        for a in range(0, train.n, bs):
            regime.train_step(train.batch(order[a:a + bs], dev))
    return regime, time.perf_counter() - t0


def split_arrays(regime: Any) -> tuple[np.ndarray, ...]:
    """The spec's own prepared train/test arrays, for the peer (the same samples)."""
    prep, out = regime.data.prepared, regime.graph.outputs[0]
    name = next(iter(regime.graph.inputs))
    tr, te = prep.parts["train"], prep.parts["val"]
    return tr.inputs[name], tr.targets[out], te.inputs[name], te.targets[out]


def peer(kind: str, c: float) -> Any:
    from sklearn.svm import SVC

    return SVC(kernel="rbf", gamma=GAMMA, C=c) if kind == "rbf" else SVC(kernel="linear", C=c)


def run(quick: bool = False) -> list[Row]:
    repeats = 2 if quick else 5
    rows = []
    for kind in SPECS:
        regime, _ = specc_fit(kind)
        acc_a = float(regime.evaluate("val")["accuracy"])
        xtr, ytr, xte, yte = split_arrays(regime)
        scores = {c: float(peer(kind, c).fit(xtr, ytr).score(xte, yte)) for c in PEER_C}
        c = max(scores, key=lambda k: scores[k])
        acc_b = scores[c]
        ta, tb = [], []
        for _ in range(repeats):
            ta.append(specc_fit(kind)[1])
            t0 = time.perf_counter()
            peer(kind, c).fit(xtr, ytr)
            tb.append(time.perf_counter() - t0)
        a, b = med(ta), med(tb)
        label = "RBF via random features" if kind == "rbf" else "linear"
        rows += [
            Row(f"SVM digits accuracy ({label}) vs SVC(kernel={kind!r})", acc_a * 100,
                acc_b * 100, acc_a / acc_b, ">= 0.99 (higher is better)" if kind == "rbf"
                else "reported", acc_a / acc_b >= 0.99 if kind == "rbf" else None, unit="%", note=f"peer C {c} (best of {PEER_C} on the "
                f"test half){', gamma 0.25' if kind == 'rbf' else ''}"),
            Row(f"SVM digits fit ({label}) vs SVC(kernel={kind!r})", a, b, a / b, "reported",
                None, spread=f"{spread(ta)} / {spread(tb)}",
                note=f"specc: {regime.cfg.epochs} full-batch Adam steps; {repeats} fits a side"),
        ]
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.svm")
    p.add_argument("--quick", action="store_true", help="2 timed fits a side")
    args = p.parse_args(argv)
    from .report import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
