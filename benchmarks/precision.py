"""bf16 vs fp32 training (``train.precision``) on the seed CNN on CPU: throughput, and the
accuracy of the built-in ``dcn`` spec trained both ways (full mode only).

bf16 autocast pays on CPUs with bf16 instructions (``avx512_bf16``, AMX); without them the
bf16 matrix products are emulated and training is slower: the table's note names the CPU
and its flags. Rounds run interleaved; medians of samples/s over the steady (second) epoch.

Run: ``python -m benchmarks.precision [--quick]``.
"""

from __future__ import annotations

import copy
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import Row, med, spread


def cpu_note() -> str:
    """The CPU model and whether it has bf16 instructions (avx512_bf16, amx_bf16)."""
    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    has = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    return f"{model}; " + (f"has {', '.join(has)}" if has else "no avx512_bf16 / amx")


def seed_cnn_rate(doc: dict[str, Any], out: Path, n: int, **fields: Any) -> float:
    """Samples/s of the steady (last) epoch of ``doc`` (train fields updated by ``fields``)."""
    from specc.train.api import train

    doc = copy.deepcopy(doc)
    doc["train"].update(fields)
    run = train(doc, out=out, quiet=True, overwrite=True)
    return n / run.metrics[-1]["time"]


def interleaved(sides: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each side ``rounds`` times, in alternating order."""
    values: dict[str, list[float]] = {k: [] for k in sides}
    names = list(sides)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            values[name].append(sides[name]())
    return values


def throughput(quick: bool = False) -> list[Row]:
    from .train_throughput import make_data, spec_dict

    n, rounds = (160, 3) if quick else (320, 5)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        doc = spec_dict(make_data(folder, n))
        rates = interleaved({p: (lambda p=p: seed_cnn_rate(doc, folder / p, n, precision=p))
                             for p in ("bf16", "fp32")}, rounds)
    b, f = med(rates["bf16"]), med(rates["fp32"])
    return [Row(f"train seed CNN b32 on CPU ({cpu_note()}): bf16 vs fp32", b, f, b / f,
                "report", None, unit="samples/s",
                spread=f"{spread(rates['bf16'])} / {spread(rates['fp32'])}")]


def dcn_accuracy() -> list[Row]:
    """The dcn spec trained in fp32 and in bf16: held-out accuracy and training time."""
    import time

    from specc.train.api import train

    acc, secs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for p in ("bf16", "fp32"):
            t0 = time.perf_counter()
            run = train("dcn", out=Path(tmp) / p, quiet=True, overrides=[f"train.precision={p}"])
            secs[p] = time.perf_counter() - t0
            acc[p] = 100 * run.metrics[-1]["val_accuracy"]
    return [Row("dcn spec: val accuracy bf16 vs fp32", acc["bf16"], acc["fp32"],
                acc["bf16"] / acc["fp32"], "report", None, unit="%",
                note=f"train time {secs['bf16']:.0f} s vs {secs['fp32']:.0f} s")]


def run(quick: bool = False) -> list[Row]:
    return throughput(quick) + ([] if quick else dcn_accuracy())


def main(argv: list[str] | None = None) -> None:
    from .report import cli

    cli(run, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
