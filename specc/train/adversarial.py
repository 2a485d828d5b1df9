"""``adversarial``: a generator and a discriminator trained against each other (GAN).

Each step takes a batch of real samples: the discriminator (a logit; the sigmoid is in the
loss) learns real from generated, and every ``d_steps`` steps the generator learns to fool it,
with the non-saturating loss (-log D(G(z))) by default or the original minimax one. The noise
is N(0, 1), drawn from the regime's own seeded generator (saved with ``last`` for exact
resume). One-sided label smoothing sets the real target to 1 - s. An exponential moving
average of the generator's weights (``ema``) is what samples, metrics, checkpoints' weights and
exports use; the live generator's weights travel in the ``last`` checkpoint's state. Every
``grid.every`` epochs a fixed noise batch draws ``samples/epoch_###.png`` into the run folder,
and a watchdog warns when the discriminator's loss stays below a floor for several epochs.
Optional: differentiable augmentation of what the discriminator sees (``diff_augment``), the
R1 gradient penalty on real samples (``r1``, lazily every ``r1_every`` steps), and a
categorical latent code that the discriminator learns to recognise (``info``, InfoGAN).
Each network has its own optimizer, schedule and clipping (:mod:`specc.train.multinet`).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field

from ..errors import SpecError, did_you_mean
from ..spec.choices import Section
from ..spec.training import GradientConfig, OptimizerChoice, ScheduleChoice
from .epoch import EpochRegime

log = logging.getLogger(__name__)
NOISE_SEED = 104_729  # offsets of the noise and fixed-grid generators from train.seed
GRID_SEED = 7_368_787
NONE = "none"  # the monitor of a run without metrics: never logged, so no `best`


class Grid(Section):
    n: int = Field(64, ge=1, le=1024, description="Samples in the fixed noise batch.")
    every: int = Field(1, ge=0, description="Draw samples/epoch_###.png every N epochs "
                       "(0: never).")


class Watchdog(Section):
    d_loss_below: float = Field(0.05, gt=0, description="The discriminator wins outright when "
                                "its epoch loss is below this.")
    epochs: int = Field(3, ge=1, description="Warn after this many such epochs in a row.")


class InfoCode(Section):
    categories: int = Field(ge=2, le=256, description="K: the last K entries of the "
                            "generator's input are a one-hot code drawn uniformly, and the "
                            "discriminator's output has K more logits that guess it.")
    weight: float = Field(1.0, gt=0, le=100, description="Weight of the code's cross-entropy "
                          "in both networks' losses.")


class AdversarialConfig(GradientConfig):
    """A generator and a discriminator trained against each other."""

    loss: Literal["non_saturating", "minimax"] = Field(  # type: ignore[assignment]
        "non_saturating", description="Generator loss: -log D(G(z)) (non_saturating) or "
        "log(1 - D(G(z))) (minimax).")
    optimizers: dict[str, OptimizerChoice] | None = Field(
        None, description="Optimizer per network (name -> choice); others use `optimizer`.")
    schedules: dict[str, ScheduleChoice] | None = Field(
        None, description="Schedule per network; others use `schedule`.")
    generator: str = Field("generator", description="The generator network (one input: "
                           "the noise z).")
    discriminator: str = Field("discriminator", description="The discriminator network (one "
                               "input, one output: a single logit).")
    d_steps: int = Field(1, ge=1, description="Discriminator steps per generator step.")
    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="One-sided: the real "
                                   "target is 1 - label_smoothing.")
    ema: float | None = Field(0.999, gt=0, lt=1, description="Decay of the generator's "
                              "moving average used for samples, metrics and export (null: off).")
    ema_warmup: int = Field(10, ge=0, description="Update t of the average uses the decay "
                            "min(ema, (1 + t) / (ema_warmup + t)), so the random first "
                            "generator fades out within a few hundred steps instead of "
                            "lingering (0: the constant decay from the start).")
    diff_augment: list[Literal["translation", "cutout"]] = Field(
        default_factory=list, description="Differentiable augmentation (Zhao et al. 2020) of "
        "what the discriminator sees, real and generated alike, in both networks' steps: "
        "translation (random shifts of up to 1/8 of each side, edges repeated) and cutout "
        "(a random square of half each side set to 0). Keeps a discriminator from "
        "memorising a small dataset without teaching the generator the augmentation (the "
        "data.augment of real samples alone would).")
    r1: float = Field(0.0, ge=0, le=1000, description="R1 penalty gamma (Mescheder et al. "
                      "2018): the discriminator's loss adds gamma / 2 times the mean squared "
                      "norm of its logit's gradient on the real samples, so it cannot grow "
                      "steep around the data (0: off).")
    r1_every: int = Field(1, ge=1, le=64, description="Apply the R1 penalty every N "
                          "discriminator steps, scaled by N (lazy regularization: the same "
                          "strength at a fraction of the double backward's cost).")
    info: InfoCode | None = Field(None, description="A categorical latent code (InfoGAN, "
                                  "Chen et al. 2016): the discriminator also learns to tell "
                                  "which category made a sample and the generator to make it "
                                  "tellable, so each category becomes a distinct mode (null: "
                                  "off).")
    grid: Grid = Field(default_factory=Grid, description="The fixed noise batch drawn "
                       "into the run folder.")
    watchdog: Watchdog | None = Field(default_factory=Watchdog, description="Warn when the "
                                      "discriminator wins outright (null: off).")

    def cross_check(self) -> list[SpecError]:
        errs = super().cross_check()
        if self.losses:
            errs.append(SpecError("the adversarial regime sets its own losses; choose the "
                                  "generator's with loss: non_saturating | minimax",
                                  path=("losses",)))
        for field, default in (("precision", "fp32"), ("accumulate", 1), ("compile", False)):
            value = getattr(self, field, default)
            if value not in (default, "auto"):
                errs.append(SpecError(f"the adversarial regime trains with {field} "
                                      f"{default!r} only", path=(field,), received=value))
        return errs

    def check_networks(self, networks: dict[str, Any], layers: Any) -> list[SpecError]:
        from .multinet import check_tables

        if len(networks) < 2:
            return [SpecError(f"regime 'adversarial' trains a generator and a discriminator; "
                              f"this spec has {len(networks)} network", path=("regime",),
                              hint="declare both under networks: {generator: ..., "
                              "discriminator: ...}")]
        errs = check_tables(self, networks)
        for field in ("generator", "discriminator"):
            name = getattr(self, field)
            if name not in networks:
                errs.append(SpecError(f"no network '{name}'", path=(field,), received=name,
                                      hint=did_you_mean(name, networks)
                                      or "networks: " + ", ".join(networks)))
        if errs:
            return errs
        errs = _check_pair(networks[self.generator], networks[self.discriminator],
                           self.info.categories if self.info else 0)
        if self.diff_augment and not errs:
            (name, t), = networks[self.discriminator].inputs.items()
            if len(t.shape) != 3 or any(d is None for d in t.shape):
                errs.append(SpecError(f"diff_augment shifts and cuts images; the "
                                      f"discriminator's input '{name}' has shape "
                                      f"{list(t.shape)}, not (channels, height, width)",
                                      path=("diff_augment",), received=self.diff_augment,
                                      hint="drop diff_augment for data that are not images"))
        return errs

    def default_monitor(self, has_val: bool) -> tuple[str, str]:
        """The first metric (e.g. ``val_judge_ratio``); without one nothing picks a ``best``
        checkpoint (losses of a GAN do not say which epoch is better): ``last`` is used."""
        if self.early_stopping is not None:
            return super().default_monitor(has_val)
        if not self.metrics:
            return NONE, "max"
        from .metrics import metric_key

        key = metric_key(self.metrics[0])
        return ("val_" if has_val else "") + key, "auto"


def _check_pair(gen: Any, disc: Any, categories: int = 0) -> list[SpecError]:
    """One noise input for the generator, one input for the discriminator that its output
    fits, one logit out of the discriminator (and ``categories`` more logits, with a code of
    that many one-hot entries at the end of a flat noise input)."""
    errs = []
    if len(gen.inputs) != 1 or len(gen.outputs) != 1:
        errs.append(SpecError(f"the generator '{gen.name}' needs one input (the noise) and one "
                              f"output; it has {len(gen.inputs)} and {len(gen.outputs)}",
                              path=("generator",)))
    if len(disc.inputs) != 1 or len(disc.outputs) != 1:
        errs.append(SpecError(f"the discriminator '{disc.name}' needs one input and one output; "
                              f"it has {len(disc.inputs)} and {len(disc.outputs)}",
                              path=("discriminator",)))
    if errs:
        return errs
    out = gen.type_of(gen.outputs[0])
    (name, inp), = disc.inputs.items()
    if tuple(out.shape) != tuple(inp.shape):
        errs.append(SpecError(f"the generator's output (shape {list(out.shape)}) does not fit "
                              f"the discriminator's input '{name}' (shape {list(inp.shape)})",
                              path=("generator",), received=list(out.shape),
                              hint="make the generator end in the discriminator's input shape"))
    score = disc.type_of(disc.outputs[0])
    if categories:
        (zname, z), = gen.inputs.items()
        if len(z.shape) != 1 or z.shape[0] is None or z.shape[0] <= categories:
            errs.append(SpecError(f"info.categories {categories} takes the last {categories} "
                                  f"entries of the generator's input '{zname}' (shape "
                                  f"{list(z.shape)}); it needs a flat input with more",
                                  path=("info", "categories"), received=categories,
                                  hint=f"give '{zname}' the noise size plus {categories}"))
        if len(score.shape) != 1 or score.shape[0] != 1 + categories:
            errs.append(SpecError(f"with info.categories {categories} the discriminator must "
                                  f"end in 1 + {categories} logits (real/fake, then the "
                                  f"category); its output has shape {list(score.shape)}",
                                  path=("discriminator",), received=list(score.shape),
                                  hint=f"end it with dense: {{units: {1 + categories}}} "
                                  "(no activation)"))
    elif score.numel() != 1:
        errs.append(SpecError(f"the discriminator must end in one logit; its output has shape "
                              f"{list(score.shape)}", path=("discriminator",),
                              hint="end it with dense: {units: 1} (no activation)"))
    return errs


class Adversarial(EpochRegime):
    """GAN training: alternating discriminator and generator steps (see the module doc)."""

    name = "adversarial"
    aliases = ("gan",)
    Config = AdversarialConfig
    targets = "none"
    own_metrics = {"d_loss": "max", "g_loss": "min", "d_real": "min", "d_fake": "max"}

    # -- setup --------------------------------------------------------------------------------
    def build_models(self) -> None:
        from .shared import Network

        s, cfg = self.session, self.cfg
        self.gen = Network(s, s.spec.network(cfg.generator), s.build(cfg.generator))
        self.disc = Network(s, s.spec.network(cfg.discriminator),
                            s.build(cfg.discriminator, seed_offset=1))
        self.G, self.D = self.gen.net, self.disc.net
        self.categories = cfg.info.categories if cfg.info else 0
        self.ema = None
        if cfg.ema is not None:
            self.ema = s.build(cfg.generator)
            self.ema.load_state_dict(self.G.state_dict())
            self.ema.requires_grad_(False)
        self.models = {cfg.generator: self.G, cfg.discriminator: self.D}

    def setup(self) -> None:
        import torch

        from .multinet import NetOptim

        s, cfg = self.session, self.cfg
        self.build_models()
        for i, ch in enumerate(cfg.metrics):
            if not _split_metric(ch.name):
                raise s.locate(SpecError(f"metric '{ch.name}' compares predictions with "
                                         "targets; a GAN has none", path=("train", "metrics", i),
                                         hint="use a metric that reads generated samples "
                                         "(judge)"))
        self.input = next(iter(self.disc.graph.inputs))
        self.data = s.tensor_data(self.disc.graph.inputs, {})
        self.disc.augment(cfg.data.augment)
        self.opt = {cfg.generator: NetOptim(cfg, cfg.generator, self.G),
                    cfg.discriminator: NetOptim(cfg, cfg.discriminator, self.D)}
        self.noise_gen = torch.Generator(device=s.device).manual_seed(cfg.seed + NOISE_SEED)
        self.d_params = [p for p in self.D.parameters() if p.requires_grad]
        self.real_target = 1.0 - cfg.label_smoothing
        self.d_wins = 0
        self.ema_updates = 0
        self.G.eval()  # the first train_step sets train mode
        self.reset_epoch()

    # -- steps --------------------------------------------------------------------------------
    def train_step(self, batch: Any) -> float:
        import torch
        from torch.nn.functional import binary_cross_entropy_with_logits as bce

        from .gan_samples import latent

        cfg = self.cfg
        if not self.G.training:
            self.gen.train_mode()
            self.disc.train_mode()
        real = batch.inputs[self.input]
        aug = self.disc.augmenters.get(self.input)
        if aug is not None:  # data.augment: the real samples only
            gen = self.session.generator
            real = aug.apply_noise(aug.apply_geometric(real, gen), gen)
        n = real.shape[0]
        g_step = (self.global_step + 1) % cfg.d_steps == 0
        r1_step = cfg.r1 > 0 and self.global_step % cfg.r1_every == 0
        if r1_step:
            real = real.detach().requires_grad_(True)
        z, code = latent(self.gen.graph, n, self.noise_gen, real.device, self.categories)
        with torch.set_grad_enabled(g_step):
            fake = self.G(z)
        real_logit = self.D(self._augment(real)).reshape(n, -1)[:, 0]
        fake_out = self.D(self._augment(fake.detach())).reshape(n, -1)
        fake_logit = fake_out[:, 0]
        d_loss = bce(real_logit, torch.full_like(real_logit, self.real_target)) \
            + bce(fake_logit, torch.zeros_like(fake_logit))
        d_value = self.check_finite(d_loss)
        total = d_loss if code is None else d_loss + self._info_loss(fake_out, code)
        if r1_step:
            total = total + self._r1_penalty(real, real_logit)
        d_opt = self.opt[cfg.discriminator]
        d_opt.zero_grad()
        total.backward()
        d_opt.step()
        with torch.no_grad():
            self.sums[0] += d_value * n
            self.sums[1] += float(torch.sigmoid(real_logit).sum())
            self.sums[2] += float(torch.sigmoid(fake_logit).sum())
            self.sums[3] += n
        if g_step:
            self._generator_step(fake, n, code)
        return d_value

    def _r1_penalty(self, real: Any, real_logit: Any) -> Any:
        """gamma / 2 x the mean squared gradient norm of the real logits with respect to the
        real samples, x ``r1_every`` (its plain mean goes to the ``r1_penalty`` column)."""
        import torch

        cfg = self.cfg
        grad, = torch.autograd.grad(real_logit.sum(), real, create_graph=True)
        penalty = grad.square().reshape(len(grad), -1).sum(1).mean()
        self.sums[8] += self.check_finite(penalty) * len(grad)
        self.sums[9] += len(grad)
        return (cfg.r1 / 2 * cfg.r1_every) * penalty

    def _info_loss(self, out: Any, code: Any) -> Any:
        """The weighted cross-entropy of the discriminator's category logits against the
        code that made each sample; its plain value goes to the ``info_loss`` column."""
        from torch.nn.functional import cross_entropy

        loss = cross_entropy(out[:, 1:], code)
        self.sums[6] += self.check_finite(loss) * len(code)
        self.sums[7] += len(code)
        return self.cfg.info.weight * loss  # type: ignore[union-attr]

    def _generator_step(self, fake: Any, n: int, code: Any = None) -> None:
        import torch
        from torch.nn.functional import binary_cross_entropy_with_logits as bce

        cfg = self.cfg
        for p in self.d_params:  # no weight gradients for D: it only passes them on
            p.requires_grad_(False)
        try:
            out = self.D(self._augment(fake)).reshape(n, -1)
        finally:
            for p in self.d_params:
                p.requires_grad_(True)
        logit = out[:, 0]
        if cfg.loss == "non_saturating":
            g_loss = bce(logit, torch.ones_like(logit))
        else:
            g_loss = -bce(logit, torch.zeros_like(logit))
        g_value = self.check_finite(g_loss)
        total = g_loss if code is None else g_loss + self._info_loss(out, code)
        g_opt = self.opt[cfg.generator]
        g_opt.zero_grad()
        total.backward()
        g_opt.step()
        self.sums[4] += g_value * n
        self.sums[5] += n
        if self.ema is not None:
            update_ema(self.ema, self.G, ema_decay(cfg.ema, cfg.ema_warmup, self.ema_updates))
            self.ema_updates += 1

    def _augment(self, x: Any) -> Any:
        """``diff_augment`` applied to a batch of images (N, C, H, W), drawn from the noise
        generator (saved with the run, so a resumed run draws the same)."""
        for kind in self.cfg.diff_augment:
            x = translate(x, self.noise_gen) if kind == "translation" else cutout(x, self.noise_gen)
        return x

    def reset_epoch(self) -> None:
        # d_loss sum, D(real) sum, D(fake) sum, D samples, g_loss sum, G samples,
        # info cross-entropy sum and count, R1 penalty sum and count
        self.sums = [0.0] * 10

    def running_logs(self) -> dict[str, float]:
        d, r, f, n, g, m, i, k, r1, n1 = self.sums
        logs = {"d_loss": d / max(n, 1), "g_loss": g / max(m, 1), "d_real": r / max(n, 1),
                "d_fake": f / max(n, 1)}
        if self.categories:
            logs["info_loss"] = i / max(k, 1)
        if self.cfg.r1 > 0:
            logs["r1_penalty"] = r1 / max(n1, 1)
        return logs

    def epoch_logs(self) -> dict[str, float]:
        return self.running_logs()

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        for o in self.opt.values():
            o.end_epoch(logs)
        self._watchdog(epoch, logs)
        every = self.cfg.grid.every
        if self.session.writes and every and (epoch + 1) % every == 0:
            self.draw_grid(epoch)

    def learning_rate(self) -> float | None:
        return self.opt[self.cfg.generator].learning_rate()

    def _watchdog(self, epoch: int, logs: dict[str, float]) -> None:
        wd = self.cfg.watchdog
        if wd is None:
            return
        self.d_wins = self.d_wins + 1 if logs["d_loss"] < wd.d_loss_below else 0
        if self.d_wins >= wd.epochs:
            text = (f"warning: the discriminator wins outright: d_loss below "
                    f"{wd.d_loss_below:g} for {self.d_wins} epochs (epoch {epoch + 1}, d_loss "
                    f"{logs['d_loss']:.4g}); the generator has likely lost (lower the "
                    f"discriminator's learning rate, add label_smoothing, or restart)")
            self.session.progress.note(text)
            log.warning(text)
            if self.session.writes:
                with open(self.session.run.path / "warnings.log", "a") as fh:  # type: ignore[union-attr]
                    fh.write(text + "\n")

    # -- samples and evaluation ---------------------------------------------------------------
    @property
    def sampler(self) -> Any:
        """The generator that samples: the moving average when kept."""
        return self.ema if self.ema is not None else self.G

    def generate(self, n: int, seed: int) -> Any:
        """``n`` samples in the dataset's raw units, from codes seeded by ``seed``."""
        import torch

        from .gan_samples import generate, invert

        out = generate(self.sampler, self.gen.graph, n, seed, self.session.device,
                       self.categories).numpy()
        t = self.disc.graph.inputs[self.input]
        rec = self.data.prepared.preprocess.get(self.input)
        return torch.from_numpy(invert(rec, out, t))

    def draw_grid(self, epoch: int) -> None:
        """``samples/epoch_###.png`` of the fixed noise batch."""
        from .gan_samples import generate, grid_codes, save_samples, to_unit

        run = self.session.run
        folder = run.path / "samples"  # type: ignore[union-attr]
        folder.mkdir(exist_ok=True)
        cfg = self.cfg
        labels, cols = grid_codes(cfg.grid.n, self.categories)
        out = generate(self.sampler, self.gen.graph, cfg.grid.n, cfg.seed + GRID_SEED,
                       self.session.device, self.categories, labels).numpy()
        t = self.disc.graph.inputs[self.input]
        imgs = to_unit(self.data.prepared.preprocess.get(self.input), out, t)
        save_samples(imgs, tuple(t.shape), folder / f"epoch_{epoch + 1:03d}.png",
                     f"{self.session.spec.name}: epoch {epoch + 1}", cols=cols)

    def evaluate(self, split: str) -> dict[str, float]:
        """The discriminator on the split's real samples and as many generated ones (losses
        and mean probabilities), and the split metrics (``generate`` in their context)."""
        import torch
        from torch.nn.functional import binary_cross_entropy_with_logits as bce

        from .gan_samples import generate
        from .metrics import evaluate_split, split_context

        dev = self.session.device
        part = self.data.parts[split]
        self.D.eval()
        fake = generate(self.sampler, self.gen.graph, part.n, self.cfg.seed + GRID_SEED + 1, dev,
                        self.categories)
        sums = [0.0] * 4
        bs = self.batch_size()
        with torch.no_grad():
            for i, batch in enumerate(part.batches(bs, dev)):
                r = self.D(batch.inputs[self.input]).reshape(batch.size, -1)[:, 0]
                f = self.D(fake[i * bs:i * bs + batch.size].to(dev)).reshape(batch.size, -1)[:, 0]
                sums[0] += float(bce(r, torch.ones_like(r), reduction="sum")
                                 + bce(f, torch.zeros_like(f), reduction="sum"))
                sums[1] += float(torch.sigmoid(r).sum())
                sums[2] += float(torch.sigmoid(f).sum())
                sums[3] += float(bce(f, torch.ones_like(f), reduction="sum"))
        self.G.eval()  # train_step restores train mode
        n = max(part.n, 1)
        out = {"d_loss": sums[0] / n, "d_real": sums[1] / n, "d_fake": sums[2] / n,
               "g_loss": sums[3] / n}
        ctx = split_context(self.data, split, self.predict, self.D)
        ctx.extras = {**ctx.extras, "generate": self.generate}
        return {**out, **evaluate_split(list(self.cfg.metrics), ctx)}

    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The discriminator's probability that each given sample is real (with an info
        code, the probabilities of the categories follow it)."""
        import torch

        graph, dev = self.disc.graph, self.session.device
        self.D.eval()
        with torch.no_grad():  # the network is built to give the logit (see Network)
            logit = self.D(*[inputs[n].to(dev) for n in graph.inputs])
        if self.categories:
            flat = logit.reshape(len(logit), -1)
            return {graph.outputs[0]: torch.cat([torch.sigmoid(flat[:, :1]),
                                                 torch.softmax(flat[:, 1:], 1)], 1)}
        return {graph.outputs[0]: torch.sigmoid(logit)}

    @staticmethod
    def predict_network(cfg: AdversarialConfig) -> str:
        """The network :meth:`predict` runs (``specc.train.api.predict_graph``)."""
        return cfg.discriminator

    # -- weights and state --------------------------------------------------------------------
    def weights(self) -> dict[str, Any]:
        """The sampling generator (EMA) and the discriminator, prefixed by network."""
        cfg = self.cfg
        return {**{f"{cfg.generator}.{k}": v for k, v in self.sampler.state_dict().items()},
                **{f"{cfg.discriminator}.{k}": v for k, v in self.D.state_dict().items()}}

    def load_weights(self, state: dict[str, Any]) -> None:
        """Both networks; the generator's weights go to the live one as well (its own are
        restored from the ``last`` state when resuming)."""
        super().load_weights(state)
        if self.ema is not None:
            self.ema.load_state_dict(self.G.state_dict())

    def state_dict(self) -> dict[str, Any]:
        return {"optimizers": {k: o.state_dict() for k, o in self.opt.items()},
                "live_generator": dict(self.G.state_dict()) if self.ema is not None else None,
                "noise": self.noise_gen.get_state(), "sums": list(self.sums),
                "d_wins": self.d_wins, "ema_updates": self.ema_updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, o in self.opt.items():
            o.load_state_dict(state["optimizers"][k])
        if state.get("live_generator") is not None:
            self.G.load_state_dict(state["live_generator"])
        self.noise_gen.set_state(state["noise"].cpu() if hasattr(state["noise"], "cpu")
                                 else state["noise"])
        sums = [float(v) for v in state["sums"]]
        self.sums = sums + [0.0] * (10 - len(sums))  # runs saved before the info and R1 sums
        self.d_wins = int(state["d_wins"])
        self.ema_updates = int(state.get("ema_updates", 0))


def translate(x: Any, gen: Any, ratio: float = 0.125) -> Any:
    """Each image shifted by its own random offsets of up to ``ratio`` of each side (edge
    pixels repeated into the space left); differentiable in ``x``. Whole-pixel shifts by
    indexing, as DiffAugment does: ``data.augment``'s shifts (``specc.data.augment``) resample
    bilinearly at fractional offsets, which would also blur what the discriminator sees."""
    import torch
    from torch.nn import functional as F

    n, _, h, w = x.shape
    ry, rx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-ry, ry + 1, (n, 1, 1), generator=gen, device=gen.device).to(x.device)
    dx = torch.randint(-rx, rx + 1, (n, 1, 1), generator=gen, device=gen.device).to(x.device)
    iy = torch.arange(h, device=x.device).view(1, h, 1) + dy + ry
    ix = torch.arange(w, device=x.device).view(1, 1, w) + dx + rx
    padded = F.pad(x, [rx, rx, ry, ry], mode="replicate")
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded[batch, :, iy, ix].permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)


def cutout(x: Any, gen: Any, ratio: float = 0.5) -> Any:
    """Each image with a random square of ``ratio`` of each side (centred anywhere, clipped
    at the borders) set to 0."""
    import torch

    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - sy % 2), (n, 1, 1), generator=gen, device=gen.device)
    cx = torch.randint(0, w + (1 - sx % 2), (n, 1, 1), generator=gen, device=gen.device)
    ys = torch.arange(h, device=gen.device).view(1, h, 1)
    xs = torch.arange(w, device=gen.device).view(1, 1, w)
    top, left = cy - sy // 2, cx - sx // 2
    inside = (ys >= top) & (ys < top + sy) & (xs >= left) & (xs < left + sx)
    return x * (~inside).to(x.device, x.dtype).unsqueeze(1)


def ema_decay(decay: float, warmup: int, updates: int) -> float:
    """The decay of update number ``updates`` (0-based): ``decay`` capped by
    (1 + t) / (warmup + t) while the average is young (warmup 0: ``decay`` throughout)."""
    if warmup <= 0:
        return decay
    return min(decay, (1 + updates) / (warmup + updates))


def update_ema(ema: Any, model: Any, decay: float) -> None:
    """``ema`` <- decay * ema + (1 - decay) * ``model`` (parameters); buffers copied."""
    import torch

    with torch.no_grad():
        # ema + (1 - decay) * (model - ema): one pass over the weights instead of two
        torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)
        for b, src in zip(ema.buffers(), model.buffers(), strict=True):
            b.copy_(src)


def _split_metric(name: str) -> bool:
    from ..entries import SplitMetric
    from ..registry import current

    return issubclass(current().metrics.get(name), SplitMetric)
