"""GAN (the built-in ``gan`` spec, DCGAN on mnist5k, last 1000 held out) against its bar.

    OMP_NUM_THREADS=1 python -m benchmarks.gan [--quick] [--iterations N] [--set KEY=VALUE ...]

- Speed: one training iteration at the spec's batch (a discriminator step on real and
  generated samples with the spec's lazy R1 penalty, a generator step, the EMA update) through
  the ``adversarial`` regime against the DCGAN loop a PyTorch user writes for the same two
  networks (its own modules, the same Adam settings, the same batches and threads),
  interleaved after a warm-up, medians; figures in iterations per second, the goal is >= 1.0x.
  A second row times one Adam step over the generator's parameters with specc's default (the
  fused kernel) against torch's default (a loop of small ops on CPU).
- Bar: the ``dcn`` built-in is trained as the judge, then the ``gan`` spec for a fixed number
  of iterations with the ``judge`` metric on 1000 samples; the last epoch's
  judge_confidence / judge_real (>= 0.9) and its smallest class share (>= 3%) are read from
  metrics.csv, and the training time is reported in seconds and CPU-seconds with the load
  (bar: within 15 minutes on 2 cores). ``--set`` passes overrides to the GAN spec (lr, ema,
  label smoothing, ...). ``--quick`` trains each network about one epoch: a smoke run, not the
  bar.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import Row, interleave, med, regime_of, spread

ROOT = Path(__file__).resolve().parents[1]
GAN = ROOT / "specs" / "gan.yaml"
DCN = ROOT / "specs" / "dcn.yaml"
BAR_RATIO, BAR_CLASS, BAR_SECONDS = 0.9, 0.03, 15 * 60


def hand_networks(latent: int, hidden: int, width: int) -> tuple[Any, Any]:
    """The spec's generator and discriminator as a PyTorch user writes them."""
    from torch import nn

    gen = nn.Sequential(nn.Linear(latent, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                        nn.Linear(hidden, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(),
                        nn.Unflatten(1, (128, 7, 7)),
                        nn.ConvTranspose2d(128, width, 4, 2, 1), nn.BatchNorm2d(width),
                        nn.ReLU(), nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width),
                        nn.ReLU(), nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())
    disc = nn.Sequential(nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
                         nn.Conv2d(width, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
                         nn.Conv2d(128, 128, 3, 1, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return gen, disc


def _count(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def step_vs_hand(quick: bool, overrides: list[str]) -> tuple[list[Row], int]:
    """The speed rows, and the training iterations in one epoch."""
    import copy

    import torch
    from torch.nn.functional import binary_cross_entropy_with_logits as bce

    from specc.train.optim import make_optimizer

    regime = regime_of(GAN, overrides)
    cfg, spec = regime.cfg, regime.session.spec
    part = regime.data.train
    bs = regime.batch_size()
    batches = [part.batch(torch.arange(i, i + bs), torch.device("cpu"))
               for i in range(0, part.n - bs + 1, bs)]
    params = spec.resolved["params"]
    latent = int(params["latent"])
    G, D = hand_networks(latent, int(params["hidden"]), int(params["width"]))
    if (_count(G), _count(D)) != (_count(regime.G), _count(regime.D)):
        raise RuntimeError("the hand-written networks no longer match specs/gan.yaml "
                           f"({_count(G)}/{_count(D)} vs {_count(regime.G)}/{_count(regime.D)}"
                           " parameters)")
    ema = copy.deepcopy(G).requires_grad_(False)
    opts = cfg.optimizers or {}  # the spec's optimizers (torch.optim.Adam), one per network
    opt_g = make_optimizer(opts.get(cfg.generator, cfg.optimizer), G.parameters())
    opt_d = make_optimizer(opts.get(cfg.discriminator, cfg.optimizer), D.parameters())
    decay = cfg.ema if cfg.ema is not None else 0.0
    k = {"engine": 0, "hand": 0}
    x_name = regime.input

    regime.global_step = 0  # the epoch loop's step count (fit sets and advances it)

    def engine() -> None:
        regime.train_step(batches[k["engine"] % len(batches)])
        regime.global_step += 1
        k["engine"] += 1

    def handwritten() -> None:
        real = batches[k["hand"] % len(batches)].inputs[x_name]
        r1_step = cfg.r1 > 0 and k["hand"] % cfg.r1_every == 0  # lazy R1, as the spec asks
        k["hand"] += 1
        n = real.shape[0]
        if r1_step:
            real = real.detach().requires_grad_(True)
        fake = G(torch.randn(n, latent))
        real_logit = D(real).view(-1)
        d_loss = bce(real_logit, torch.ones(n)) + bce(D(fake.detach()).view(-1), torch.zeros(n))
        total = d_loss
        if r1_step:
            grad, = torch.autograd.grad(real_logit.sum(), real, create_graph=True)
            total = d_loss + cfg.r1 / 2 * cfg.r1_every * grad.square().flatten(1).sum(1).mean()
        opt_d.zero_grad()
        total.backward()
        opt_d.step()
        g_loss = bce(D(fake).view(-1), torch.ones(n))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        if cfg.ema is not None:
            with torch.no_grad():
                torch._foreach_lerp_(list(ema.parameters()), list(G.parameters()), 1 - decay)
                for b, src in zip(ema.buffers(), G.buffers(), strict=True):
                    b.copy_(src)
        d_loss.item(), g_loss.item()

    G.train(), D.train()
    a, b = interleave(engine, handwritten, repeats=6 if quick else 20, warmup=2, inner=5)
    ours, peer = 1 / med(a), 1 / med(b)
    r1 = f", R1 every {cfg.r1_every}" if cfg.r1 > 0 else ""
    row = Row(f"gan train iteration b{bs} (D + G step{r1}, EMA): engine vs hand-written loop",
              ours, peer, ours / peer, ">= 1.0", ours / peer >= 1.0, unit="it/s",
              spread=f"{spread(a)} / {spread(b)}",
              note=f"{torch.get_num_threads()} torch thread(s); both with specc's Adam "
              f"(fused: {opt_g.defaults['fused']})")
    return [row, adam_fused_vs_loop(G, quick)], len(batches) + (part.n % bs > 0)


def adam_fused_vs_loop(G: Any, quick: bool) -> Row:
    """One Adam step over the generator's parameters: specc's default (torch's fused kernel
    where every parameter has one) against torch's own default (a loop of small ops on CPU)."""
    import torch

    def stepper(fused: bool) -> Any:
        params = [torch.nn.Parameter(p.detach().clone()) for p in G.parameters()]
        for q in params:
            q.grad = torch.randn_like(q)
        opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999), eps=1e-7,
                               fused=True if fused else None)
        return opt.step

    a, b = interleave(stepper(True), stepper(False), repeats=6 if quick else 20, warmup=2,
                      inner=5)
    ours, peer = 1 / med(a), 1 / med(b)
    n = sum(p.numel() for p in G.parameters())
    return Row(f"Adam step over the generator's {n / 1e6:.1f}M parameters: fused (specc's "
               "default) vs torch's default loop", ours, peer, ours / peer, "> 1.0",
               ours / peer > 1.0, unit="steps/s", spread=f"{spread(a)} / {spread(b)}",
               note=f"{torch.get_num_threads()} torch thread(s)")


def _load() -> str:
    return "load {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())


def _train(spec: Any, out: Path, overrides: list[str]) -> tuple[Any, float, float]:
    """Train a spec; (run, wall seconds, CPU seconds of this process)."""
    from specc.train.api import train

    w0, c0 = time.perf_counter(), time.process_time()
    run = train(str(spec), out=out, quiet=True, overrides=overrides)
    return run, time.perf_counter() - w0, time.process_time() - c0


def bar(quick: bool, iterations: int | None, per_epoch: int, overrides: list[str]) -> list[Row]:
    """Train the judge and the GAN; the bar's rows."""
    import specc
    from specc.train.api import evaluate

    samples = 200 if quick else 1000
    epochs = 1 if quick else (math.ceil(iterations / per_epoch) if iterations
                              else specc.load(str(GAN), overrides).train.epochs)
    with tempfile.TemporaryDirectory() as tmp:
        judge_ov = ["train.epochs=1"] if quick else []
        judge, j_wall, j_cpu = _train(DCN, Path(tmp) / "dcn", judge_ov)
        acc = evaluate(judge.dir)["accuracy"]
        metric = f"train.metrics=[{{judge: {{run: '{judge.dir}', samples: {samples}}}}}]"
        load_before = _load()
        gan, wall, cpu = _train(GAN, Path(tmp) / "gan",
                                [*overrides, f"train.epochs={epochs}", metric])
        last = gan.metrics[-1]
        grids = len(list((gan.dir / "samples").glob("*.png")))
    ratio, real = last["val_judge_ratio"], last["val_judge_real"]
    share = last["val_judge_min_class"]
    done = f"{epochs} epochs = {epochs * per_epoch} iterations"
    smoke = " (quick, not the bar)" if quick else ""
    set_note = f"; --set {' '.join(overrides)}" if overrides else ""
    return [
        Row(f"gan judge_confidence / judge_real ({samples} samples, last epoch)", 100 * ratio,
            None, None, f">= {BAR_RATIO:.0%}", None if quick else ratio >= BAR_RATIO, unit="%",
            note=f"confidence {last['val_judge_confidence']:.3f}, judge on real held-out "
            f"{real:.3f}; judge: dcn, held-out accuracy {acc:.3f}, trained in {j_wall:.0f} s "
            f"({j_cpu:.0f} CPU-s){smoke}"),
        Row("gan smallest class share of the samples (judge's classes)", 100 * share, None,
            None, f">= {BAR_CLASS:.0%}", None if quick else share >= BAR_CLASS, unit="%",
            note=f"d_loss {last['d_loss']:.3f}, g_loss {last['g_loss']:.3f}, "
            f"{grids} sample grids written{smoke}"),
        Row(f"gan training time ({done})", wall, None, None, "<= 15 min on 2 cores",
            None if quick else cpu <= 2 * BAR_SECONDS, unit="s",
            note=f"{cpu:.0f} CPU-s; {load_before} before, {_load()} after{set_note}"),
    ]


def run(quick: bool = False, iterations: int | None = None,
        overrides: list[str] | None = None) -> list[Row]:
    overrides = list(overrides or [])
    speed, per_epoch = step_vs_hand(quick, overrides)
    return [*speed, *bar(quick, iterations, per_epoch, overrides)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gan")
    p.add_argument("--quick", action="store_true", help="one epoch each, fewer timed steps")
    p.add_argument("--iterations", type=int, help="GAN training iterations (rounded up to "
                   "whole epochs; default: the spec's epochs)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY=VALUE", help="override the GAN spec (repeatable)")
    args = p.parse_args(argv)
    from .report import print_table

    print_table(run(args.quick, args.iterations, args.overrides))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
