"""Liquid state machine: the ``liquid_state_machine`` spec's simulation throughput (samples x
time steps per second through the rate code and the 400 LIF neurons) in PyTorch and in its ONNX
export under onnxruntime, the exactness of the exported spike counts, and the readout's accuracy
with and without recurrence.

    OMP_NUM_THREADS=1 python -m benchmarks.lsm [--quick]

Both simulations run all 1797 digits (scaled to [0, 1]) in one batch, alternately after a
warm-up; medians are compared. Parity counts the spike counts (1797 x 400) that differ between
onnxruntime and PyTorch: the weights are dyadic, so it must be 0.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .common import Row, fit_pass, interleave, med, regime_of, spread

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "liquid_state_machine.yaml"


def liquid_spec() -> Any:
    """The spec's network up to the liquid's spike counts (the readout and training removed)."""
    import specc

    doc = yaml.safe_load(SPEC.read_text())
    del doc["nodes"]["readout"], doc["train"], doc["labels"]
    doc["outputs"] = ["liquid"]
    return specc.load(doc)


def accuracy(overrides: list[str]) -> float:
    regime = regime_of(SPEC, overrides)
    fit_pass(regime)
    return float(regime.evaluate("val")["accuracy"])


def run(quick: bool = False) -> list[Row]:
    import onnxruntime as ort
    import torch
    from sklearn.datasets import load_digits

    import specc
    from specc.backends.torch import build_module

    spec = liquid_spec()
    steps = spec.graph.nodes["spikes"].params.steps
    x = (load_digits().data / 16.0).astype(np.float32)
    module = build_module(spec.graph, seed=0).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = specc.export(spec, Path(tmp) / "liquid.onnx").path
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name, xt = session.get_inputs()[0].name, torch.from_numpy(x)

    def torch_run() -> np.ndarray:
        with torch.no_grad():
            return module(xt).numpy()

    def ort_run() -> np.ndarray:
        return session.run(None, {name: x})[0]

    differ = int((torch_run() != ort_run()).sum())
    ta, tb = interleave(torch_run, ort_run, repeats=2 if quick else 6, warmup=1)
    work = len(x) * steps
    a, b = work / med(ta), work / med(tb)
    acc, plain = accuracy([]), accuracy(["nodes.liquid.recurrent=false"])
    return [
        Row("LSM simulation throughput (samples x steps / s), PyTorch vs onnxruntime", a, b,
            a / b, "reported (higher is better)", None, unit="/s",
            spread=f"{spread(ta)} / {spread(tb)}",
            note=f"{len(x)} digits x {steps} steps, 400 LIF neurons, one batch, one thread"),
        Row("LSM export parity: spike counts differing from PyTorch", differ, 0, None, "0",
            differ == 0, unit="counts", note=f"of {torch_run().size} (dyadic weights)"),
        Row("LSM digits accuracy: liquid vs the same readout without recurrence", acc * 100,
            plain * 100, acc / plain, "reported (bar: liquid >= 92%)", acc >= 0.92, unit="%",
            note="80/20 split seed 0, ridge 10 on spike counts"),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lsm")
    p.add_argument("--quick", action="store_true", help="2 timed runs a side")
    args = p.parse_args(argv)
    from .report import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
