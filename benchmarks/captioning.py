"""Image captioning: the ``image_captioning`` spec trained to its bar, and its greedy decoder
exported as one ONNX graph against PyTorch.

    OMP_NUM_THREADS=1 python -m benchmarks.captioning [--quick]

Bar: >= 95% of held-out strips (mnist5k's held-out digits only) captioned exactly by greedy
decoding, read at the last epoch (``val_exact_sequence``; ``val_token_accuracy`` beside it).
Training time is wall-clock and process CPU seconds of ``specc.train`` on one thread (the load
average is printed beside it: the machines are shared). ``--quick`` trains 3 epochs (no bar).

Decode: the trained run's ``decode`` form (4 steps unrolled, encoder run once) in onnxruntime
against the same greedy loop in PyTorch (the form's module, built once, under inference mode;
what ``specc.forms.greedy_decode`` runs), one thread each, on the same preprocessed strips at
batch 1 and 64, interleaved after a warm-up (medians); the tokens are checked identical.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import Row, interleave, med, spread

BAR = 0.95


def train(out: Path, quick: bool) -> tuple[Any, float, float]:
    """(run, wall seconds, CPU seconds) of the spec trained on one thread."""
    import torch

    import specc

    torch.set_num_threads(1)
    wall, cpu = time.perf_counter(), time.process_time()
    run = specc.train("image_captioning", out=out, quiet=True, epochs=3 if quick else None)
    return run, time.perf_counter() - wall, time.process_time() - cpu


def decode_rows(run_dir: Path, tmp: Path, quick: bool) -> list[Row]:
    """onnxruntime's one-graph greedy decode vs PyTorch's greedy loop at batch 1 and 64."""
    import onnxruntime as ort
    import torch

    import specc
    from specc.data.digit_strips import DigitStrips, DigitStripsParams
    from specc.forms import build_form
    from specc.train.api import load_regime

    spec, regime, _ = load_regime(run_dir)
    module = build_form(regime.models[spec.graph.name], spec.graph, spec.forms["decode"]).module
    module.eval()
    result = specc.export(run_dir, tmp / "decode.onnx", form="decode", preprocess=False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(result.path), opts, providers=["CPUExecutionProvider"])
    strips = DigitStrips.load(DigitStripsParams(n_train=1, n_val=64)).arrays["x"][1:]
    rows = []
    for batch in (1, 64):
        image = (strips[:batch, None] / 255.0).astype(np.float32)
        tensor = torch.from_numpy(image)
        with torch.inference_mode():
            onnx_tokens = session.run(None, {"image": image})[0]
            same = bool(np.array_equal(onnx_tokens, module(tensor).numpy()))
            t_onnx, t_torch = interleave(lambda i=image: session.run(None, {"image": i}),
                                         lambda t=tensor: module(t),
                                         repeats=10 if quick else 40)
        ratio = med(t_onnx) / med(t_torch)
        rows.append(Row(f"captioner greedy decode, batch {batch}: onnxruntime one graph vs "
                        "PyTorch greedy loop", med(t_onnx), med(t_torch), ratio,
                        "tokens identical; reported", same,
                        spread=f"{spread(t_onnx)} / {spread(t_torch)}",
                        note=f"tokens identical: {same}"))
    return rows


def run(quick: bool = False) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        load = os.getloadavg()[0]
        trained, wall, cpu = train(Path(tmp) / "run", quick)
        exact, words = trained.logs["val_exact_sequence"], trained.logs["val_token_accuracy"]
        epochs = len(trained.metrics)
        rows = [Row("image_captioning exact held-out captions (greedy)", exact * 100, None,
                    None, f">= {BAR:.0%}", None if quick else exact >= BAR, unit="%",
                    note=f"{words:.1%} of tokens; {epochs} epochs in {wall:.0f} s wall, "
                    f"{cpu:.0f} s CPU, load {load:.1f}",
                    extra={"exact": exact, "tokens": words, "wall_s": wall, "cpu_s": cpu,
                           "epochs": epochs, "load": load})]
        return rows + decode_rows(trained.dir, Path(tmp), quick)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.captioning")
    p.add_argument("--quick", action="store_true", help="3 epochs (no bar), fewer repeats")
    args = p.parse_args(argv)
    from .report import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
