"""Kohonen SOM: specc's ``kohonen`` spec against ``minisom`` on the same data, grid and epochs
(standardised iris, all 150 flowers, 7x7 rectangular map, PCA initialisation, Gaussian
neighbourhood starting at sigma 3.0, 30 epochs), side by side in one process.

    OMP_NUM_THREADS=1 python -m benchmarks.som [--quick]

specc trains with Kohonen's batch map (one update per epoch, sigma 3.0 -> 0.6 geometric);
minisom with its online rule as a user would call it (``pca_weights_init``, then
``train(data, 30, random_order=True, use_epochs=True)``, learning rate 0.5, its default
asymptotic decay of sigma and learning rate). Quality is read on both final codebooks with the
same functions (specc's ``quantization_error``: mean Euclidean distance to the best-matching
unit; ``topographic_error``: first and second BMU not among the 8 grid neighbours; minisom
2.3's own methods give the same figures). minisom's random order depends on its seed, so its
figures are medians over seeds; specc's batch map is deterministic. specc is run twice: the
spec's recipe (sigma 3.0 -> 0.6) and with a wider final neighbourhood (-> 0.8), since a SOM
trades quantization against topographic error through the final width. Fit time is measured in-process around the fit only
(initialisation and the 30 epochs, data in memory), both sides alternating after a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from .common import Row, interleave, med, regime_of, spread

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "kohonen.yaml"
ROWS = COLS = 7
EPOCHS, SIGMA, LR = 30, 3.0, 0.5


def specc_fit(regime: Any) -> None:
    """What the epoch loop does for this regime: initialise, then one step per epoch on the
    whole training split (``batch_size: full``)."""
    regime.initialize()
    train = regime.data.train
    batch = train.batch(slice(0, train.n), regime.session.device)
    for step in range(regime.cfg.epochs):
        regime.global_step = step
        regime.train_step(batch)


def peer_fit(data: np.ndarray, seed: int) -> Any:
    from minisom import MiniSom

    som = MiniSom(ROWS, COLS, data.shape[1], sigma=SIGMA, learning_rate=LR,
                  neighborhood_function="gaussian", random_seed=seed)
    som.pca_weights_init(data)
    som.train(data, EPOCHS, random_order=True, use_epochs=True)
    return som


def figures(regime: Any, codebook: np.ndarray, x: Any) -> tuple[float, float]:
    """(QE, TE) of ``codebook`` (units, features) on ``x`` with specc's functions."""
    import torch

    from specc.train.som_metrics import map_figures

    regime.som.codebook.copy_(torch.from_numpy(codebook.astype(np.float32)))
    f = map_figures(regime.som, x)
    return f["quantization_error"], f["topographic_error"]


def run(quick: bool = False) -> list[Row]:
    try:
        import minisom  # noqa: F401
    except ImportError:
        return [Row("SOM iris 7x7: specc vs minisom", None, None, None, "-", None,
                    note="peer not installed (pip install 'specc[bench]')")]
    seeds = range(3 if quick else 7)
    regime = regime_of(SPEC, [])
    x = regime.data.train.inputs["features"]
    data = x.double().numpy()
    theirs = [figures(regime, peer_fit(data, s).get_weights().reshape(ROWS * COLS, -1), x)
              for s in seeds]
    rows = []
    for end in (0.6, 0.8):  # the spec's recipe; a wider final neighbourhood
        reg = regime_of(SPEC, [f"train.sigma_end={end}"])
        specc_fit(reg)
        ours = figures(reg, reg.som.codebook.double().numpy(), x)
        for i, what in enumerate(("quantization error", "topographic error")):
            peers = statistics.median(q[i] for q in theirs)
            rows.append(Row(
                f"SOM iris 7x7 {what}: specc (sigma 3.0 -> {end}) vs minisom (median of "
                f"seeds)", ours[i], peers, ours[i] / peers if peers else None,
                "<= 1.0 (lower is better)", ours[i] <= peers, unit="",
                note=f"specc batch map (deterministic) {ours[i]:.3f}; minisom "
                + ", ".join(f"{q[i]:.3f}" for q in theirs)))
    ta, tb = interleave(lambda: specc_fit(regime), lambda: peer_fit(data, 0),
                        repeats=5 if quick else 15, warmup=2)
    a, b = med(ta), med(tb)
    rows.append(Row("SOM iris 7x7 fit (PCA init + 30 epochs): specc vs minisom", a, b, a / b,
                    "<= 1.0", a / b <= 1.0, spread=f"{spread(ta)} / {spread(tb)}",
                    note=f"{len(data)} samples; specc batch map, minisom online rule"))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.som")
    p.add_argument("--quick", action="store_true", help="3 seeds, 5 timed fits a side")
    args = p.parse_args(argv)
    from .report import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
