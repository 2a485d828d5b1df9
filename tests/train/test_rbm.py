"""The ``linear_probe`` metrics, and the ``rbm`` spec end to end: contrastive divergence, the
probe bar, export parity and the pictures ``specc sample`` draws."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from sklearn.datasets import load_digits

from specc.cli import main
from specc.entries import Choice, NoParams, SplitContext
from specc.errors import SpecError
from specc.registry import current
from specc.train.metrics import evaluate_split
from specc.train.probe import NetworkProbe, ProbeParams, RawProbe


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three noisy classes in 5 dimensions."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.tensor([[2.0, 0, 0, 0, 0], [0, 2.0, 0, 0, 0], [0, 0, 2.0, 0, 0]])
    return centres[y] + torch.randn(n, 5, generator=gen), y


def contexts(features: object = None) -> tuple[SplitContext, SplitContext]:
    """(train, val) contexts whose network squares its input (or returns ``features``)."""
    def predict(inputs: dict) -> dict:
        x = inputs["x"]
        return {"out": x * x.abs()} if features is None else features

    (xt, yt), (xv, yv) = blobs(90, 0), blobs(60, 1)
    train = SplitContext("train", predict, {"x": xt}, {}, extras={"y": yt})
    train.train = train
    val = SplitContext("val", predict, {"x": xv}, {}, extras={"y": yv}, train=train)
    return train, val


def reference(x_fit: torch.Tensor, y_fit: torch.Tensor, x: torch.Tensor,
              y: torch.Tensor) -> float:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=5000).fit(x_fit.double().numpy(),
                                                        y_fit.numpy()).score(x.double().numpy(),
                                                                             y.numpy())


def test_probes_are_logistic_regressions_fitted_on_the_training_split() -> None:
    train, val = contexts()
    (xt, yt), (xv, yv) = (train.inputs["x"], train.extras["y"]), (val.inputs["x"],
                                                                    val.extras["y"])
    p = ProbeParams()
    want = reference(xt * xt.abs(), yt, xv * xv.abs(), yv)
    assert NetworkProbe.evaluate(p, val) == want
    assert RawProbe.evaluate(p, val) == reference(xt, yt, xv, yv)
    assert NetworkProbe.evaluate(p, train) == reference(xt * xt.abs(), yt, xt * xt.abs(), yt)
    assert NetworkProbe.evaluate(p, val) == want  # deterministic


def test_probes_are_registered_split_metrics() -> None:
    _, val = contexts()
    got = evaluate_split([Choice("linear_probe", ProbeParams()),
                          Choice("linear_probe_raw", ProbeParams(C=0.5)), Choice("mse", NoParams())],
                         val)
    assert set(got) == {"linear_probe", "linear_probe_raw"}
    assert current().metrics.get("linear_probe").mode == "max"


def test_a_probe_needs_labels_a_training_split_and_one_output() -> None:
    train, val = contexts()
    val.extras = {}
    with pytest.raises(SpecError) as err:
        NetworkProbe.evaluate(ProbeParams(), val)
    assert "metric 'linear_probe' needs class labels, and this dataset has none" in str(err.value)
    assert err.value.issues[0].path == ("train", "metrics")
    floats = SplitContext("val", train.predict, train.inputs, {},
                          extras={"y": torch.rand(90)}, train=train)
    with pytest.raises(SpecError, match="needs class labels"):
        RawProbe.evaluate(ProbeParams(), floats)
    orphan = SplitContext("val", train.predict, train.inputs, {}, extras=train.extras)
    with pytest.raises(SpecError, match="fits on the training split, which this regime does "
                       "not give its metrics"):
        RawProbe.evaluate(ProbeParams(), orphan)
    _, two = contexts({"a": np.zeros((90, 2)), "b": np.zeros((90, 2))})
    with pytest.raises(SpecError, match="probes the output of a one-output network; this one "
                       "has 2"):
        NetworkProbe.evaluate(ProbeParams(), two)


# -- the rbm spec end to end ------------------------------------------------------------------

SPEC_PATH = Path(__file__).resolve().parents[2] / "specs" / "rbm.yaml"
PNG = b"\x89PNG\r\n\x1a\n"


def short_spec(**train: object) -> dict:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    spec["train"]["data"]["limit"] = 300
    spec["train"].update({"epochs": 2, **train})
    return spec


def test_a_short_run_logs_both_probes_and_draws_filters_and_chains(tmp_path: Path) -> None:
    from specc.train.api import train

    run = train(short_spec(), out=tmp_path / "run", quiet=True)
    last = run.metrics[-1]
    assert 0 < last["val_linear_probe"] <= 1 and 0 < last["val_linear_probe_raw"] <= 1
    assert last["val_recon_error"] > 0
    runner = CliRunner()
    for what, name in ((None, "filters.png"), ("chains", "chains.png")):
        args = ["sample", str(tmp_path / "run"), "-o", str(tmp_path / name), "-n", "3"]
        res = runner.invoke(main, args + (["--what", what] if what else []))
        assert res.exit_code == 0, res.output
        assert (tmp_path / name).read_bytes()[:8] == PNG
    res = runner.invoke(main, ["sample", str(tmp_path / "run"), "-o", str(tmp_path / "x.png"),
                               "--what", "umatrix"])
    assert res.exit_code == 2
    assert "'rbm' draws no 'umatrix'" in res.output and "filters, chains" in res.output
    assert not (tmp_path / "x.png").exists()


def test_the_visible_bias_is_set_from_the_data_before_step_1(tmp_path: Path) -> None:
    from specc.train.api import load_model, train

    # one epoch at a negligible learning rate: the bias is the one set before step 1
    run = train(short_spec(epochs=1, lr=1e-9, metrics=[]), out=tmp_path / "run", quiet=True)
    bias = load_model(run.dir, checkpoint="last").get_submodule("features").visible_bias
    split = json.loads((run.dir / "split.json").read_text())
    x, _ = load_digits(return_X_y=True)
    keep = np.setdiff1d(np.arange(300), split["val_index"])
    p = np.clip(x[keep].mean(0) / 16, 1e-3, 1 - 1e-3)
    assert np.allclose(bias.detach().numpy(), np.log(p / (1 - p)), atol=1e-5)


@pytest.mark.slow
def test_rbm_spec_meets_its_bar_and_exports_with_parity(tmp_path: Path) -> None:
    """The built-in spec: probe >= 97.5% on the held-out 20%, above the raw pixels (96.4%)."""
    import specc
    from specc.train.api import train

    run = train(str(SPEC_PATH), out=tmp_path / "run", quiet=True)
    last = run.metrics[-1]
    assert last["val_linear_probe_raw"] == pytest.approx(0.9639, abs=1e-4)
    assert last["val_linear_probe"] >= 0.975
    assert last["val_linear_probe"] > last["val_linear_probe_raw"]
    result = specc.export(run.dir, tmp_path / "rbm.onnx")
    assert result.parity is not None and result.parity.ok


@pytest.mark.parametrize("visible,scale,persistent", [("gaussian", "standard", False),
                                                      ("bernoulli", "unit", True)])
def test_gaussian_visible_units_and_persistent_chains_train(tmp_path: Path, visible: str,
                                                            scale: str,
                                                            persistent: bool) -> None:
    from specc.train.api import train

    spec = short_spec(epochs=4, metrics=[], persistent=persistent, lr=0.01)
    spec["layers"][0]["rbm"]["visible"] = visible
    spec["train"]["data"]["scale"] = scale
    rows = train(spec, out=tmp_path / "run", quiet=True).metrics
    errors = [r["recon_error"] for r in rows]
    assert all(np.isfinite(errors)) and errors[-1] < errors[0], errors
