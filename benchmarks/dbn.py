"""Deep belief network: the ``dbn`` spec (two rbms pretrained greedily with CD-1, then the
whole network fine-tuned by backprop) against the same network trained by the same fine-tune
alone, without pretraining, on the same split (digits 80/20, seed 0), in one process.

    OMP_NUM_THREADS=1 python -m benchmarks.dbn [--quick]

Accuracy is on the held-out 20% (the last checkpoint), the median over training seeds; time is
the whole ``train`` call (pretraining phases included for the DBN), median over the same seeds,
the two sides alternating.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from .common import Row

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "dbn.yaml"
BAR = 0.975


def without_pretraining(doc: dict[str, Any]) -> dict[str, Any]:
    """The same network and fine-tune with ``regime: backprop`` from the start."""
    from specc.train.composite import SHARED

    doc = copy.deepcopy(doc)
    train = doc["train"]
    doc["train"] = {"regime": "backprop", **{k: train[k] for k in SHARED if k in train},
                    **train["finetune"]}
    doc["name"] = "dbn_without_pretraining"
    return doc


def train_one(doc: dict[str, Any], out: Path) -> dict[str, Any]:
    """Train ``doc``; held-out accuracy and size of the last checkpoint, and the seconds."""
    from specc.train.api import evaluate, train

    t0 = time.perf_counter()
    run = train(doc, out=out, quiet=True)
    seconds = time.perf_counter() - t0
    result = evaluate(run.dir, checkpoint="last")
    return {"accuracy": float(result["accuracy"]), "n": int(result["n"]), "seconds": seconds}


def train_both(seed: int, where: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The DBN and the same net without pretraining, trained with ``train.seed = seed``."""
    doc = yaml.safe_load(SPEC.read_text())
    doc["train"]["seed"] = seed
    dbn = train_one(doc, where / f"dbn_{seed}")
    plain = train_one(without_pretraining(doc), where / f"plain_{seed}")
    return dbn, plain


def run(quick: bool = False) -> list[Row]:
    seeds = range(1 if quick else 3)
    with tempfile.TemporaryDirectory() as tmp:
        pairs = [train_both(s, Path(tmp)) for s in seeds]
    acc = [statistics.median(p[i]["accuracy"] for p in pairs) for i in (0, 1)]
    secs = [[p[i]["seconds"] for p in pairs] for i in (0, 1)]
    figures = [", ".join(f"{p[i]['accuracy']:.3f}" for p in pairs) for i in (0, 1)]
    note = f"{len(pairs)} seed(s): DBN {figures[0]}, without pretraining {figures[1]}"
    ratio = statistics.median(secs[0]) / statistics.median(secs[1])
    return [
        Row("DBN digits accuracy (median of seeds) vs the same net without pretraining",
            acc[0] * 100, acc[1] * 100, acc[0] / acc[1],
            f">= {BAR:.1%} and above the net without pretraining",
            acc[0] >= BAR and acc[0] > acc[1], unit="%", note=note,
            extra={"dbn": [p[0]["accuracy"] for p in pairs],
                   "without_pretraining": [p[1]["accuracy"] for p in pairs]}),
        Row("DBN digits train time vs the same net without pretraining",
            statistics.median(secs[0]), statistics.median(secs[1]), ratio,
            "reported: pretraining adds 2 x 30 CD epochs", None,
            note="range " + " / ".join(f"{min(t):.1f}-{max(t):.1f} s" for t in secs)),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.dbn")
    p.add_argument("--quick", action="store_true", help="one seed")
    args = p.parse_args(argv)
    from .report import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
