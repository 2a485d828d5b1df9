"""Core compiler benchmarks: compile scaling, generated vs hand-written module, and training
the seed CNN with ``train.compile`` (torch.compile) vs the hand-written eager loop.

Run: ``python -m benchmarks.compile [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .common import Row, interleave, med, spread

ROOT = Path(__file__).resolve().parent.parent
RESNET50 = ROOT / "specs" / "resnet50.yaml"


def chain_spec(n: int) -> dict:
    return {"specc": 1, "name": f"chain{n}", "inputs": {"x": [32]},
            "layers": [{"dense": {"units": 32, "activation": "relu"}} for _ in range(n)]}


def compile_scaling(quick: bool = False) -> list[Row]:
    """Spec -> nn.Module time (load + validate + shapes + codegen) must grow linearly."""
    import specc

    def compile_time(spec, reps: int) -> float:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            specc.build(specc.load(spec))
            times.append(time.perf_counter() - t0)
        return med(times)

    reps = 3 if quick else 7
    t_res = compile_time(str(RESNET50), reps)
    t100 = compile_time(chain_spec(100), reps)
    t1000 = compile_time(chain_spec(1000), max(reps // 2, 2))
    per100, per1000 = t100 / 100, t1000 / 1000
    return [
        Row("compile resnet50 spec -> nn.Module", t_res, None, None, "report", None),
        Row("compile 1000-node vs 100-node (per node)", per1000, per100, per1000 / per100,
            "<= 1.5 (linear)", per1000 / per100 <= 1.5, unit="s/node"),
    ]


def _seed_cnn_hand():
    import torch
    from torch import nn

    class SeedCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 2)
            self.pool1 = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(16, 32, 2)
            self.pool2 = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Linear(32 * 31 * 31, 100)
            self.fc2 = nn.Linear(100, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.pool1(torch.relu(self.conv1(x)))
            x = self.pool2(torch.relu(self.conv2(x)))
            x = torch.relu(self.fc1(torch.flatten(x, 1)))
            return torch.softmax(self.fc2(x), 1)

    return SeedCNN()


def _mlp_hand():
    import torch
    from torch import nn

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(64, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.fc2(torch.relu(self.fc1(x))), 1)

    return MLP()


def generated_vs_handwritten(quick: bool = False) -> list[Row]:
    """Forward at batch 1 and a training step at batch 32, generated vs hand-written."""
    import torch

    import specc

    torch.set_num_threads(torch.get_num_threads())
    cases = [
        ("seed CNN 3x128x128", specc.load("dcn", ["channels=3", "height=128", "width=128"]),
         _seed_cnn_hand, (3, 128, 128)),
        ("MLP 64-128-10", specc.load({"specc": 1, "inputs": {"x": [64]}, "layers": [
            {"dense": {"units": 128, "activation": "relu"}},
            {"dense": {"units": 10, "activation": "softmax"}}]}), _mlp_hand, (64,)),
    ]
    rows = []
    for label, spec, hand_fn, shape in cases:
        gen, hand = specc.build(spec), hand_fn()
        hand.load_state_dict(dict(zip(hand.state_dict(), gen.state_dict().values(), strict=False)))
        x1 = torch.rand(1, *shape)
        with torch.no_grad():
            torch.testing.assert_close(gen(x1), hand(x1))
        gen.eval()
        hand.eval()

        def fwd(m, x1=x1):
            def f():
                with torch.no_grad():
                    m(x1)
            return f

        inner = 20 if shape == (64,) else 3
        a, b = interleave(fwd(gen), fwd(hand), repeats=8 if quick else 25, inner=inner)
        rows.append(Row(f"forward b1 {label}: generated vs hand-written", med(a), med(b),
                        med(a) / med(b), "<= 1.03", med(a) / med(b) <= 1.03,
                        spread=f"{spread(a)} / {spread(b)}"))
        x32, y32 = torch.rand(32, *shape), torch.randint(0, 10, (32,))
        steps = {}
        for name, m in (("gen", specc.build(spec, logits=True)), ("hand", hand_fn())):
            m.train()
            opt = torch.optim.SGD(m.parameters(), lr=1e-3)

            def step(m=m, opt=opt, x32=x32, y32=y32):
                opt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(m(x32), y32)
                loss.backward()
                opt.step()
            steps[name] = step
        a, b = interleave(steps["gen"], steps["hand"], repeats=6 if quick else 15,
                          inner=1 if shape != (64,) else 20)
        rows.append(Row(f"train step b32 {label}: generated vs hand-written", med(a), med(b),
                        med(a) / med(b), "<= 1.03", med(a) / med(b) <= 1.03,
                        spread=f"{spread(a)} / {spread(b)}"))
    return rows


def compiled_training(quick: bool = False) -> list[Row]:
    """Seed CNN b32 training with ``compile: true`` vs the hand-written eager loop (steady
    epoch, samples/s), and compile's warm-up (first epoch minus steady epoch, seconds)."""
    import tempfile

    from specc.train.api import train

    from .train_throughput import hand_rate, make_data, spec_dict

    n, rounds = (160, 3) if quick else (320, 5)
    compiled, hand, warmup = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = make_data(folder, n)
        doc = spec_dict(data)
        doc["train"]["compile"] = True
        for r in range(rounds):
            for side in ("compiled", "hand") if r % 2 == 0 else ("hand", "compiled"):
                if side == "hand":
                    hand.append(hand_rate(data, n))
                    continue
                rows = train(doc, out=folder / "run", quiet=True, overwrite=True).metrics
                compiled.append(n / rows[-1]["time"])
                warmup.append(rows[0]["time"] - rows[-1]["time"])
    c, h = med(compiled), med(hand)
    return [Row(f"train seed CNN b32: specc compile: true (warm-up {med(warmup):.1f} s) vs "
                "hand-written eager loop", c, h, c / h, ">= 1.5", c / h >= 1.5,
                unit="samples/s", spread=f"{spread(compiled)} / {spread(hand)}")]


ALL = [compile_scaling, generated_vs_handwritten, compiled_training]


def main(argv: list[str] | None = None) -> None:
    from .report import print_table

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    rows = [r for fn in ALL for r in fn(args.quick)]
    print_table(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
