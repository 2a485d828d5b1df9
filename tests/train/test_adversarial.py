"""The adversarial regime on a tiny GAN (8x8 digits): losses, label smoothing, EMA, per-network
optimizers, d_steps, exact resume, the sample grid, the watchdog, export, sample, predict, and
the located errors of multi-network specs."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from specc.assembled import load
from specc.cli import main
from specc.errors import SpecError
from specc.runs.checkpoint import CheckpointStore
from specc.train.adversarial import cutout, ema_decay, translate, update_ema
from specc.train.api import _regime, predict, train
from specc.train.gan_samples import grid_codes

TINY: dict[str, Any] = {
    "specc": 1, "name": "tiny_gan",
    "networks": {
        "generator": {"inputs": {"z": [4]}, "layers": [
            {"dense": {"units": 16}}, "batch_norm", "relu",
            {"dense": {"units": 64, "activation": "tanh"}}, {"reshape": {"shape": [1, 8, 8]}}]},
        "discriminator": {"inputs": {"x": [1, 8, 8]}, "layers": [
            "flatten", {"dense": {"units": 16}}, {"leaky_relu": {"negative_slope": 0.2}},
            {"dense": {"units": 1}}]}},
    "train": {"regime": "adversarial",
              "data": {"dataset": "digits", "limit": 256, "split": {"last": 64}, "scale": "unit",
                       "normalize": {"mean": 0.5, "std": 0.5}},
              "optimizer": {"adam": {"lr": 1.0e-3, "beta1": 0.5}}, "ema": 0.9, "epochs": 2,
              "batch_size": 32}}


def tiny(**train: Any) -> dict[str, Any]:
    spec = copy.deepcopy(TINY)
    spec["train"].update(train)
    return spec


def _setup(spec: dict[str, Any] | None = None, **train: Any) -> Any:
    regime = _regime(load(spec or tiny(**train)), "cpu")
    regime.global_step = 0
    regime.setup()
    return regime


def _batch(regime: Any, i: int = 0) -> Any:
    return regime.data.train.batch(torch.arange(i * 32, (i + 1) * 32), regime.session.device)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GAN trained 2 epochs (EMA 0.9, a grid every epoch)."""
    out = tmp_path_factory.mktemp("gan") / "run"
    train(tiny(), out=out, quiet=True)
    return out


# -- losses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("loss", "smoothing"), [("non_saturating", 0.0),
                                                 ("non_saturating", 0.1), ("minimax", 0.2)])
def test_losses_and_one_sided_label_smoothing_by_hand(loss: str, smoothing: float) -> None:
    # a discriminator that says logit 1 to everything and (almost) does not learn
    regime = _setup(loss=loss, label_smoothing=smoothing,
                    optimizers={"discriminator": {"gd": {"lr": 1.0e-30}}})
    with torch.no_grad():
        for p in regime.D.parameters():
            p.zero_()
        list(regime.D.parameters())[-1].fill_(1.0)
    regime.train_step(_batch(regime))
    logs = regime.epoch_logs()
    softplus = math.log1p(math.e)  # -log(1 - sigmoid(1)) = BCE(1, target 0)
    assert logs["d_loss"] == pytest.approx(2 * softplus - (1 - smoothing), abs=1e-6)
    assert logs["d_real"] == pytest.approx(logs["d_fake"]) == pytest.approx(1 / (1 + math.exp(-1)))
    g = math.log1p(math.exp(-1)) if loss == "non_saturating" else -softplus
    assert logs["g_loss"] == pytest.approx(g, abs=1e-6)


def test_per_network_optimizers_default_to_the_single_one() -> None:
    regime = _setup(optimizers={"discriminator": {"sgd": {"lr": 0.05, "momentum": 0.5}}})
    d, g = regime.opt["discriminator"].optimizer, regime.opt["generator"].optimizer
    assert type(d).__name__ == "SGD" and d.param_groups[0]["lr"] == 0.05
    assert d.param_groups[0]["momentum"] == 0.5
    assert type(g).__name__ == "Adam" and g.param_groups[0]["lr"] == 1.0e-3
    assert g.param_groups[0]["betas"] == (0.5, 0.999)
    assert {id(p) for p in d.param_groups[0]["params"]} == {id(p) for p in regime.D.parameters()}


def test_d_steps_updates_the_generator_every_second_step() -> None:
    regime = _setup(d_steps=2)
    before = [p.detach().clone() for p in regime.G.parameters()]
    regime.train_step(_batch(regime, 0))
    regime.global_step += 1
    assert all(torch.equal(a, b) for a, b in zip(before, regime.G.parameters(), strict=True))
    regime.train_step(_batch(regime, 1))
    assert not all(torch.equal(a, b) for a, b in zip(before, regime.G.parameters(), strict=True))
    d, _, _, n_d, _, n_g = regime.sums[:6]
    assert (n_d, n_g) == (64, 32)


# -- EMA ------------------------------------------------------------------------------------


def test_update_ema_averages_parameters_and_copies_buffers() -> None:
    ema, live = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        ema.weight.fill_(1.0)
        live.weight.fill_(3.0)
        live.running_mean.fill_(5.0)
    update_ema(ema, live, 0.75)
    assert torch.equal(ema.weight, torch.full((3,), 1.5))  # 0.75 * 1 + 0.25 * 3
    assert torch.equal(ema.running_mean, torch.full((3,), 5.0))


def test_the_ema_decay_warms_up_then_holds() -> None:
    assert ema_decay(0.999, 10, 0) == pytest.approx(0.1)  # the random start mostly replaced
    assert ema_decay(0.999, 10, 90) == pytest.approx(91 / 100)
    assert ema_decay(0.999, 10, 100_000) == 0.999  # capped by the configured decay
    assert ema_decay(0.999, 0, 0) == 0.999  # no warm-up
    # the random first generator's weight in the average after 500 updates: its decays' product
    left = math.prod(ema_decay(0.999, 10, t) for t in range(500))
    assert left < 1e-10 < 0.999 ** 500


def test_checkpoint_weights_are_the_ema_generator(run: Path) -> None:
    weights, state = CheckpointStore(run / "checkpoints").load("last")
    live = state["regime"]["live_generator"]
    key = "1.weight" if "1.weight" in live else next(k for k in live if k.endswith("weight"))
    assert not torch.equal(weights[f"generator.{key}"], live[key])
    assert all(k.startswith(("generator.", "discriminator.")) for k in weights)
    assert set(state["regime"]["optimizers"]) == {"generator", "discriminator"}


# -- resume ---------------------------------------------------------------------------------


def _last(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return CheckpointStore(path / "checkpoints").load("last")


def test_resume_is_exact(tmp_path: Path) -> None:
    train(tiny(), out=tmp_path / "straight", quiet=True)
    train(tiny(), out=tmp_path / "resumed", quiet=True, epochs=1)
    train(resume=tmp_path / "resumed", quiet=True, epochs=2)
    (wa, sa), (wb, sb) = _last(tmp_path / "straight"), _last(tmp_path / "resumed")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    la, lb = sa["regime"]["live_generator"], sb["regime"]["live_generator"]
    assert all(torch.equal(la[k], lb[k]) for k in la)
    assert torch.equal(sa["regime"]["noise"], sb["regime"]["noise"])
    rows_a = (tmp_path / "straight" / "metrics.csv").read_text().splitlines()
    rows_b = (tmp_path / "resumed" / "metrics.csv").read_text().splitlines()
    strip = [",".join(r.split(",")[:2] + r.split(",")[3:]) for r in rows_a]  # not the time
    assert strip == [",".join(r.split(",")[:2] + r.split(",")[3:]) for r in rows_b]


def test_resume_names_the_network_that_changed(run: Path, tmp_path: Path) -> None:
    import shutil

    copy_ = tmp_path / "run"
    shutil.copytree(run, copy_)
    with pytest.raises(SpecError, match=r"network 'discriminator' of this spec differs from "
                       r"the run being resumed"):
        train(resume=copy_, quiet=True, epochs=3,
              overrides=["networks.discriminator.nodes.dense_1.units=12"])


# -- the grid and the watchdog --------------------------------------------------------------


def test_sample_grid_every_n_epochs(tmp_path: Path) -> None:
    train(tiny(grid={"n": 9, "every": 2}), out=tmp_path / "r", quiet=True)
    pngs = sorted(p.name for p in (tmp_path / "r" / "samples").iterdir())
    assert pngs == ["epoch_002.png"]
    assert (tmp_path / "r" / "samples" / "epoch_002.png").read_bytes()[:4] == b"\x89PNG"


def test_grid_written_each_epoch(run: Path) -> None:
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_001.png",
                                                                   "epoch_002.png"]


def test_watchdog_warns_when_the_discriminator_wins(tmp_path: Path, capsys: Any) -> None:
    train(tiny(watchdog={"d_loss_below": 100.0, "epochs": 2}), out=tmp_path / "r",
          progress="lines")
    out = capsys.readouterr().err
    text = "the discriminator wins outright: d_loss below 100 for 2 epochs (epoch 2"
    assert text in out and "for 1 epochs" not in out
    logged = (tmp_path / "r" / "warnings.log").read_text().splitlines()
    assert len(logged) == 1 and text in logged[0]


def test_no_warning_by_default(run: Path) -> None:
    assert not (run / "warnings.log").exists()


# -- using a trained run --------------------------------------------------------------------


@pytest.mark.parametrize("network", ["generator", "discriminator"])
def test_export_each_network_with_parity(run: Path, tmp_path: Path, network: str) -> None:
    import onnxruntime as ort

    out = tmp_path / f"{network}.onnx"
    r = CliRunner().invoke(main, ["export", str(run), "--network", network, "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "parity ok" in r.output
    if network == "generator":  # the EMA weights, not the live generator's
        sess = ort.InferenceSession(str(out))
        z = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
        got = sess.run(None, {sess.get_inputs()[0].name: z})[0]
        from specc.train.api import load_model

        ema = load_model(run, "generator", "last")
        with torch.no_grad():
            want = ema(torch.from_numpy(z)).numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_export_without_network_is_the_generator(run: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["export", str(run), "-o", str(tmp_path / "g.onnx")])
    assert r.exit_code == 0, r.output
    import onnxruntime as ort

    assert ort.InferenceSession(str(tmp_path / "g.onnx")).get_inputs()[0].name == "z"


def test_specc_sample_draws_a_grid(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    r = CliRunner().invoke(main, ["sample", str(run), "-o", str(out), "-n", "16"])
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_predict_gives_the_discriminators_probability_real(run: Path) -> None:
    x = np.random.default_rng(0).uniform(0, 16, (3, 8, 8)).astype(np.float32)
    p = predict(run, x)
    assert p.shape == (3, 1) and ((p > 0) & (p < 1)).all()
    from specc.train.api import load_model

    d = load_model(run, "discriminator", "last")
    with torch.no_grad():
        logit = d(torch.from_numpy((x / 16 - 0.5) / 0.5).reshape(3, 1, 8, 8)).numpy()
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-logit)), atol=1e-6)


def test_generate_gives_samples_in_raw_units() -> None:
    regime = _setup()
    x = regime.generate(10, seed=3).numpy()
    assert x.shape == (10, 1, 8, 8)
    assert x.min() >= -1e-4 and x.max() <= 16 + 1e-4  # tanh in [-1, 1] -> pixels 0-16
    assert np.array_equal(x, regime.generate(10, seed=3).numpy())


# -- bad input ------------------------------------------------------------------------------


def test_two_networks_with_the_same_name(spec_file: Any) -> None:
    path = spec_file("""
        specc: 1
        networks:
          generator:
            inputs: {z: [4]}
            layers: [{dense: {units: 4}}]
          generator:
            inputs: {x: [4]}
            layers: [{dense: {units: 1}}]
        """)
    with pytest.raises(SpecError, match=r"spec.yaml:6:3: networks.generator: duplicate key "
                       r"'generator' \(first defined on line 3\)"):
        load(path)


GOOD = """
    specc: 1
    networks:
      generator:
        inputs: {z: [4]}
        layers: [{dense: {units: 64, activation: tanh}}, {reshape: {shape: [1, 8, 8]}}]
      discriminator:
        inputs: {x: [1, 8, 8]}
        layers: [flatten, {dense: {units: 1}}]
    train:
      regime: adversarial
      data: digits
"""


@pytest.mark.parametrize(("extra", "match"), [
    ("  optimizers: {discriminater: adam}",
     r"spec.yaml:1[0-9]:\d+: train.optimizers.discriminater: no network 'discriminater' "
     r"\(received 'discriminater'\)\n  hint: did you mean 'discriminator'"),
    ("  schedules: {gen: cosine}", r"train.schedules.gen: no network 'gen'"),
    ("  generator: gen", r"train.generator: no network 'gen' \(received 'gen'\)"),
    ("  metrics: [accuracy]", r"train.metrics\[0\]: metric 'accuracy' compares predictions"),
    ("  accumulate: 2", r"train.accumulate: the adversarial regime trains with accumulate 1 "
     r"only \(received 2\)"),
])
def test_located_errors(spec_file: Any, extra: str, match: str) -> None:
    path = spec_file(GOOD.rstrip() + "\n    " + extra + "\n")
    with pytest.raises(SpecError, match=match):
        regime = _regime(load(path), "cpu")
        regime.global_step = 0
        regime.setup()


def test_adversarial_regime_on_one_network(spec_file: Any) -> None:
    path = spec_file("""
        specc: 1
        inputs: {x: [4]}
        layers: [{dense: {units: 1}}]
        train: {regime: adversarial, data: iris}
        """)
    with pytest.raises(SpecError, match=r"spec.yaml:4:\d+: train.regime: regime 'adversarial' "
                       r"trains a generator and a discriminator; this spec has 1 network"):
        load(path)


def test_generator_output_must_fit_the_discriminator(spec_file: Any) -> None:
    path = spec_file(GOOD.replace("[1, 8, 8]}}]", "[1, 4, 16]}}]", 1))
    with pytest.raises(SpecError, match=r"train.generator: the generator's output \(shape "
                       r"\[1, 4, 16\]\) does not fit the discriminator's input 'x' \(shape "
                       r"\[1, 8, 8\]\) \(received \[1, 4, 16\]\)"):
        load(path)


FLAT = """
    specc: 1
    networks:
      generator:
        inputs: {z: [4]}
        layers: [{dense: {units: 64, activation: tanh}}]
      discriminator:
        inputs: {x: [64]}
        layers: [{dense: {units: 1}}]
    train:
      regime: adversarial
      data: {dataset: digits, view: flat}
      diff_augment: [translation]
"""


def test_diff_augment_needs_images(spec_file: Any) -> None:
    with pytest.raises(SpecError, match=r"spec.yaml:1[0-9]:\d+: train.diff_augment: "
                       r"diff_augment shifts and cuts images; the discriminator's input 'x' has "
                       r"shape \[64\], not \(channels, height, width\) \(received "
                       r"\['translation'\]\)"):
        load(spec_file(FLAT))
    with pytest.raises(SpecError, match=r"train.diff_augment\[0\]"):
        load(spec_file(GOOD.rstrip() + "\n      diff_augment: [rotate]\n"))


# -- diff_augment ---------------------------------------------------------------------------


def test_translate_shifts_each_image_by_up_to_an_eighth_and_repeats_edges() -> None:
    x = torch.arange(4 * 2 * 16 * 16, dtype=torch.float32).reshape(4, 2, 16, 16)
    y = translate(x.clone().requires_grad_(), torch.Generator().manual_seed(0))
    shifts = set()
    for i in range(4):
        # find the shift: the output's centre is the input's centre moved by (dy, dx)
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(y[i, :, 4:12, 4:12], x[i, :, 4 + dy:12 + dy, 4 + dx:12 + dx])]
        assert len(found) == 1, i  # a shift of at most 16 / 8 = 2 pixels each way
        dy, dx = found[0]
        shifts.add((dy, dx))
        if dy > 0:  # shifted up: the bottom rows repeat the input's last row
            assert torch.equal(y[i, :, -1], y[i, :, -1 - dy])
    assert len(shifts) > 1  # each image its own shift
    y.sum().backward()  # differentiable: every output pixel comes from one input pixel


def test_cutout_zeroes_one_square_of_half_each_side() -> None:
    y = cutout(torch.ones(64, 1, 16, 16), torch.Generator().manual_seed(0))
    zero = y[:, 0] == 0
    rows, cols = zero.any(2).sum(1), zero.any(1).sum(1)
    assert (zero.sum((1, 2)) == rows * cols).all()  # one rectangle each
    assert rows.max() == cols.max() == 8 and (rows >= 4).all() and (cols >= 4).all()
    assert (zero.sum((1, 2)) == 64).sum() > 10  # mostly whole 8x8 squares, clipped at edges


def test_diff_augment_trains_and_resumes_exactly(tmp_path: Path) -> None:
    spec = tiny(diff_augment=["translation", "cutout"])
    train(spec, out=tmp_path / "straight", quiet=True)
    train(spec, out=tmp_path / "resumed", quiet=True, epochs=1)
    train(resume=tmp_path / "resumed", quiet=True, epochs=2)
    (wa, _), (wb, _) = _last(tmp_path / "straight"), _last(tmp_path / "resumed")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    (wc, _) = _last(tmp_path / "straight")
    plain = tmp_path / "plain"
    train(tiny(), out=plain, quiet=True)
    assert not all(torch.equal(wc[k], _last(plain)[0][k]) for k in wc)  # it did augment


def test_judge_metric_reads_the_generator_and_picks_best(tmp_path: Path) -> None:
    judge = tmp_path / "judge"
    train({"specc": 1, "name": "judge", "inputs": {"x": [1, 8, 8]},
           "layers": ["flatten", {"dense": {"units": 10, "activation": "softmax"}}],
           "train": {"data": {"dataset": "digits", "split": {"last": 300}, "scale": "unit"},
                     "loss": "cross_entropy", "epochs": 1}}, out=judge, quiet=True)
    out = tmp_path / "gan"
    train(tiny(epochs=1, metrics=[{"judge": {"run": str(judge), "samples": 50}}]), out=out,
          quiet=True)
    row = (out / "metrics.csv").read_text().splitlines()
    head, values = row[0].split(","), row[1].split(",")
    ratio = float(values[head.index("val_judge_ratio")])
    assert 0 < ratio < 2 and "val_judge_min_class" in head
    assert (out / "checkpoints" / "best.safetensors").exists()  # picked by val_judge_ratio


def test_evaluate_reports_the_discriminator_on_held_out_and_generated(run: Path) -> None:
    import json

    r = CliRunner().invoke(main, ["evaluate", str(run), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["split"] == "val" and out["n"] == 64
    assert 0 < out["d_real"] < 1 and 0 < out["d_fake"] < 1 and out["d_loss"] > 0
    rows = (run / "metrics.csv").read_text().splitlines()
    last = dict(zip(rows[0].split(","), rows[-1].split(","), strict=True))
    assert float(last["val_d_loss"]) == pytest.approx(out["d_loss"], rel=1e-5)


def test_resume_mid_epoch_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from specc.train.adversarial import Adversarial
    from specc.train.session import Interrupted

    train(tiny(d_steps=2), out=tmp_path / "straight", quiet=True)
    step = Adversarial.train_step

    def stop_at_step_9(self: Any, batch: Any) -> float:  # like Ctrl-C during epoch 2
        if self.global_step == 8:
            self.session.stop_requested = True
        return step(self, batch)

    monkeypatch.setattr(Adversarial, "train_step", stop_at_step_9)
    with pytest.raises(Interrupted):
        train(tiny(d_steps=2), out=tmp_path / "resumed", quiet=True)
    monkeypatch.setattr(Adversarial, "train_step", step)
    assert _last(tmp_path / "resumed")[1]["step_in_epoch"] == 3
    train(resume=tmp_path / "resumed", quiet=True)
    (wa, sa), (wb, sb) = _last(tmp_path / "straight"), _last(tmp_path / "resumed")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert sa["regime"]["sums"] == sb["regime"]["sums"]


# -- info: a categorical latent code (InfoGAN) ------------------------------------------------


def tiny_info(categories: int = 3, weight: float = 1.0, **train: Any) -> dict[str, Any]:
    """The tiny GAN with ``categories`` code entries after its 4 noise entries."""
    spec = tiny(info={"categories": categories, "weight": weight}, **train)
    spec["networks"]["generator"]["inputs"]["z"] = [4 + categories]
    spec["networks"]["discriminator"]["layers"][-1] = {"dense": {"units": 1 + categories}}
    return spec


def test_latent_ends_in_a_one_hot_code() -> None:
    from specc.train.gan_samples import latent

    regime = _regime(load(tiny_info(3)), "cpu")
    graph = regime.session.spec.network("generator")
    z, c = latent(graph, 600, torch.Generator().manual_seed(0), categories=3)
    assert z.shape == (600, 7) and c.shape == (600,)
    assert torch.equal(z[:, 4:], torch.nn.functional.one_hot(c, 3).float())
    assert set(c.tolist()) == {0, 1, 2} and 150 < int((c == 0).sum()) < 250  # uniform
    assert abs(float(z[:, :4].mean())) < 0.1 and abs(float(z[:, :4].std()) - 1) < 0.1
    z2, c2 = latent(graph, 5, torch.Generator().manual_seed(0), categories=3,
                    labels=torch.tensor([2, 2, 0, 1, 2]))
    assert c2.tolist() == [2, 2, 0, 1, 2] and z2[:, 4:].argmax(1).tolist() == [2, 2, 0, 1, 2]
    z3, c3 = latent(graph, 5, torch.Generator().manual_seed(0), categories=3)
    assert torch.equal(z2[:, :4], z3[:, :4])  # the noise is drawn first, the same either way
    z0, c0 = latent(graph, 5, torch.Generator().manual_seed(0))
    assert c0 is None and torch.equal(z0[:, :4], z3[:, :4]) and z0.shape == (5, 7)


def test_info_loss_by_hand_and_kept_out_of_d_and_g_loss() -> None:
    # a discriminator that says logit 1 to everything and 0 to every category
    regime = _setup(tiny_info(3, optimizers={"discriminator": {"gd": {"lr": 1.0e-30}}}))
    with torch.no_grad():
        for p in regime.D.parameters():
            p.zero_()
        list(regime.D.parameters())[-1][0] = 1.0
    regime.train_step(_batch(regime))
    logs = regime.epoch_logs()
    assert logs["info_loss"] == pytest.approx(math.log(3), abs=1e-6)  # uniform guesses
    softplus = math.log1p(math.e)
    assert logs["d_loss"] == pytest.approx(2 * softplus - 1, abs=1e-6)  # as without the code
    assert logs["g_loss"] == pytest.approx(math.log1p(math.exp(-1)), abs=1e-6)
    assert "info_loss" not in _setup().epoch_logs()


def test_info_code_and_r1_are_learned_and_resume_exactly(tmp_path: Path) -> None:
    spec = tiny_info(3, epochs=4, optimizer={"adam": {"lr": 1.0e-2, "beta1": 0.5}}, r1=1.0,
                     r1_every=2)  # R1's double backward resumes exactly too
    train(spec, out=tmp_path / "straight", quiet=True)
    rows = (tmp_path / "straight" / "metrics.csv").read_text().splitlines()
    head = rows[0].split(",")
    info = [float(r.split(",")[head.index("info_loss")]) for r in rows[1:]]
    assert info[0] > 0.5 and info[-1] < 0.25 * math.log(3)  # it learns to tell them apart
    train(spec, out=tmp_path / "resumed", quiet=True, epochs=2)
    train(resume=tmp_path / "resumed", quiet=True, epochs=4)
    (wa, sa), (wb, sb) = _last(tmp_path / "straight"), _last(tmp_path / "resumed")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert sa["regime"]["sums"] == sb["regime"]["sums"]


def test_info_grid_predict_and_sample(tmp_path: Path) -> None:
    labels, cols = grid_codes(8, 3)
    assert labels.tolist() == [0, 1, 2, 0, 1, 2, 0, 1] and cols == 3
    assert grid_codes(8, 0) == (None, None)
    out = tmp_path / "run"
    train(tiny_info(3, epochs=1), out=out, quiet=True)
    assert (out / "samples" / "epoch_001.png").exists()
    p = predict(out, np.random.default_rng(0).uniform(0, 16, (5, 8, 8)).astype(np.float32))
    assert p.shape == (5, 4) and ((p[:, 0] > 0) & (p[:, 0] < 1)).all()
    np.testing.assert_allclose(p[:, 1:].sum(1), 1, atol=1e-6)  # the categories' softmax
    grid = tmp_path / "grid.png"
    r = CliRunner().invoke(main, ["sample", str(out), "-o", str(grid), "-n", "9"])
    assert r.exit_code == 0, r.output
    assert grid.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("z", "units", "match"), [
    ("[3]", 4, r"spec.yaml:1[0-9]:\d+: train.info.categories: info.categories 3 takes the last "
     r"3 entries of the generator's input 'z' \(shape \[3\]\); it needs a flat input with "
     r"more \(received 3\)\n  hint: give 'z' the noise size plus 3"),
    ("[7]", 1, r"train.discriminator: with info.categories 3 the discriminator must end in "
     r"1 \+ 3 logits \(real/fake, then the category\); its output has shape \[1\] "
     r"\(received \[1\]\)\n  hint: end it with dense: \{units: 4\}"),
])
def test_info_located_errors(spec_file: Any, z: str, units: int, match: str) -> None:
    text = GOOD.replace("{z: [4]}", f"{{z: {z}}}").replace("{units: 1}", f"{{units: {units}}}")
    with pytest.raises(SpecError, match=match):
        load(spec_file(text.rstrip() + "\n      info: {categories: 3}\n"))


# -- R1 penalty -------------------------------------------------------------------------------


def _linear_d(**train: Any) -> dict[str, Any]:
    """The tiny GAN with a linear discriminator: its input gradient is its weight."""
    spec = tiny(**train)
    spec["networks"]["discriminator"]["layers"] = ["flatten", {"dense": {"units": 1}}]
    return spec


def test_r1_penalty_by_hand_on_a_linear_discriminator() -> None:
    lr, gamma = 0.05, 4.0
    step = {"optimizers": {"discriminator": {"gd": {"lr": lr}}}}
    plain, r1 = _setup(_linear_d(**step)), _setup(_linear_d(r1=gamma, **step))
    w0 = _weight(r1).clone()
    assert torch.equal(w0, _weight(plain))
    for regime in (plain, r1):
        regime.train_step(_batch(regime))
    logs = r1.epoch_logs()
    assert logs["r1_penalty"] == pytest.approx(float(w0.square().sum()), rel=1e-5)
    assert "r1_penalty" not in plain.epoch_logs()
    assert logs["d_loss"] == pytest.approx(plain.epoch_logs()["d_loss"], rel=1e-6)  # kept apart
    # the penalty's gradient is gamma * w: one gd step moves the weight by -lr * gamma * w0
    torch.testing.assert_close(_weight(r1) - _weight(plain), -lr * gamma * w0, rtol=1e-4,
                               atol=1e-7)


def test_r1_every_n_steps_scales_by_n() -> None:
    lr, gamma = 0.05, 4.0
    step = {"optimizers": {"discriminator": {"gd": {"lr": lr}}}}
    every, lazy = _setup(_linear_d(r1=gamma, **step)), _setup(_linear_d(r1=gamma, r1_every=2,
                                                                         **step))
    w0 = _weight(lazy).clone()
    for regime in (every, lazy):
        regime.train_step(_batch(regime))
    # step 0 of every 2 carries twice the penalty: one more -lr * gamma * w0
    torch.testing.assert_close(_weight(lazy) - _weight(every), -lr * gamma * w0, rtol=1e-4,
                               atol=1e-7)
    lazy.global_step = 1
    lazy.train_step(_batch(lazy, 1))
    assert lazy.sums[9] == 32  # no penalty on step 1
    lazy.global_step = 2
    lazy.train_step(_batch(lazy, 2))
    assert lazy.sums[9] == 64


def _weight(regime: Any) -> torch.Tensor:
    return next(v for k, v in regime.D.state_dict().items() if k.endswith("weight"))
