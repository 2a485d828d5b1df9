"""Training throughput on the seed CNN: specc's engine vs a hand-written PyTorch loop, and vs
Keras 3 ``fit`` (torch backend) when keras is installed.

The seed CNN of the course notes (3x128x128 input, conv16 2x2 relu, maxpool 2, conv32 2x2 relu,
maxpool 2, flatten, dense 100 relu, dense 10 softmax), random data, batch 32, Adam. Each side
trains two epochs per round and the second (steady-state) epoch is timed; rounds run
interleaved (specc, hand, keras, then reversed) and the table shows medians of samples/s.
Also measured: specc's default channels_last layout on CPU vs contiguous.

Run: ``python -m benchmarks.train_throughput [--quick]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Row, med, python, spread

BATCH = 32


def make_data(folder: Path, n: int) -> Path:
    import numpy as np

    rng = np.random.default_rng(0)
    path = folder / "random.npz"
    np.savez(path, x=rng.random((n, 3, 128, 128), dtype=np.float32),
             y=rng.integers(0, 10, n).astype(np.int64))
    return path


def spec_dict(data: Path) -> dict:
    import specc.api

    spec = specc.api.load("dcn", ["params.channels=3", "params.height=128", "params.width=128"])
    doc = {k: v for k, v in spec.resolved.items() if k not in ("specc_version",)}
    doc["train"] = {"data": {"dataset": "npy", "path": str(data), "split": "none"},
                    "loss": "cross_entropy", "optimizer": {"adam": {"lr": 1e-3}},
                    "epochs": 2, "batch_size": BATCH, "checkpoint": {"best": False}}
    return doc


def specc_rate(doc: dict, out: Path, n: int, channels_last: bool = False) -> float:
    from specc.train.api import train

    os.environ["SPECC_CHANNELS_LAST"] = "1" if channels_last else "0"  # compare both layouts
    try:
        run = train(doc, out=out, quiet=True, overwrite=True)
    finally:
        os.environ.pop("SPECC_CHANNELS_LAST", None)
    return n / run.metrics[-1]["time"]  # steps only: no validation, no checkpoint writes


def hand_rate(data: Path, n: int) -> float:
    """The loop a PyTorch user writes: shuffle, batch, forward, loss, backward, step."""
    import numpy as np
    import torch
    from torch import nn

    d = np.load(data)
    x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 16, 2), nn.ReLU(), nn.MaxPool2d(2, 2),
                          nn.Conv2d(16, 32, 2), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                          nn.Linear(32 * 31 * 31, 100), nn.ReLU(), nn.Linear(100, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    elapsed = 0.0
    for _epoch in range(2):
        t0 = time.perf_counter()
        order = torch.randperm(n)
        total = 0.0
        for i in range(0, n, BATCH):
            idx = order[i:i + BATCH]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
        elapsed = time.perf_counter() - t0
    return n / elapsed


KERAS = r"""
import os, sys, time, json
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, keras
d = np.load(sys.argv[1]); x = d["x"].transpose(0, 2, 3, 1).copy(); y = d["y"]
model = keras.Sequential([
    keras.Input((128, 128, 3)),
    keras.layers.Conv2D(16, (2, 2), activation="relu"), keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Conv2D(32, (2, 2), activation="relu"), keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Flatten(), keras.layers.Dense(100, activation="relu"),
    keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None): self.t0 = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None): self.dt = time.perf_counter() - self.t0
timer = Timer()
model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=True, callbacks=[timer])
print(json.dumps({"rate": len(x) / timer.dt}))
"""


def keras_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("keras") is not None


def keras_rate(data: Path) -> float:
    out = subprocess.run([python(), "-c", KERAS, str(data)], capture_output=True, text=True,
                         check=True, env={**os.environ, "KERAS_BACKEND": "torch"})
    return json.loads(out.stdout.strip().splitlines()[-1])["rate"]


def throughput(quick: bool = False) -> list[Row]:
    n = 320 if quick else 640
    rounds = 3 if quick else 7
    use_keras = keras_available()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = make_data(folder, n)
        doc = spec_dict(data)
        sides = {"specc": lambda: specc_rate(doc, folder / "run", n, channels_last=True),
                 "hand": lambda: hand_rate(data, n),
                 "specc_contiguous": lambda: specc_rate(doc, folder / "run_c", n,
                                                        channels_last=False)}
        if use_keras:
            sides["keras"] = lambda: keras_rate(data)
        rates: dict[str, list[float]] = {k: [] for k in sides}
        names = list(sides)
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                rates[name].append(sides[name]())
    s, h = med(rates["specc"]), med(rates["hand"])
    rows = [Row("train seed CNN b32: specc vs hand-written loop", s, h, s / h, ">= 1.0",
                s / h >= 1.0, unit="samples/s",
                spread=f"{spread(rates['specc'])} / {spread(rates['hand'])}")]
    if use_keras:
        k = med(rates["keras"])
        rows.append(Row("train seed CNN b32: specc vs Keras 3 fit (torch)", s, k, s / k,
                        ">= 1.6", s / k >= 1.6, unit="samples/s",
                        spread=f"{spread(rates['specc'])} / {spread(rates['keras'])}"))
    else:
        rows.append(Row("train seed CNN b32: specc vs Keras 3 fit (torch)", s, None, None,
                        ">= 1.6", None, unit="samples/s", note="keras not installed"))
    c = med(rates["specc_contiguous"])
    rows.append(Row("train seed CNN b32: channels_last (default) vs contiguous (CPU)", s, c,
                    s / c, "report", None, unit="samples/s",
                    spread=f"{spread(rates['specc'])} / {spread(rates['specc_contiguous'])}"))
    return rows


ALL = [throughput]


def main(argv: list[str] | None = None) -> None:
    from .report import cli

    cli(lambda quick: [r for fn in ALL for r in fn(quick)], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
