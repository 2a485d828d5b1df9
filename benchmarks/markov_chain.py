"""Markov chain: specc's ``markov_chain`` spec (``counting`` regime) against a plain-Python
counting chain (a dict of ``collections.Counter``, the same add-0.1 smoothing) on the same
text (``pydoc_topics``, last 10% held out), side by side in one process, for n-gram orders
2 to 5 (order 3 is the family's bar).

    OMP_NUM_THREADS=1 python -m benchmarks.markov_chain [--quick]

Fit time is measured in-process around the fit only, both sides on data already in memory:
specc's ``begin``, ``accumulate`` over the training batches and ``solve`` (the counts become
the chain's probability table); the plain chain counts the training text into a dict of
Counters and turns each context's counts into smoothed probabilities, as specc's solve does.
Process start, data loading and evaluation are not part of either figure. The sides
alternate after a warm-up and the medians are compared. Quality is held-out bits per
character (the same numbers on both sides when the counts agree).
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from pathlib import Path
from typing import Any

from .common import Row, fit_pass, interleave, med, regime_of, spread

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "markov_chain.yaml"
ALPHA = 0.1


def specc_regime(order: int) -> Any:
    """The spec's counting regime at ``order``, set up (text prepared, chain built)."""
    return regime_of(SPEC, [f"order={order}", f"context={order - 1}"])


def texts(regime: Any) -> tuple[str, str, int]:
    """The training and held-out text of the spec's own split, and the vocabulary size."""
    prep = regime.data.prepared
    vocab, ids = prep.raw.vocab, prep.raw.arrays["x"]
    context = regime.graph.inputs[next(iter(regime.graph.inputs))].shape[0]
    train, val = prep.parts["train"], prep.parts["val"]
    start = int(val.index[0])
    text = "".join(vocab[i] for i in ids)
    return text[:train.n + context], text[start:start + val.n + context], len(vocab)


def plain_fit(text: str, order: int, vocab: int) -> dict[str, dict[str, float]]:
    """A plain-Python chain: counts of the next character per context, add-alpha smoothed
    (characters never seen after a context get ``uniform``, read by ``plain_bits``)."""
    k = order - 1
    counts: dict[str, Counter[str]] = {}
    for i in range(len(text) - k):
        ctx = text[i:i + k]
        seen = counts.get(ctx)
        if seen is None:
            seen = counts[ctx] = Counter()
        seen[text[i + k]] += 1
    chain = {}
    for ctx, seen in counts.items():
        total = sum(seen.values()) + ALPHA * vocab
        probs = {c: (n + ALPHA) / total for c, n in seen.items()}
        probs[""] = ALPHA / total  # any character not seen after ctx
        chain[ctx] = probs
    return chain


def plain_bits(chain: dict[str, dict[str, float]], text: str, order: int, vocab: int) -> float:
    k, bits = order - 1, 0.0
    for i in range(len(text) - k):
        probs = chain.get(text[i:i + k])
        p = 1 / vocab if probs is None else probs.get(text[i + k], probs[""])
        bits -= math.log2(p)
    return bits / (len(text) - k)


def run(quick: bool = False) -> list[Row]:
    rows = []
    for order in ((3,) if quick else (2, 3, 4, 5)):
        reg = specc_regime(order)
        train, val, vocab = texts(reg)
        fit_pass(reg)
        ours = reg.evaluate("val")["bits_per_char"]
        peer = plain_bits(plain_fit(train, order, vocab), val, order, vocab)
        ta, tb = interleave(lambda r=reg: fit_pass(r),
                            lambda t=train, o=order, v=vocab: plain_fit(t, o, v),
                            repeats=3 if quick else 7, warmup=1)
        a, b = med(ta), med(tb)
        bar = " (the bar: 2.50 +- 0.05)" if order == 3 else ""
        rows += [
            Row(f"Markov chain order {order} held-out bits/char: specc vs plain Python{bar}",
                ours, peer, ours / peer, "<= 1.0 (lower is better)", ours <= peer * (1 + 1e-6),
                unit="bits", note=f"specc {ours:.4f}, peer {peer:.4f} bits/char; "
                f"{len(reg.chain.contexts):,} contexts seen"),
            Row(f"Markov chain order {order} fit: specc vs plain Python", a, b, a / b,
                "<= 1.0", a / b <= 1.0, spread=f"{spread(ta)} / {spread(tb)}",
                note=f"{reg.data.train.n:,} training windows"),
        ]
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.markov_chain")
    p.add_argument("--quick", action="store_true", help="order 3 only, 3 timed fits a side")
    args = p.parse_args(argv)
    from .report import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
