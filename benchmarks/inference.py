"""Inference benchmarks: specc's onnxruntime session and exported models vs their peers.

1. ``InferenceSession.run`` vs a bare ``onnxruntime.InferenceSession.run`` on the same file
   and options, batch 1 (target: ratio <= 1.05).
2. onnxruntime running the specc export vs PyTorch eager (eval, inference mode) at batch 1
   and 64, for the seed CNN (3x128x128), an MLP, an LSTM and ResNet-18 (224x224). Targets are
   the ratios measured in the issue's spike.
3. Export plus parity check of ResNet-50 (224x224), in process (target: under 15 s).

Every comparison alternates its two sides (A B A B ...) after a warm-up and reports the ratio
of medians. Run: ``python -m benchmarks.inference [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .common import Row, interleave, med, spread

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


@dataclass
class Model:
    """A benchmark model: a spec (path or dict), overrides, and the issue's ORT/torch targets."""

    label: str
    spec: Any
    overrides: tuple[str, ...] = ()
    seq: int = 50  # sequence length for dynamic axes
    targets: tuple[float, float] | None = None  # onnxruntime / torch at batch 1, 64


LSTM = {"specc": 1, "name": "lstm_classifier", "inputs": {"seq": [None, 32]},
        "layers": [{"lstm": {"units": 128}}, {"dense": {"units": 10, "activation": "softmax"}}]}
MODELS = [
    # the seed CNN: conv16 2x2 relu, maxpool 2, conv32 2x2 relu, maxpool 2, dense 100, dense 10
    Model("seed CNN 3x128x128", SPECS / "dcn.yaml",
          ("params.channels=3", "params.height=128", "params.width=128"), targets=(0.15, 0.15)),
    Model("MLP 64-256-128-64-10", SPECS / "deep_feed_forward.yaml", targets=(0.6, 0.6)),
    Model("LSTM 32->128, 50 steps", LSTM, targets=(0.75, 0.75)),
    Model("ResNet-18 224x224", SPECS / "resnet18.yaml", targets=(0.2, 0.2)),
]


def _export(model: Model, folder: Path) -> tuple[Any, Path, Any]:
    """(torch module in eval mode, .onnx path, graph) for a model, exported as specc does."""
    import specc
    from specc.backends.onnx import export
    from specc.backends.onnx.source import load_source

    spec = specc.load(model.spec, list(model.overrides))
    path = folder / f"{spec.name}.onnx"
    export(spec, path)
    loaded = load_source(spec)
    return loaded.module.eval(), path, loaded.graph


def _inputs(graph: Any, batch: int, seq: int) -> dict[str, np.ndarray]:
    from specc.backends.onnx.export import int_highs
    from specc.backends.onnx.parity import random_inputs

    return random_inputs(graph.inputs, batch, seq, np.random.default_rng(0), int_highs(graph))


THREADS: int | None = None  # --threads: intra-op threads of torch and onnxruntime


def _session(path: Path) -> Any:
    from specc.backends.onnx import InferenceSession

    return InferenceSession(path, "cpu", threads=THREADS)


def _bare_session(path: Path) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if THREADS:
        opts.intra_op_num_threads = THREADS
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def overhead(models: list[tuple[Model, Any, Path, Any]], quick: bool) -> list[Row]:
    """specc InferenceSession.run vs bare onnxruntime run at batch 1."""
    rows = []
    for model, _, path, graph in models:
        ours = _session(path)
        bare = _bare_session(path)
        feeds = _inputs(graph, 1, model.seq)
        a, b = _specc_call(ours, feeds), _bare_call(bare, feeds)
        per_call = _time_once(b)
        inner = max(1, int(0.02 / max(per_call, 1e-7)))  # ~20 ms per timed block
        ta, tb = interleave(a, b, repeats=10 if quick else 40, warmup=3, inner=inner)
        ratio = med(ta) / med(tb)
        rows.append(Row(f"InferenceSession vs bare ort, b1, {model.label}", med(ta), med(tb),
                        ratio, "<= 1.05", ratio <= 1.05, spread=_spread(ta, tb)))
    rows.append(_added_cost(models[0][2], models[0][3], quick))
    return rows


def _added_cost(path: Path, graph: Any, quick: bool) -> Row:
    """What InferenceSession.run adds per call, against a stub in place of onnxruntime (the
    best of many runs: immune to the noise of a shared machine)."""
    import timeit

    ours = _session(path)
    feeds = _inputs(graph, 1, 1)
    result = [next(iter(feeds.values()))]

    def stub(names: Any, feed: Any, options: Any = None) -> list[np.ndarray]:
        return result

    ours._run = stub
    ours.run = ours._fast_run(ours.inputs[0])
    call, bare = _specc_call(ours, feeds), _bare_call(_Stub(stub), feeds)
    repeat = 10 if quick else 40
    a = min(timeit.repeat(call, number=20000, repeat=repeat)) / 20000
    b = min(timeit.repeat(bare, number=20000, repeat=repeat)) / 20000
    return Row("InferenceSession.run added cost per call (vs stub)", a - b, None, None,
               "report", None, note=f"{(a - b) * 1e9:.0f} ns: checks + dispatch")


class _Stub:
    def __init__(self, fn: Any) -> None:
        self.run = fn


def versus_torch(models: list[tuple[Model, Any, Path, Any]], quick: bool) -> list[Row]:
    """onnxruntime (specc export) vs PyTorch eager at batch 1 and 64."""
    rows = []
    for model, module, path, graph in models:
        session = _session(path)
        for batch, target in zip((1, 64), model.targets or (None, None), strict=True):
            feeds = _inputs(graph, batch, model.seq)
            a, b = _specc_call(session, feeds), _torch_call(module, feeds)
            per_call = _time_once(b)
            budget = 6.0 if quick else 20.0  # seconds for the whole comparison
            repeats = int(min(40, max(3, budget / (2 * max(per_call, 1e-6)))))
            inner = max(1, int(0.02 / max(per_call, 1e-7)))
            ta, tb = interleave(a, b, repeats=repeats, warmup=2, inner=inner)
            ratio = med(ta) / med(tb)
            met = None if target is None else ratio <= target
            rows.append(Row(f"onnxruntime vs torch eager, b{batch}, {model.label}", med(ta),
                            med(tb), ratio, "report" if target is None else f"<= {target}",
                            met, spread=_spread(ta, tb)))
    return rows


def export_resnet50(quick: bool) -> list[Row]:
    """Export + checker + parity of ResNet-50 (224x224), in process, after imports."""
    import specc
    from specc.backends.onnx import export

    spec = specc.load(SPECS / "resnet50.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = export(spec, Path(tmp) / "resnet50.onnx")
        total = time.perf_counter() - t0
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    return [Row("export + parity, ResNet-50 224x224", total, None, None, "< 15 s", total < 15,
                note=f"{parts}; build {total - sum(result.seconds.values()):.1f} s")]


def _spread(ta: list[float], tb: list[float]) -> str:
    """Spread of the specc side, and the ratio of the best runs (steadier on a busy machine)."""
    return f"{spread(ta)} best-of ratio {min(ta) / min(tb):.3f}".strip()


def _specc_call(session: Any, feeds: dict[str, np.ndarray]) -> Any:
    """``session.run`` as a user calls it: one array for single-input models."""
    arg = next(iter(feeds.values())) if len(feeds) == 1 else feeds
    return lambda: session.run(arg)


def _bare_call(session: Any, feeds: dict[str, np.ndarray]) -> Any:
    return lambda: session.run(None, feeds)


def _torch_call(module: Any, feeds: dict[str, np.ndarray]) -> Any:
    import torch

    tensors = [torch.from_numpy(v) for v in feeds.values()]

    def call() -> Any:
        with torch.inference_mode():
            return module(*tensors)

    return call


def _time_once(fn: Any) -> float:
    fn()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(quick: bool = False, names: list[str] | None = None) -> list[Row]:
    chosen = [m for m in MODELS if not names or any(n.lower() in m.label.lower() for n in names)]
    with tempfile.TemporaryDirectory() as tmp:
        models = [(m, *_export(m, Path(tmp))) for m in chosen]
        rows = overhead(models, quick) + versus_torch(models, quick)
    if not names or "resnet50" in names:
        rows += export_resnet50(quick)
    return rows


def main(argv: list[str] | None = None) -> None:
    from .report import print_table

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="Fewer repetitions.")
    p.add_argument("--models", help="Comma-separated subset: cnn, mlp, lstm, resnet-18, "
                                    "resnet50.")
    p.add_argument("--json", help="Also write the rows as JSON here.")
    p.add_argument("--threads", type=int, help="Intra-op threads for torch and onnxruntime "
                                                "(default: theirs, one per core).")
    args = p.parse_args(argv)
    if args.threads:
        import torch

        global THREADS
        THREADS = args.threads
        torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores: {os.cpu_count()}, threads: {args.threads or 'default'}, load average at "
          f"start: {load:.1f}")
    rows = run(args.quick, args.models.split(",") if args.models else None)
    print_table(rows, args.json)


if __name__ == "__main__":
    main(sys.argv[1:])
