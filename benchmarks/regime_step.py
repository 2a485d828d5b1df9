"""What the backprop regime adds to a training step: ``Backprop.train_step`` (the shared
``Network`` forward, the registry loss, Adam, the running loss and an accuracy metric) vs the
hand-written step a PyTorch user writes on the same compiled module, MLP 64-128-10 on digits,
batch 32, interleaved, medians.

Run: ``python -m benchmarks.regime_step [--quick]``.
"""

from __future__ import annotations

import argparse
import sys

from .common import Row, interleave, med, spread

MLP = {"specc": 1, "name": "mlp", "inputs": {"x": [64]},
       "layers": [{"dense": {"units": 128, "activation": "relu"}},
                  {"dense": {"units": 10, "activation": "softmax"}}],
       "train": {"data": {"dataset": "digits", "split": "none", "scale": "unit"},
                 "loss": "cross_entropy", "optimizer": {"adam": {"lr": 1e-3}},
                 "batch_size": 32, "metrics": ["accuracy"]}}


def regime_vs_hand(quick: bool = False) -> list[Row]:
    import torch

    import specc
    from specc.registry import current
    from specc.train.progress import Progress
    from specc.train.session import Session

    spec = specc.load(MLP)
    session = Session(spec, spec.train, device=torch.device("cpu"), run=None,
                      progress=Progress("quiet"))
    regime = current().trainers.get("backprop")(session)
    regime.setup()
    part = regime.data.train
    batches = [part.batch(torch.arange(i, i + 32), torch.device("cpu"))
               for i in range(0, part.n - 31, 32)]
    hand = specc.build(spec, logits=True)
    hand.train()
    opt = torch.optim.Adam(hand.parameters(), lr=1e-3)
    out = spec.graph.outputs[0]
    k = {"engine": 0, "hand": 0}

    def engine() -> None:
        regime.train_step(batches[k["engine"] % len(batches)])
        k["engine"] += 1

    def handwritten() -> None:
        b = batches[k["hand"] % len(batches)]
        k["hand"] += 1
        loss = torch.nn.functional.cross_entropy(hand(b.inputs["x"]), b.targets[out])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()

    a, b = interleave(engine, handwritten, repeats=10 if quick else 30, inner=20)
    return [Row("backprop regime step b32 MLP 64-128-10: engine vs hand-written", med(a),
                med(b), med(a) / med(b), "<= 1.5", med(a) / med(b) <= 1.5,
                spread=f"{spread(a)} / {spread(b)}",
                note="running loss + accuracy metric on the engine side")]


def main(argv: list[str] | None = None) -> None:
    from .report import print_table

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    print_table(regime_vs_hand(args.quick))


if __name__ == "__main__":
    main(sys.argv[1:])
