"""DCIGN (a convolutional VAE, the built-in ``dcign`` spec) on mnist5k, last 1000 held out.

    OMP_NUM_THREADS=1 python -m benchmarks.dcign [--quick]

- Quality: the spec trained on its own ``train:`` section (``specc.train``, timed), then the
  held-out reconstruction MSE with z = the encoder's mean, against PCA with the same code size
  (16) fitted on the training part (``benchmarks.families.bar_vae``, which also reports the
  ELBO). ``--quick`` trains 2 epochs instead of 10: a timing check, not the bar.
- Speed: one training step at batch 32 through the backprop regime (the compiled graph, the
  registry loss plus the ``gaussian_sample`` KL term, Adam, the running loss) against the same
  convolutional VAE written by hand in PyTorch (its own modules and loss), interleaved on the
  same batches after a warm-up, medians.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import Row, interleave, med, regime_of, spread

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "dcign.yaml"
PIXELS = 784


def hand_vae() -> Any:
    """The spec's network as a PyTorch user writes it: forward gives (probabilities, KL)."""
    import torch
    from torch import nn

    class ConvVAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(),
                                     nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(), nn.Flatten(),
                                     nn.Linear(3136, 256), nn.ReLU())
            self.mu, self.logvar = nn.Linear(256, 16), nn.Linear(256, 16)
            self.dec = nn.Sequential(nn.Linear(16, 256), nn.ReLU(), nn.Linear(256, 3136),
                                     nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                                     nn.ConvTranspose2d(64, 32, 3, 2, 1, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(32, 1, 3, 2, 1, 1), nn.Sigmoid())

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h = self.enc(x)
            mu, logvar = self.mu(h), self.logvar(h)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            kl = (-0.5 * (1 + logvar - mu.square() - logvar.exp())).sum(dim=1).mean()
            return self.dec(z), kl

    return ConvVAE()


def step_vs_hand(quick: bool) -> Row:
    import torch

    regime = regime_of(SPEC, [])
    part = regime.data.train
    batches = [part.batch(torch.arange(i, i + 32), torch.device("cpu"))
               for i in range(0, part.n - 31, 32)]
    hand = hand_vae()
    opt = torch.optim.Adam(hand.parameters(), lr=1e-3)
    k = {"engine": 0, "hand": 0}

    def engine() -> None:
        regime.train_step(batches[k["engine"] % len(batches)])
        k["engine"] += 1

    def handwritten() -> None:
        x = batches[k["hand"] % len(batches)].inputs["image"]
        k["hand"] += 1
        p, kl = hand(x)
        loss = torch.nn.functional.binary_cross_entropy(p, x) + kl / PIXELS
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()

    a, b = interleave(engine, handwritten, repeats=6 if quick else 20, warmup=2, inner=5)
    return Row("dcign train step b32: engine vs hand-written PyTorch conv VAE", med(a), med(b),
               med(a) / med(b), "<= 1.1", med(a) / med(b) <= 1.1,
               spread=f"{spread(a)} / {spread(b)}",
               note=f"{torch.get_num_threads()} torch thread(s)")


def quality(quick: bool) -> Row:
    import specc
    from specc.train.api import load_model, train

    from .families import bar_vae

    epochs = 2 if quick else None
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = train(str(SPEC), out=Path(tmp) / "dcign", quiet=True, epochs=epochs).dir
        seconds = time.perf_counter() - t0
        spec = specc.load(str(SPEC))
        r = bar_vae(spec, run, load_model(run, checkpoint="last")).details
    ours, pca = r["mse"], r["pca_mse"]
    done = f"{epochs} epochs (quick, not the bar)" if quick else f"{spec.train.epochs} epochs"
    return Row("dcign held-out MSE (last 1000 of mnist5k, z = mean) vs PCA-16", ours, pca,
               ours / pca, "< 1.0", None if quick else ours < pca, unit="MSE",
               note=f"trained {done} in {seconds:.0f} s; ELBO {r['elbo']:.1f} nats/sample")


def run(quick: bool = False) -> list[Row]:
    return [quality(quick), step_vs_hand(quick)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.dcign")
    p.add_argument("--quick", action="store_true", help="2 training epochs, fewer timed steps")
    args = p.parse_args(argv)
    from .report import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
