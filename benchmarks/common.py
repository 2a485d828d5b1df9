"""Shared benchmark helpers: interleaved A/B timing with medians, spreads and ratios.

These machines are shared and noisy, so every comparison runs both sides alternately
(A B A B ...) after a warm-up and reports the ratio of medians; absolute times drift.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """One line of the benchmark table."""

    benchmark: str
    specc: float | None  # median seconds (or a figure, see unit)
    peer: float | None
    ratio: float | None  # specc / peer (lower is better unless higher_is_better)
    target: str
    met: bool | None
    unit: str = "s"
    spread: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def interleave(a: Callable[[], Any], b: Callable[[], Any], *, repeats: int = 20,
               warmup: int = 3, inner: int = 1) -> tuple[list[float], list[float]]:
    """Time ``a`` and ``b`` alternately; returns per-call seconds for each."""
    for _ in range(warmup):
        a()
        b()
    ta, tb = [], []
    for i in range(repeats):
        order = (a, b) if i % 2 == 0 else (b, a)
        for fn in order:
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            dt = (time.perf_counter() - t0) / inner
            (ta if fn is a else tb).append(dt)
    return ta, tb


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> str:
    """Interquartile range relative to the median, e.g. '±4%'."""
    if len(xs) < 4:
        return ""
    q = statistics.quantiles(xs, n=4)
    m = statistics.median(xs)
    return f"±{(q[2] - q[0]) / 2 / m * 100:.0f}%" if m else ""


def run_process(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def python() -> str:
    return sys.executable


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def regime_of(spec_path: Any, overrides: list[str]) -> Any:
    """The spec's regime set up in this process without a run folder (data prepared, network
    built), for benchmarks that time its parts."""
    import torch

    import specc
    from specc.registry import current
    from specc.train.progress import Progress
    from specc.train.session import Session

    spec = specc.load(spec_path, overrides)
    session = Session(spec, spec.train, device=torch.device("cpu"), run=None,
                      progress=Progress("quiet"))
    regime = current().trainers.get(spec.train.regime)(session)
    regime.setup()
    return regime


def fit_pass(regime: Any) -> None:
    """What the fit loop does between setup and evaluation: the sums over the training
    batches, then the solve."""
    regime.begin()
    bs, train = regime.batch_size(), regime.data.train
    for a in range(0, train.n, bs):
        regime.accumulate(train.batch(slice(a, min(a + bs, train.n)), regime.session.device))
    regime.solve()
