"""Boltzmann machine 4-2-4: how often a run solves the encoder problem, with and without
restarts, and the time a run takes.

    OMP_NUM_THREADS=1 python -m benchmarks.boltzmann [--quick] [--seeds N]

Each seed trains the ``boltzmann_machine`` spec (``train.seed`` = the seed) once with
``restarts: 1`` and once with the spec's restarts (10, the best machine by exact
log-likelihood kept); a run solves the problem when the saved machine's mean-field completion
of each clamped pattern has its largest unit at that pattern. There is no peer library for
Boltzmann machines with hidden units; the figure to beat is the recipe's own single-run
rate (ZOO.md: 3-4 in 10).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .common import Row

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "boltzmann_machine.yaml"


def solved(run: Any) -> bool:
    """Whether the run's machine completes all 4 patterns (argmax = the clamped unit)."""
    out = run.predict(np.eye(4, dtype=np.float32))
    values = np.asarray(next(iter(out.values())) if isinstance(out, dict) else out)
    return values.argmax(1).tolist() == [0, 1, 2, 3]


def trial(seed: int, restarts: int | None, tmp: Path) -> tuple[bool, float]:
    """(solved, seconds) of one training of the spec with this seed and restarts."""
    from specc.train.api import train

    spec = yaml.safe_load(SPEC.read_text())
    spec["train"]["seed"] = seed
    if restarts is not None:
        spec["train"]["restarts"] = restarts
    t0 = time.perf_counter()
    run = train(copy.deepcopy(spec), out=tmp / f"s{seed}_r{restarts}", quiet=True)
    return solved(run), time.perf_counter() - t0


def run(quick: bool, seeds: int | None = None) -> list[Row]:
    n = seeds or (4 if quick else 20)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for restarts, label in ((1, "1 machine"), (None, "spec's restarts")):
            results = [trial(s, restarts, Path(d)) for s in range(n)]
            rate = sum(ok for ok, _ in results) / n
            times = [t for _, t in results]
            rows.append(Row(f"4-2-4 solved, {label}", rate, None, None,
                            "restarts: ~99% (ZOO.md)" if restarts is None else "-", None,
                            unit="rate", note=f"{sum(ok for ok, _ in results)}/{n} seeds; "
                            f"median {statistics.median(times):.1f} s a run "
                            f"(max {max(times):.1f} s)",
                            extra={"seconds": times}))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=None)
    args = ap.parse_args()
    for row in run(args.quick, args.seeds):
        print(f"{row.benchmark}: {row.specc:.2f} ({row.note})")


if __name__ == "__main__":
    main()
