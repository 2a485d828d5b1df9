"""Neural Turing machine: the ``neural_turing_machine`` spec trained to its bar, training
sequences per second, and its ``step`` form in onnxruntime against PyTorch eager.

    OMP_NUM_THREADS=1 python -m benchmarks.ntm [--quick] [--seed N] [--epochs N] [--run DIR]

Bar: < 1 wrong bit per sequence (``val_bit_errors``: threshold 0.5, recall steps only,
averaged over the 500 fixed held-out sequences of lengths 1-10) within 20 minutes of training
on 2 cores. Reported: the first epoch that meets it with the training time up to there (the
metrics' per-epoch ``time`` column summed: wall seconds), the process CPU seconds of the whole
run and the load average (the machines are shared), training sequences per second, and the
bit errors on 500 fresh sequences of length 20 (twice the longest trained). ``--quick``
trains 2 epochs (no bar). ``--run DIR`` reports on a run trained already (e.g. by ``specc train
neural_turing_machine``) instead of training one; its CPU seconds are then not known.

Step: the trained run's ``step`` form (one time step, every state tensor in and out) in
onnxruntime against ``module.step`` in PyTorch eager under inference mode, one thread each,
batch 1, interleaved after a warm-up (medians); the outputs are checked to agree.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import Row, interleave, med, spread

BAR = 1.0
BUDGET = 20 * 60  # seconds
PER_EPOCH = 2000  # training sequences an epoch: the spec's n (2500) less the 500 held out


def train(out: Path, quick: bool, seed: int, epochs: int | None) -> tuple[Any, float]:
    """(run, process CPU seconds) of the spec trained on one thread."""
    import torch

    import specc

    torch.set_num_threads(1)
    cpu = time.process_time()
    run = specc.train("neural_turing_machine", out=out, quiet=True, seed=seed,
                      epochs=2 if quick else epochs)
    return run, time.process_time() - cpu


def first_bar(run_dir: Path) -> tuple[int | None, float, float, list[dict[str, str]]]:
    """(first epoch meeting the bar or None, training seconds up to it or in all, best
    val_bit_errors, the rows)."""
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    elapsed, hit = 0.0, None
    for row in rows:
        elapsed += float(row["time"])
        if float(row["val_bit_errors"]) < BAR:
            hit = int(row["epoch"])
            break
    return hit, elapsed, min(float(r["val_bit_errors"]) for r in rows), rows


def long_sequences(model: Any, length: int = 20, n: int = 500) -> float:
    """Wrong bits per sequence on ``n`` fresh copy sequences of exactly ``length``."""
    import torch

    from specc.data.synthetic import copy_sequences
    from specc.train.copy_metrics import count_bit_errors

    arrays = copy_sequences(np.random.default_rng(12345), n, 8, length, length, length)
    x, y, mask = (torch.from_numpy(arrays[k]) for k in ("x", "y", "mask"))
    with torch.inference_mode():
        return float(count_bit_errors(model(x), y, mask).mean())


def step_rows(run_dir: Path, tmp: Path, quick: bool) -> list[Row]:
    """onnxruntime's ``step`` form vs ``module.step`` in PyTorch eager, batch 1."""
    import onnxruntime as ort
    import torch

    import specc
    from specc.train.api import load_model

    model = load_model(run_dir)
    machine = next(m for m in model.modules() if getattr(m, "stateful", False))
    result = specc.export(run_dir, tmp / "step.onnx", form="step", preprocess=False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(result.path), opts, providers=["CPUExecutionProvider"])
    state = machine.initial_state(1)
    x = torch.zeros(1, 10)
    x[0, 8] = 1.0  # the start flag
    feeds = {"sequence": x.numpy(), **{f"machine.{k}": v.numpy() for k, v in state.items()}}
    with torch.inference_mode():
        y, _ = machine.step(x, state)
        same = bool(np.allclose(session.run(None, feeds)[0], torch.sigmoid(y).numpy(),
                                atol=1e-5))
        t_onnx, t_torch = interleave(lambda: session.run(None, feeds),
                                     lambda: machine.step(x, state),
                                     repeats=20 if quick else 200)
    ratio = med(t_onnx) / med(t_torch)
    return [Row("NTM step form, batch 1: onnxruntime vs PyTorch eager", med(t_onnx),
                med(t_torch), ratio, "outputs agree; reported", same,
                spread=f"{spread(t_onnx)} / {spread(t_torch)}", note=f"agree: {same}")]


def run(quick: bool = False, seed: int = 0, epochs: int | None = None,
        existing: Path | None = None) -> list[Row]:
    from specc.train.api import load_model

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        load = os.getloadavg()[0]
        if existing is None:
            trained, cpu = train(tmp / "run", quick, seed, epochs)
            run_dir = trained.dir
        else:
            run_dir, cpu = existing, float("nan")
        hit, seconds, best, rows = first_bar(run_dir)
        sequences = PER_EPOCH * len(rows)
        train_time = sum(float(r["time"]) for r in rows)
        model = load_model(run_dir)
        length20 = long_sequences(model)
        met = None if quick else (hit is not None and seconds <= BUDGET)
        out = [
            Row("NTM copy task: wrong bits per sequence, lengths 1-10 (best epoch)", best, None,
                None, f"< {BAR:g} within {BUDGET // 60} min", met, unit="bits",
                note=(("" if existing is not None else f"seed {seed}; ")
                      + (f"bar at epoch {hit} after {seconds:.0f} s"
                                          if hit else f"bar not reached in {seconds:.0f} s")
                      + (f"; {cpu:.0f} CPU-s in all" if cpu == cpu else "; an existing run")
                      + f"; load {load:.1f} -> "
                      f"{os.getloadavg()[0]:.1f}")),
            Row("NTM copy task: wrong bits per sequence at length 20", length20, None, None,
                "reported", None, unit="bits"),
            Row("NTM training sequences per second", sequences / train_time, None, None,
                "reported (ZOO: 110-160 at batch 16)", None, unit="seq/s"),
        ]
        return out + step_rows(run_dir, tmp, quick)


def main() -> None:
    from .report import print_table

    p = argparse.ArgumentParser(prog="python -m benchmarks.ntm")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--run", type=Path, default=None, help="report on this trained run")
    args = p.parse_args()
    print_table(run(args.quick, args.seed, args.epochs, args.run), None)


if __name__ == "__main__":
    main()
