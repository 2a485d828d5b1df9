"""Restricted Boltzmann machine: specc's ``rbm`` spec against scikit-learn's ``BernoulliRBM``
on the same data, hidden units and epochs (digits scaled to [0, 1], the spec's 80/20 split
seed 0, 256 hidden units, batch 20, the spec's epochs), side by side in one process.

    OMP_NUM_THREADS=1 python -m benchmarks.rbm [--quick]

Quality is the spec's bar: a logistic regression (C = 1) fitted on each side's hidden
probabilities of the training split, scored on the held-out 20%, the median over seeds (both
sides sample, so both depend on the seed); the same probe on the raw pixels is the baseline.
specc trains by CD-1 with momentum 0.5 -> 0.9 and weight decay (the spec's recipe);
``BernoulliRBM`` is persistent CD without momentum or weight decay, with its learning rate
the best of a small grid scored on the held-out split itself, which favours the peer. Fit
time is measured in-process around the fit only (data in memory): specc's data-dependent
initialisation and the epoch loop's work (steps, each logging a reconstruction error, and the
end-of-epoch figures), against ``BernoulliRBM.fit``; the sides alternate after a warm-up and the
medians are compared.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from .common import Row, interleave, med, regime_of, spread

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "rbm.yaml"
PEER_RATES = (0.01, 0.05, 0.1)


def specc_regime(seed: int) -> Any:
    """The spec's contrastive-divergence regime for ``seed``, set up (no per-epoch probe)."""
    return regime_of(SPEC, [f"train.seed={seed}", "train.metrics=[]"])


def specc_fit(regime: Any) -> None:
    """What the epoch loop does for this regime: the data-dependent initialisation, then
    every epoch's steps in the sampler's order and the end-of-epoch figures."""
    from specc.data.loader import epoch_order

    regime.initialize()
    cfg, train, dev = regime.cfg, regime.data.train, regime.session.device
    sampler, bs = regime.data.sampler(cfg.seed), regime.batch_size()
    for epoch in range(cfg.epochs):
        order = epoch_order(sampler, epoch)
        regime.reset_epoch()
        for a in range(0, len(order), bs):
            regime.train_step(train.batch(order[a:a + bs], dev))
        regime.end_epoch(epoch, regime.epoch_logs())


def split_arrays(regime: Any) -> tuple[np.ndarray, ...]:
    """The spec's own prepared train/held-out pixels and labels, for both sides."""
    prep = regime.data.prepared
    name = next(iter(regime.graph.inputs))
    tr, te = prep.parts["train"], prep.parts["val"]
    return tr.inputs[name], tr.extras["y"], te.inputs[name], te.extras["y"]


def probe(x_fit: np.ndarray, y_fit: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Held-out accuracy of a logistic regression (C = 1), as the spec's linear_probe."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1.0, max_iter=5000).fit(x_fit, y_fit)
    return float(clf.score(x, y))


def specc_accuracy(regime: Any, data: tuple[np.ndarray, ...]) -> float:
    import torch

    xtr, ytr, xte, yte = data
    with torch.no_grad():
        f = [regime.net(torch.from_numpy(x)).numpy() for x in (xtr, xte)]
    return probe(f[0], ytr, f[1], yte)


def peer_fit(x: np.ndarray, rate: float, epochs: int, seed: int) -> Any:
    from sklearn.neural_network import BernoulliRBM

    return BernoulliRBM(n_components=256, learning_rate=rate, batch_size=20, n_iter=epochs,
                        random_state=seed).fit(x)


def peer_accuracy(data: tuple[np.ndarray, ...], rate: float, epochs: int, seed: int) -> float:
    xtr, ytr, xte, yte = data
    rbm = peer_fit(xtr, rate, epochs, seed)
    return probe(rbm.transform(xtr), ytr, rbm.transform(xte), yte)


def run(quick: bool = False) -> list[Row]:
    seeds = range(3 if quick else 5)
    first = specc_regime(0)
    data, epochs = split_arrays(first), int(first.cfg.epochs)
    raw = probe(*data)
    grid = {r: statistics.median(peer_accuracy(data, r, epochs, s) for s in seeds)
            for r in PEER_RATES}
    rate = max(grid, key=lambda r: grid[r])
    ours = []
    for s in seeds:
        regime = first if s == 0 else specc_regime(s)
        specc_fit(regime)
        ours.append(specc_accuracy(regime, data))
    acc_a, acc_b = statistics.median(ours), grid[rate]
    timed = specc_regime(0)
    ta, tb = interleave(lambda: specc_fit(timed), lambda: peer_fit(data[0], rate, epochs, 0),
                        repeats=2 if quick else 5, warmup=1)
    a, b = med(ta), med(tb)
    return [
        Row("RBM digits linear probe (median of seeds) vs BernoulliRBM", acc_a * 100,
            acc_b * 100, acc_a / acc_b, ">= 1.0 (higher is better)", acc_a >= acc_b, unit="%",
            note=f"specc {', '.join(f'{x:.3f}' for x in ours)}; peer learning rate {rate} "
            f"(grid medians {', '.join(f'{r}: {v:.3f}' for r, v in grid.items())}); raw "
            f"pixels {raw:.3f}; {epochs} epochs, 256 hidden, batch 20",
            extra={"specc": ours, "peer_grid": grid, "raw": raw}),
        Row(f"RBM digits fit ({epochs} epochs) vs BernoulliRBM", a, b, a / b, "<= 1.0",
            a / b <= 1.0, note=f"spread {spread(ta)} / {spread(tb)}"),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.rbm")
    p.add_argument("--quick", action="store_true", help="3 seeds, 2 timed fits a side")
    args = p.parse_args(argv)
    from .report import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
