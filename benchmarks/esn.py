"""Echo state network: specc's ``echo_state_network`` spec against reservoirpy's ``Reservoir``
>> ``Ridge`` with the same settings on the same data (Mackey-Glass tau 17, the spec's own
prepared train and test parts), side by side in one process.

    OMP_NUM_THREADS=1 python -m benchmarks.esn [--quick]

Both sides: 500 tanh units, spectral radius 1.0, recurrent density 0.01, dense input weights
uniform in +-1, biases uniform in +-0.2, u = tanh(x - 1), washout 500, ridge 1e-9 with an
unpenalised bias, trained with teacher forcing on the next value. The random draws differ (each
library its own generator), so quality is the median over reservoir seeds. 1-step NRMSE is read
on the test part after its first 500 steps; the free-run NRMSE at step 84 over the same start
points on both sides (every 10 steps, 500 true steps of warm-up each), divided by the test
series' std.

Fit time is measured in-process around the fit only, on data already in memory: specc's
reservoir run, float64 sums and ridge solve (``begin``, ``accumulate``, ``solve``);
reservoirpy's ``Model.fit`` (its reservoir run, with a sparse recurrent matrix, and its ridge).
The sides alternate after a warm-up and the medians are compared.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from .common import Row, fit_pass, interleave, med, regime_of, spread

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "echo_state_network.yaml"
WASHOUT, HORIZON, WARMUP, STRIDE = 500, 84, 500, 10


def specc_regime(seed: int) -> Any:
    """The spec's least-squares regime, set up (data prepared, network built) for ``seed``."""
    return regime_of(SPEC, [f"nodes.reservoir.seed={seed}"])


def series(regime: Any) -> dict[str, np.ndarray]:
    """The spec's own prepared parts (inputs and next-value targets, (T, 1) each)."""
    parts = regime.data.prepared.parts
    return {f"{k}_{split}": getattr(parts[split], k + "s")[name][0]
            for split in ("train", "test") for k, name in (("input", "x"), ("target", "readout"))}


def peer_model(seed: int) -> Any:
    from reservoirpy.mat_gen import uniform
    from reservoirpy.nodes import Reservoir, Ridge

    reservoir = Reservoir(500, sr=1.0, rc_connectivity=0.01, input_connectivity=1.0,
                          input_scaling=1.0, W=uniform, Win=uniform,
                          bias=uniform(low=-0.2, high=0.2), seed=seed)
    return reservoir >> Ridge(ridge=1e-9)


def peer_fit(model: Any, data: dict[str, np.ndarray]) -> None:
    _reset(model)
    u = np.tanh(data["input_train"].astype(np.float64) - 1)
    # float64 targets: with float32 ones reservoirpy's ridge at 1e-9 misfits (NRMSE 0.1)
    model.fit(u, data["target_train"].astype(np.float64), warmup=WASHOUT)


def _reset(model: Any) -> None:
    """Zero the peer's reservoir state (a node has none before its first run)."""
    if all(node.initialized for node in model.nodes):
        model.reset()


def peer_quality(model: Any, data: dict[str, np.ndarray]) -> tuple[float, float]:
    """(1-step NRMSE after the washout, free-run NRMSE at HORIZON) on the test part."""
    x, y = data["input_test"].astype(np.float64), data["target_test"].astype(np.float64)
    _reset(model)
    pred = model.run(np.tanh(x - 1))[WASHOUT:]
    one = float(np.sqrt(np.mean((pred - y[WASHOUT:]) ** 2)) / y[WASHOUT:].std())
    errors = []
    for s in range(WARMUP, len(x) - HORIZON + 1, STRIDE):
        _reset(model)
        out = model.run(np.tanh(x[s - WARMUP:s] - 1))[-1]
        for _ in range(HORIZON - 1):
            out = model.step(np.tanh(out - 1))
        errors.append(float(out[0]) - float(x[s + HORIZON - 1, 0]))
    return one, float(np.sqrt(np.mean(np.square(errors))) / x.std())


def run(quick: bool = False) -> list[Row]:
    try:
        import reservoirpy  # noqa: F401
    except ImportError:
        return [Row("ESN mackey_glass: specc vs reservoirpy", None, None, None, "-", None,
                    note="peer not installed (pip install 'specc[bench]')")]
    seeds = range(3 if quick else 5)
    regimes = [specc_regime(s) for s in seeds]
    data = series(regimes[0])
    ours, theirs = [], []
    for s, reg in zip(seeds, regimes, strict=True):
        fit_pass(reg)
        logs = reg.evaluate("test")
        ours.append((logs["nrmse"], logs["free_run_nrmse"]))
        peer = peer_model(s)
        peer_fit(peer, data)
        theirs.append(peer_quality(peer, data))
    reg, peer = regimes[0], peer_model(0)
    ta, tb = interleave(lambda: fit_pass(reg), lambda: peer_fit(peer, data),
                        repeats=3 if quick else 9, warmup=1)
    a, b = med(ta), med(tb)
    rows = []
    for i, what in enumerate(("1-step NRMSE", f"free-run NRMSE at step {HORIZON}")):
        mine, peers = (statistics.median(q[i] for q in qs) for qs in (ours, theirs))
        rows.append(Row(f"ESN mackey_glass {what} (median of seeds): specc vs reservoirpy",
                        mine, peers, mine / peers, "<= 1.0 (lower is better)", mine <= peers,
                        unit="", note="specc " + ", ".join(f"{q[i]:.2g}" for q in ours)
                        + "; reservoirpy " + ", ".join(f"{q[i]:.2g}" for q in theirs)))
    rows.append(Row("ESN mackey_glass fit: specc vs reservoirpy (ESN + Ridge)", a, b, a / b,
                    "<= 1.0", a / b <= 1.0, spread=f"{spread(ta)} / {spread(tb)}",
                    note=f"{len(data['input_train'])} training steps, washout {WASHOUT}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.esn")
    p.add_argument("--quick", action="store_true", help="3 seeds, 3 timed fits a side")
    args = p.parse_args(argv)
    from .report import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
