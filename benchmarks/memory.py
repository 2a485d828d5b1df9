"""Peak resident memory of training the seed CNN (3x128x128, batch 32): specc's engine vs the
plain hand-written PyTorch loop, each in a fresh process (max RSS from the OS).

Run: ``python -m benchmarks.memory [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import Row, med, python

CHILD = r"""
import json, resource, sys
from pathlib import Path
from benchmarks import train_throughput as tt
side, data, out, n = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
if side == "specc":
    tt.specc_rate(tt.spec_dict(data), out, n)
else:
    tt.hand_rate(data, n)
print(json.dumps({"maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def peak_rss(side: str, data: Path, out: Path, n: int) -> float:
    res = subprocess.run([python(), "-c", CHILD, side, str(data), str(out), str(n)],
                         capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    return json.loads(res.stdout.strip().splitlines()[-1])["maxrss_kib"] / 1024


def memory(quick: bool = False) -> list[Row]:
    from .train_throughput import make_data

    n = 96 if quick else 256
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(Path(tmp), n)
        a, b = [], []
        for r in range(rounds):
            for side in (("specc", "hand") if r % 2 == 0 else ("hand", "specc")):
                mib = peak_rss(side, data, Path(tmp) / f"run{r}", n)
                (a if side == "specc" else b).append(mib)
    ra, rb = med(a), med(b)
    return [Row("peak RSS training seed CNN b32: specc vs plain loop", ra, rb, ra / rb,
                "<= 1.1", ra / rb <= 1.1, unit="MiB",
                note=f"{n} samples of 3x128x128 held in memory by both")]


def main(argv: list[str] | None = None) -> None:
    from .report import print_table

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    print_table(memory(args.quick))


if __name__ == "__main__":
    main(sys.argv[1:])
