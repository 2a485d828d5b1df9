"""Gradient accumulation (``train.accumulate``) on the seed CNN on CPU: batch 16 with
``accumulate: 4`` (the update of batch 64) vs batch 64, training throughput. Rounds run
interleaved; medians of samples/s over the steady (second) epoch.

Run: ``python -m benchmarks.accumulate [--quick]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .common import Row, med, spread
from .precision import interleaved, seed_cnn_rate


def run(quick: bool = False) -> list[Row]:
    from .train_throughput import make_data, spec_dict

    n, rounds = (192, 3) if quick else (384, 5)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        doc = spec_dict(make_data(folder, n))
        rates = interleaved({
            "acc": lambda: seed_cnn_rate(doc, folder / "acc", n, batch_size=16, accumulate=4),
            "big": lambda: seed_cnn_rate(doc, folder / "big", n, batch_size=64)}, rounds)
    a, b = med(rates["acc"]), med(rates["big"])
    return [Row("train seed CNN: batch 16 x accumulate 4 vs batch 64", a, b, a / b, "report",
                None, unit="samples/s", spread=f"{spread(rates['acc'])} / {spread(rates['big'])}")]


def main(argv: list[str] | None = None) -> None:
    from .report import cli

    cli(run, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
