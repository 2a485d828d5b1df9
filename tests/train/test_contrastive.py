"""The ``contrastive_divergence`` regime: the update rule, restarts, exact resume, the logs,
the refusals (located), and the ``boltzmann_machine`` spec's bar, prediction and export."""

from __future__ import annotations

import copy
import json
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
from specc.train.contrastive import ContrastiveDivergence
from specc.train.session import Interrupted

SPEC_PATH = Path(__file__).resolve().parents[2] / "specs" / "boltzmann_machine.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())
QUICK = {"epochs": 3, "restarts": 1, "data": {"dataset": "encoder", "copies": 10,
                                             "split": {"val": 0}}}


def spec_with(**train_fields: Any) -> dict:
    spec = copy.deepcopy(SPEC)
    spec["train"].update(QUICK)
    spec["train"].update(train_fields)
    return spec


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(run_dir / "checkpoints/last.safetensors")


def untimed(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "time"} for row in rows]


def test_one_cd_step_is_the_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """velocity = momentum * velocity + lr * (data - model - decay * w), no decay on biases,
    then the constraints: checked against the statistics the model returned."""
    seen: list[dict[str, torch.Tensor]] = []
    cls = type(specc.build(spec_with()).get_submodule("completion"))
    data_stats, model_stats = cls.data_statistics, cls.model_statistics

    def record_data(self: Any, v: Any, gen: Any, **opts: Any) -> Any:
        seen.append({k: t.clone() for k, t in self.state_dict().items()})
        out = data_stats(self, v, gen, **opts)
        seen.append(out)
        return out

    def record_model(self: Any, chains: Any, k: int, gen: Any, **opts: Any) -> Any:
        out = model_stats(self, chains, k, gen, **opts)
        seen.append(out[0])
        return out

    monkeypatch.setattr(cls, "data_statistics", record_data)
    monkeypatch.setattr(cls, "model_statistics", record_model)
    spec = spec_with(epochs=1, lr=0.25, weight_decay=0.1, momentum=0.5,
                     data={"dataset": "encoder", "copies": 5, "split": {"val": 0}})
    train(spec, out=tmp_path / "run", quiet=True)
    before, pos, neg = seen[0], seen[1], seen[2]
    w = weights(tmp_path / "run")
    mask = before["completion.mask"] if "completion.mask" in before else before["mask"]
    step_w = 0.25 * (pos["weight"] - neg["weight"] - 0.1 * before["weight"])
    want_w = (before["weight"] + step_w + (before["weight"] + step_w).T) / 2 * mask
    assert torch.allclose(w["completion.weight"], want_w, atol=1e-6)
    want_b = before["bias"] + 0.25 * (pos["bias"] - neg["bias"])  # no decay on biases
    assert torch.allclose(w["completion.bias"], want_b, atol=1e-6)


def test_resume_mid_epoch_is_bit_identical(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_with(epochs=3, restarts=2, persistent=True, clamp_noise=0.1, lr_decay=0.9,
                     momentum={"start": 0.5, "final": 0.9, "after": 1})
    whole = train(spec, out=tmp_path / "whole", quiet=True)
    step = ContrastiveDivergence.train_step
    calls = {"n": 0}

    def stop_after_three(self: Any, batch: Any) -> float:
        loss = step(self, batch)
        calls["n"] += 1
        if calls["n"] == 3:  # in epoch 2 (2 steps of 20 an epoch)
            self.session.stop_requested = True
        return loss

    monkeypatch.setattr(ContrastiveDivergence, "train_step", stop_after_three)
    with pytest.raises(Interrupted):
        train(spec, out=tmp_path / "cut", quiet=True)
    monkeypatch.setattr(ContrastiveDivergence, "train_step", step)
    resumed = train(resume=tmp_path / "cut", quiet=True)
    a, b = weights(whole.dir), weights(resumed.dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert untimed(resumed.metrics) == untimed(whole.metrics)


def test_restarts_log_every_machine_and_keep_the_best(tmp_path: Path) -> None:
    run = train(spec_with(restarts=3, epochs=2), out=tmp_path / "run", quiet=True)
    last = run.metrics[-1]
    figures = [last[f"restart_{i}"] for i in range(3)]
    assert len(set(figures)) == 3  # different seeds, different machines
    assert last["restart"] == float(np.argmax(figures))
    assert last["log_likelihood"] == max(figures)
    single = train(spec_with(restarts=1, epochs=2), out=tmp_path / "one", quiet=True)
    assert single.metrics[-1]["log_likelihood"] == pytest.approx(figures[0])  # restart 0
    assert "restart" not in single.metrics[-1]


def test_learning_rate_decays_and_momentum_follows_its_schedule(tmp_path: Path) -> None:
    run = train(spec_with(epochs=3, lr=0.4, lr_decay=0.5), out=tmp_path / "run", quiet=True)
    assert [r["lr"] for r in run.metrics] == pytest.approx([0.4, 0.2, 0.1])
    assert all(r["recon_error"] >= 0 for r in run.metrics)
    from specc.train.contrastive import ContrastiveDivergenceConfig, MomentumSchedule

    cfg = ContrastiveDivergenceConfig(data={"dataset": "encoder"},
                                      momentum={"start": 0.5, "final": 0.9, "after": 2})
    assert isinstance(cfg.momentum, MomentumSchedule)
    regime = ContrastiveDivergence.__new__(ContrastiveDivergence)
    regime.cfg = cfg
    seen = []
    for regime.epoch in range(4):
        seen.append(regime.momentum())
    assert seen == [0.5, 0.5, 0.9, 0.9]


def _error(spec: dict, tmp_path: Path) -> SpecError:
    with pytest.raises(SpecError) as err:
        train(spec, out=tmp_path / "run", quiet=True)
    return err.value


def test_a_node_that_is_not_an_energy_model_is_located(tmp_path: Path) -> None:
    spec = spec_with(node="dense1")
    spec["layers"].insert(0, {"dense": {"units": 4, "name": "dense1", "trainable": False}})
    issue = _error(spec, tmp_path).issues[0]
    assert ("regime 'contrastive_divergence' trains an rbm or boltzmann_machine node; "
            "'dense1' is a dense") in issue.message
    assert issue.path == ("train", "node")
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    res = CliRunner().invoke(main, ["train", str(path), "--out", str(tmp_path / "cli")])
    assert res.exit_code == 2, res.output
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1)
                if t.strip().startswith("node:"))
    assert f"p.yaml:{line}" in res.output and "'dense1' is a dense" in res.output
    res = CliRunner().invoke(main, ["validate", str(path)])  # found at validation already
    assert res.exit_code == 2 and f"p.yaml:{line}" in res.output
    issue = _error(spec_with(node="nope"), tmp_path).issues[0]
    assert "the network has no node 'nope'" in issue.message
    spec = spec_with()
    spec["layers"] = [{"dense": {"units": 4}}]
    issue = _error(spec, tmp_path).issues[0]
    assert "this network has none" in issue.message and issue.path == ("train", "regime")


def test_the_boltzmann_machine_refuses_other_regimes_located(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["train"] = {"regime": "backprop", "data": {"dataset": "encoder"}, "loss": "mse"}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    assert "layer 'boltzmann_machine' is not trained by regime 'backprop'" in res.output
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1)
                if "boltzmann_machine:" in t and t.startswith("-"))
    assert f"p.yaml:{line}" in res.output


@pytest.mark.slow
def test_bar_the_selected_machine_completes_all_four_patterns(tmp_path: Path) -> None:
    run = train(SPEC, out=tmp_path / "run", quiet=True)
    out = run.predict(np.eye(4, dtype=np.float32))
    values = np.asarray(next(iter(out.values())) if isinstance(out, dict) else out)
    assert values.argmax(1).tolist() == [0, 1, 2, 3]
    last = run.metrics[-1]
    assert len([k for k in last if k.startswith("restart_")]) == 10
    assert last["log_likelihood"] == max(last[f"restart_{i}"] for i in range(10))
    result = specc.export(tmp_path / "run", tmp_path / "bm.onnx")
    assert result.parity is not None and result.parity.ok
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.eye(4, dtype=np.float32))
    res = CliRunner().invoke(main, ["predict", str(tmp_path / "run"), "--input", str(inputs),
                                    "--json"])
    assert res.exit_code == 0, res.output
    rows = [row["value"] for row in json.loads(res.output)]
    assert np.asarray(rows).argmax(1).tolist() == [0, 1, 2, 3]


def test_specc_sample_draws_the_weights_and_completions(tmp_path: Path) -> None:
    train(spec_with(epochs=1), out=tmp_path / "run", quiet=True)
    res = CliRunner().invoke(main, ["sample", str(tmp_path / "run"), "-o",
                                    str(tmp_path / "bm.png")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "bm.png").stat().st_size > 1000
    res = CliRunner().invoke(main, ["sample", str(tmp_path / "run"), "--what", "chains",
                                    "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 2 and "'boltzmann_machine' draws no 'chains'" in res.output


def test_the_node_trains_on_the_activations_arriving_at_it(tmp_path: Path) -> None:
    """A dense layer before the machine runs (without gradients) and is left as built; the
    machine's visible vector is the dense output followed by the targets."""
    spec = spec_with(epochs=1, node="completion")
    spec["layers"].insert(0, {"dense": {"units": 4, "name": "pre", "activation": "sigmoid"}})
    seen: list[torch.Tensor] = []
    visible = ContrastiveDivergence.visible

    def record(self: Any, batch: Any, net: Any) -> torch.Tensor:
        v = visible(self, batch, net)
        seen.append(v)
        return v

    built = specc.build(spec)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ContrastiveDivergence, "visible", record)
        train(spec, out=tmp_path / "run", quiet=True)
    w = weights(tmp_path / "run")
    assert torch.equal(w["pre.weight"], built.state_dict()["pre.weight"])
    assert not torch.equal(w["completion.weight"], built.state_dict()["completion.weight"])
    v = seen[0]
    assert v.shape[1] == 8 and ((v[:, :4] > 0) & (v[:, :4] < 1)).all()  # sigmoid features
    assert set(v[:, 4:].unique().tolist()) == {0.0, 1.0}  # one-hot targets


@pytest.mark.parametrize("persistent", [False, True], ids=["cd", "pcd"])
def test_negative_chains_start_from_the_data_or_persist(tmp_path: Path, persistent: bool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cls = type(specc.build(spec_with()).get_submodule("completion"))
    model_stats = cls.model_statistics
    calls: list[tuple[torch.Tensor, int, torch.Tensor]] = []

    def record(self: Any, chains: Any, k: int, gen: Any, **opts: Any) -> Any:
        out = model_stats(self, chains, k, gen, **opts)
        calls.append((chains.clone(), k, out[1].clone()))
        return out

    monkeypatch.setattr(cls, "model_statistics", record)
    spec = spec_with(epochs=1, k=3, persistent=persistent, chains=7,
                     data={"dataset": "encoder", "copies": 10, "split": {"val": 0}})
    train(spec, out=tmp_path / "run", quiet=True)
    assert len(calls) == 2 and all(k == 3 for _, k, _ in calls)
    (first, _, end), (second, _, _) = calls
    if persistent:
        assert len(first) == 7 and torch.equal(second, end)  # carried over
    else:  # CD-k: the visible units start at the batch (one-hot pairs), 20 chains
        assert len(first) == 20 and torch.equal(first[:, :4], first[:, 4:8])
        assert torch.equal(first[:, :4].sum(1), torch.ones(20))


def test_restarts_without_exact_likelihood_keep_the_lowest_reconstruction_error(
        tmp_path: Path) -> None:
    spec = spec_with(restarts=3, epochs=1)
    spec["layers"][0]["boltzmann_machine"]["groups"] = {"v1": 4, "h": 13, "v2": 4}  # 21 units
    spec["train"]["checkpoint"] = {"monitor": "recon_error"}
    last = train(spec, out=tmp_path / "run", quiet=True).metrics[-1]
    figures = [last[f"restart_{i}"] for i in range(3)]
    assert "log_likelihood" not in last and all(0 < f < 1 for f in figures)
    assert last["restart"] == float(np.argmin(figures))
