"""The ``competitive`` regime: the kohonen bar, the batch and online rules against hand-written
loops, determinism, exact resume mid-run, the metrics (logged, monitorable, registered), export
and predict, and the refusals (each a located SpecError)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from safetensors.torch import load_file

import specc
from specc.cli import main
from specc.errors import SpecError
from specc.train.api import train
from specc.train.competitive import Competitive
from specc.train.session import Interrupted

SPEC_PATH = Path(__file__).resolve().parents[2] / "specs" / "kohonen.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())
QUICK = {"every": 1000, "best": False}  # one checkpoint at the end: the runs take milliseconds


def spec_with(layer: dict | None = None, **fields: Any) -> dict:
    spec = copy.deepcopy(SPEC)
    if layer is not None:
        spec["layers"][0]["som"].update(layer)
    spec["train"].update(fields)
    return spec


def codebook(run_dir: Path, tag: str = "last") -> torch.Tensor:
    return load_file(run_dir / f"checkpoints/{tag}.safetensors")["map.codebook"]


def standard_iris() -> np.ndarray:
    from sklearn.datasets import load_iris

    x = load_iris().data
    return (x - x.mean(0)) / x.std(0)


def test_kohonen_reaches_the_bar(tmp_path: Path) -> None:
    run = train(spec_with(checkpoint=QUICK), out=tmp_path / "run", quiet=True)
    last = run.metrics[-1]
    assert len(run.metrics) == 30
    assert last["quantization_error"] <= 0.37 and last["topographic_error"] <= 0.03
    assert abs(last["quantization_error"] - 0.348) < 0.002  # ZOO row 27: 0.348 / 0.013
    assert abs(last["sigma"] - 0.6) < 1e-9 and run.metrics[0]["sigma"] == 3
    result = specc.export(tmp_path / "run", tmp_path / "k.onnx")
    assert result.parity is not None and result.parity.ok
    from sklearn.datasets import load_iris

    raw = load_iris().data[[0, 50, 100]].astype(np.float32)  # preprocessed as in training
    bmu = run.predict(raw)
    values = np.asarray(next(iter(bmu.values())) if isinstance(bmu, dict) else bmu)
    assert values.dtype == np.int64 and values.shape == (3, 1)
    w = codebook(run.dir).double().numpy()
    want = ((standard_iris()[[0, 50, 100], None] - w) ** 2).sum(-1).argmin(1)
    assert values[:, 0].tolist() == want.tolist() and len(set(want.tolist())) == 3


def test_batch_rule_is_kohonens(tmp_path: Path) -> None:
    """30 epochs equal a NumPy batch map from the same PCA start (float64 reference)."""
    run = train(spec_with(checkpoint=QUICK), out=tmp_path / "run", quiet=True)
    x = standard_iris()
    r, c = np.divmod(np.arange(49), 7)
    grid = np.sqrt((r[:, None] - r) ** 2 + (c[:, None] - c) ** 2)
    lam, vec = np.linalg.eigh(np.cov(x.T, bias=True))
    order = np.argsort(-lam)
    span = np.linspace(-1, 1, 7)
    v1, v2 = (vec[:, k] * np.sign(vec[np.abs(vec[:, k]).argmax(), k]) for k in order[:2])
    w = (x.mean(0) + span[r][:, None] * np.sqrt(lam[order[0]]) * v1
         + span[c][:, None] * np.sqrt(lam[order[1]]) * v2)
    for epoch in range(30):
        sigma = 3.0 * (0.6 / 3.0) ** (epoch / 29)
        bmu = ((x[:, None] - w) ** 2).sum(-1).argmin(1)
        h = np.exp(-grid[bmu] ** 2 / (2 * sigma ** 2))
        w = h.T @ x / h.sum(0)[:, None]
    assert np.abs(codebook(run.dir).numpy() - w).max() < 1e-4


def test_online_rule_by_hand(tmp_path: Path) -> None:
    """One epoch of the online rule, batch size 5, equals the rule written out per sample."""
    from specc.data.loader import TensorData, epoch_order
    from specc.data.prepare import prepare

    spec = spec_with({"rows": 3, "cols": 4}, algorithm="online", init="random", epochs=1,
                     batch_size=5, sigma_start=1.5, lr_start=0.4, lr_end=0.05,
                     data={"dataset": "iris", "split": "none", "scale": "standard",
                           "limit": 40})
    run = train(spec, out=tmp_path / "run", quiet=True)
    data = TensorData(prepare(run.spec.train.data, run.spec.graph.inputs, {}))
    x = data.train.inputs["features"].double()
    w = x[torch.randint(40, (12,), generator=torch.Generator().manual_seed(0))].clone()
    r, c = torch.div(torch.arange(12), 4, rounding_mode="floor"), torch.arange(12) % 4
    grid = ((r[:, None] - r) ** 2 + (c[:, None] - c) ** 2).double().sqrt()
    for t, i in enumerate(epoch_order(data.sampler(0), 0).tolist()):
        sigma, lr = 1.5 * (0.6 / 1.5) ** (t / 39), 0.4 * (0.05 / 0.4) ** (t / 39)
        bmu = int(((x[i] - w) ** 2).sum(1).argmin())
        w += lr * torch.exp(-grid[bmu] ** 2 / (2 * sigma ** 2))[:, None] * (x[i] - w)
    assert (codebook(run.dir).double() - w).abs().max() < 1e-5
    assert run.metrics[-1]["lr"] == pytest.approx(0.05)


@pytest.mark.parametrize("fields", [
    {"batch_size": 50},
    {"algorithm": "online", "batch_size": 7, "lr_start": 0.3},
], ids=["batch", "online"])
def test_deterministic_and_resume_mid_epoch_is_exact(tmp_path: Path, fields: dict,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_with({"topology": "hexagonal"}, epochs=4,
                     data={"dataset": "iris", "split": {"val": 0.2, "seed": 0},
                           "scale": "standard"}, **fields)
    whole = train(spec, out=tmp_path / "whole", quiet=True)
    again = train(spec, out=tmp_path / "again", quiet=True)
    assert torch.equal(codebook(whole.dir), codebook(again.dir))
    step = Competitive.train_step
    calls = {"n": 0}

    def stop_after_five(self: Any, batch: Any) -> float:
        loss = step(self, batch)
        calls["n"] += 1
        if calls["n"] == 5:  # in epoch 2 (3 steps of 50 an epoch) or 1 (18 of 7)
            self.session.stop_requested = True
        return loss

    monkeypatch.setattr(Competitive, "train_step", stop_after_five)
    with pytest.raises(Interrupted):
        train(spec, out=tmp_path / "cut", quiet=True)
    monkeypatch.setattr(Competitive, "train_step", step)
    resumed = train(resume=tmp_path / "cut", quiet=True)
    assert torch.equal(codebook(whole.dir), codebook(resumed.dir))

    def untimed(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "time"} for row in rows]

    assert untimed(resumed.metrics) == untimed(whole.metrics)


def test_metrics_are_logged_on_both_splits_and_monitorable(tmp_path: Path) -> None:
    spec = spec_with(epochs=12, data={"dataset": "iris", "split": {"val": 0.2, "seed": 0},
                                      "scale": "standard"},
                     early_stopping={"monitor": "val_topographic_error", "patience": 2})
    run = train(spec, out=tmp_path / "run", quiet=True)
    row = run.metrics[-1]
    for key in ("quantization_error", "topographic_error", "val_quantization_error",
                "val_topographic_error", "loss", "val_loss"):
        assert key in row
    assert len(run.metrics) < 12  # the topographic error stops improving early
    best = min(run.metrics, key=lambda r: (r["val_topographic_error"], r["epoch"]))
    figures = run.evaluate(split="val")  # the best checkpoint, by val_topographic_error
    assert figures["quantization_error"] == pytest.approx(best["val_quantization_error"])
    assert figures["loss"] == figures["quantization_error"]


def test_split_metrics_read_the_som_of_any_network(tmp_path: Path) -> None:
    """The registered metrics compute the same figures from a SplitContext."""
    from specc.entries import SplitContext
    from specc.registry import current
    from specc.train.api import load_model

    run = train(spec_with(checkpoint=QUICK), out=tmp_path / "run", quiet=True)
    model = load_model(run.dir)
    ctx = SplitContext("train", lambda i: {}, {"features": standard_iris().astype(np.float32)},
                       {}, model=model)
    metrics = current().metrics
    qe = metrics.get("quantization_error").evaluate(None, ctx)
    te = metrics.get("topographic_error").evaluate(None, ctx)
    assert qe == pytest.approx(run.metrics[-1]["quantization_error"], rel=1e-5)
    assert te == pytest.approx(run.metrics[-1]["topographic_error"], rel=1e-5)
    assert metrics.get("quantization_error").mode == "min"
    with pytest.raises(SpecError, match="needs the network"):
        metrics.get("topographic_error").evaluate(None, SplitContext("train", None, {}, {}))


def _error(spec: dict, tmp_path: Path) -> Any:
    path = tmp_path / "k.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    res = CliRunner().invoke(main, ["train", str(path), "--out", str(tmp_path / "run"), "-q"])
    assert res.exit_code == 2, res.output
    return res.output, path.read_text().splitlines()


def test_online_fields_under_the_batch_algorithm_are_located(tmp_path: Path) -> None:
    out, lines = _error(spec_with(lr_start=0.3), tmp_path)
    assert f"k.yaml:{lines.index('  lr_start: 0.3') + 1}" in out
    assert "'lr_start' sets the online rule's learning rate" in out
    assert "algorithm: online" in out


def test_a_label_metric_is_located(tmp_path: Path) -> None:
    out, lines = _error(spec_with(metrics=["quantization_error", "accuracy"]), tmp_path)
    assert "metric 'accuracy' reads predictions against targets" in out
    assert "train.metrics[1]" in out and "(received 'accuracy')" in out


def test_a_node_that_is_not_a_som_is_located(tmp_path: Path) -> None:
    out, _ = _error(spec_with(node="features"), tmp_path)
    assert "'features' is not a node" in out and "train.node" in out
    spec = spec_with()
    spec["layers"].insert(0, {"dense": {"units": 4, "name": "proj"}})
    out, lines = _error(spec, tmp_path)
    assert "node 'proj' has trainable weights" in out
    assert f"k.yaml:{lines.index('- dense:') + 1}" in out and "trainable: false" in out
    spec["layers"][0]["dense"]["trainable"] = False  # a frozen projection is fine
    run = train(spec, out=tmp_path / "frozen", quiet=True, epochs=2)
    assert run.metrics[-1]["quantization_error"] > 0


def test_two_soms_need_a_node(tmp_path: Path) -> None:
    spec = spec_with()
    spec.pop("layers")
    spec["nodes"] = {"a": {"op": "som", "in": "features", "rows": 2, "cols": 2},
                     "b": {"op": "som", "in": "features", "rows": 3, "cols": 3}}
    spec["outputs"] = ["a", "b"]
    out, _ = _error(spec, tmp_path)
    assert "regime 'competitive' trains a 'som' node; the network has 2" in out
    assert "train.node" in out and "node: NAME" in out
