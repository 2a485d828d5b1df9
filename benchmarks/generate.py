"""``specc generate``: characters per second carrying the LSTM state (the ``step`` form) against
the old windowed generation (the network re-run over the last 100 characters for each one),
side by side in one process on the char_rnn spec (embedding 32, LSTM 256, 103 characters).

    OMP_NUM_THREADS=1 python -m benchmarks.generate [--quick]

A char_rnn run is trained for one short epoch first (per-character cost does not depend on
the weights). Both sides start from the same 100-character prompt, so the window is full from
the first character, as it is in any generation longer than the window; each call generates
``LENGTH`` characters with the same seed. One thread, as ``specc generate`` uses. The sides
alternate after a warm-up; the medians are compared, in CPU time of the thread (the ratio;
on shared cores wall time mostly measures the other processes) and in wall time (the note).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .common import Row, med, spread

LENGTH = 100
PROMPT = ("Python's help texts describe each statement and operator; this prompt is one "
          "window of 100 chars.")


def trained_run(folder: Path) -> Path:
    from specc.train.api import train

    out = folder / "run"
    train("char_rnn", out=out, quiet=True, overrides=["train.epochs=1",
                                                     "train.data.max_chars=8000"])
    return out


def timed(fn: Callable[[], object]) -> Callable[[], tuple[float, float]]:
    """``fn`` returning (its thread CPU seconds, its wall seconds) instead."""

    def call() -> tuple[float, float]:
        c0, w0 = time.thread_time(), time.perf_counter()
        fn()
        return time.thread_time() - c0, time.perf_counter() - w0

    return call


def run(quick: bool = False) -> list[Row]:
    import torch

    from specc.text_generation import generate, load_text_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tm = load_text_model(trained_run(Path(tmp)))
        prompt = "".join(c if c in tm.index else " " for c in PROMPT)[:tm.context]

        def stepped() -> str:
            return generate(tm, length=LENGTH, prompt=prompt, seed=0)

        def windowed() -> str:
            return generate(tm, length=LENGTH, prompt=prompt, seed=0, windowed=True)

        same = sum(a == b for a, b in zip(stepped(), windowed(), strict=True))
        ca, cb, wa, wb = [], [], [], []
        for _ in range(3 if quick else 9):  # interleave() times the calls; these time inside
            for fn, cpu, wall in ((timed(stepped), ca, wa), (timed(windowed), cb, wb)):
                c, w = fn()
                cpu.append(c)
                wall.append(w)
    finally:
        torch.set_num_threads(threads)
    a, b = LENGTH / med(ca), LENGTH / med(cb)
    return [Row("specc generate char_rnn: characters per CPU second carrying the state vs "
                "re-running the 100-character window", a, b, a / b,
                ">= 10x (higher is better)", a / b >= 10, unit="chars/s",
                spread=f"{spread(ca)} / {spread(cb)}",
                note=f"CPU {1e3 / a:.2f} vs {1e3 / b:.2f} ms a character; wall "
                f"{1e3 * med(wa) / LENGTH:.2f} vs {1e3 * med(wb) / LENGTH:.2f} ms "
                f"({med(wb) / med(wa):.1f}x); {LENGTH} characters a call; {same}/{LENGTH} "
                "characters the same as the windowed sample at seed 0")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.generate")
    p.add_argument("--quick", action="store_true", help="3 timed calls a side")
    args = p.parse_args(argv)
    from .report import print_table

    rows = run(args.quick)
    print_table(rows)
    for row in rows:
        print(row.note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
