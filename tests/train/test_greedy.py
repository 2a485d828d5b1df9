"""``greedy_layerwise``: rbm pretraining phases then fine-tuning in one run (a deep belief
network), its short form, resume mid-phase and its errors; the ``dbn`` spec's bar (slow)."""

from __future__ import annotations

import pytest
import torch

from specc.assembled import load
from specc.backends.torch.build import attr_name
from specc.errors import SpecError
from specc.runs.checkpoint import CheckpointStore
from specc.runs.folder import read_metrics
from specc.train.api import evaluate, train
from specc.train.contrastive import ContrastiveDivergence
from specc.train.greedy import GreedyLayerwise

SPEC = """
specc: 1
name: small_dbn
inputs: {x: [64]}
layers:
  - rbm: {units: 16, name: rbm1}
  - rbm: {units: 8, name: rbm2}
  - dense: {units: 10, activation: softmax, name: output}
train:
  regime: greedy_layerwise
  data: {dataset: digits, split: {val: 0.2, seed: 0}, scale: unit, limit: 200}
  pretrain:
    nodes: [rbm1, rbm2]
    lr: 0.05
    momentum: {start: 0.5, final: 0.9, after: 1}
    weight_decay: 1.0e-4
    epochs: 2
    batch_size: 40
  finetune:
    loss: cross_entropy
    optimizer: {adam: {lr: 0.01}}
    epochs: 2
    batch_size: 40
    metrics: [accuracy]
"""


def _last(run_dir):
    return CheckpointStore(run_dir / "checkpoints").load("last")


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_short_form_is_one_cd_phase_per_rbm_then_the_finetune(spec_file):
    cfg = load(spec_file(SPEC)).train
    assert [(p["regime"], p.get("node")) for p in cfg.phases] == [
        ("contrastive_divergence", "rbm1"), ("contrastive_divergence", "rbm2"),
        ("backprop", None)]
    cd, tune = cfg.phase(1), cfg.phase(2)
    assert (cd.lr, cd.batch_size, cd.momentum.final, cd.data.limit) == (0.05, 40, 0.9, 200)
    assert tune.epochs == 2 and tune.loss.name == "cross_entropy" and not cd.metrics
    assert cfg.regimes_used() == {"greedy_layerwise", "contrastive_divergence", "backprop"}


def test_phases_run_in_one_run_each_starting_from_the_last(spec_file, tmp_path, monkeypatch):
    handed: list = []
    handoff = GreedyLayerwise.handoff

    def spy(self, done, nxt):
        handoff(self, done, nxt)
        handed.append((done, nxt.initial_weights))

    monkeypatch.setattr(GreedyLayerwise, "handoff", spy)
    run = train(spec_file(SPEC), out=tmp_path / "dbn", quiet=True)
    rows = read_metrics(run.dir)
    assert [(r["epoch"], r["phase"]) for r in rows] == [(1, 1), (2, 1), (3, 2), (4, 2),
                                                        (5, 3), (6, 3)]
    assert all(r["recon_error"] > 0 and r["loss"] in ("", None) for r in rows[:4])
    assert all(r["loss"] > 0 and 0 <= r["val_accuracy"] <= 1 for r in rows[4:])
    ev = evaluate(run.dir, checkpoint="last")
    assert ev["accuracy"] == pytest.approx(rows[-1]["val_accuracy"], rel=1e-5)
    assert len(handed) == 2  # rbm1 -> rbm2 -> fine-tune
    (first, w1), (second, w2) = handed
    assert all(torch.equal(w1[k], v) for k, v in first.weights().items() if k != \
               "rbm2.visible_bias")
    # rbm2 starts from the data as it arrives through the trained rbm1: visible bias
    # log(p / (1 - p)) of rbm1's mean activations over the training split
    with torch.no_grad():
        p = first.net.get_submodule(attr_name("rbm1"))(first.data.train.inputs["x"])
    q = p.double().mean(0).clamp(1e-3, 1 - 1e-3)
    assert torch.allclose(w1["rbm2.visible_bias"].double(), (q / (1 - q)).log(), atol=1e-5)
    # phase 2 trains rbm2 only; the fine-tune starts from both rbms and trains through them
    assert _same(w2, second.weights())
    assert torch.equal(w2["rbm1.weight"], w1["rbm1.weight"])
    assert not torch.equal(w2["rbm2.weight"], w1["rbm2.weight"])
    final, _ = _last(run.dir)
    assert not torch.equal(final["rbm1.weight"], w2["rbm1.weight"])


class Crash(Exception):
    """A process killed right after a checkpoint."""


def test_killed_in_phase_two_resumes_to_the_same_weights(spec_file, tmp_path, monkeypatch):
    path = spec_file(SPEC.replace("  pretrain:", "  checkpoint: {every_steps: 1}\n  pretrain:"))
    straight = train(path, out=tmp_path / "straight", quiet=True)
    step = ContrastiveDivergence.train_step

    def crashing(self, batch):
        if self.cfg.node == "rbm2" and self.global_step == 5:  # phase 2, epoch 2, step 2
            raise Crash
        return step(self, batch)

    monkeypatch.setattr(ContrastiveDivergence, "train_step", crashing)
    with pytest.raises(Crash):
        train(path, out=tmp_path / "killed", quiet=True)
    _, state = _last(tmp_path / "killed")
    assert (state["phase"], state["epoch"], state["step_in_epoch"]) == (1, 1, 1)
    monkeypatch.setattr(ContrastiveDivergence, "train_step", step)
    resumed = train(resume=tmp_path / "killed", quiet=True)
    assert _same(_last(straight.dir)[0], _last(resumed.dir)[0])
    strip = [{k: v for k, v in r.items() if k != "time"} for r in read_metrics(straight.dir)]
    assert strip == [{k: v for k, v in r.items() if k != "time"}
                     for r in read_metrics(resumed.dir)]


# -- bad input ------------------------------------------------------------------------------


def _error(spec_file, text):
    with pytest.raises(SpecError) as err:
        load(spec_file(text))
    return str(err.value)


def test_a_node_that_is_not_an_rbm_is_a_located_error(spec_file):
    text = _error(spec_file, SPEC.replace("[rbm1, rbm2]", "[rbm1, output]"))
    assert "spec.yaml:12:" in text and "train.pretrain.nodes[1]: regime 'greedy_layerwise' " \
        "pretrains rbm nodes; 'output' is a dense (received 'output')" in text


def test_an_unknown_node_gets_a_did_you_mean(spec_file):
    with pytest.raises(SpecError) as err:
        load(spec_file(SPEC.replace("[rbm1, rbm2]", "[rbm1, rmb2]")))
    issue = err.value.issues[0]
    assert "spec.yaml:12:" in issue.text()
    assert "train.pretrain.nodes[1]: the network has no node 'rmb2'" in issue.text()
    assert issue.hint == "did you mean 'rbm2'?"


def test_rbms_out_of_graph_order_are_an_error(spec_file):
    text = _error(spec_file, SPEC.replace("[rbm1, rbm2]", "[rbm2, rbm1]"))
    assert "train.pretrain.nodes[1]: 'rbm1' does not come after 'rbm2' in the network: the " \
        "rbms are pretrained bottom-up, in graph order (received 'rbm1')" in text


def test_a_long_form_phase_naming_a_dense_is_located_at_its_node(spec_file):
    long = SPEC.split("  pretrain:")[0] + """\
  phases:
    - {regime: contrastive_divergence, node: rbm1, epochs: 1}
    - {regime: contrastive_divergence, node: output, epochs: 1}
    - {regime: backprop, loss: cross_entropy, epochs: 1}
"""
    text = _error(spec_file, long)
    assert "spec.yaml:13:" in text and "train.phases[1].node: regime 'greedy_layerwise' " \
        "pretrains rbm nodes; 'output' is a dense" in text
    text = _error(spec_file, long.replace("node: output, ", ""))
    assert "spec.yaml:13:" in text and "train.phases[1].node: phase 2 must name the rbm it " \
        "pretrains" in text and "hint: rbm nodes: rbm1, rbm2" in text


def test_short_form_mistakes_are_reported_where_they_were_written(spec_file):
    text = _error(spec_file, SPEC.replace("lr: 0.05", "lr: -1").replace(
        "epochs: 2\n    batch_size: 40\n    metrics", "epochs: 2\n    ridge: 1\n    metrics"))
    assert "spec.yaml:13:" in text and "train.pretrain.lr: " in text
    assert "train.finetune.ridge: regime 'backprop' has no field 'ridge'" in text
    assert text.count("train.pretrain.lr") == 1  # once, not once per rbm
    text = _error(spec_file, SPEC.replace("nodes: [rbm1, rbm2]", "node: rbm1"))
    assert "train.pretrain.nodes: list the rbm nodes to pretrain, in graph order " \
        "(received 'nothing')" in text
    both = SPEC + "  phases: [{regime: backprop, loss: cross_entropy}]\n"
    assert "train.phases: give either the phases or 'pretrain' and 'finetune', not both" \
        in _error(spec_file, both)


def test_the_cli_reports_a_bad_node_with_exit_code_2(spec_file):
    from click.testing import CliRunner

    from specc.cli.app import main

    path = spec_file(SPEC.replace("[rbm1, rbm2]", "[rbm1, output]"))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert "'output' is a dense" in result.output and "Traceback" not in result.output


def test_regimes_describe_explains_the_short_form():
    from click.testing import CliRunner

    from specc.cli.app import main

    result = CliRunner().invoke(main, ["regimes", "describe", "greedy_layerwise"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "train: fields from GreedyConfig:" in out
    for field in ("pretrain: dict[str, Any] | null", "finetune:", "phases:"):
        assert field in out
    assert "pretrain: {nodes: [rbm1, rbm2], epochs: 30" in out


# -- the dbn spec ----------------------------------------------------------------------------


@pytest.mark.slow
def test_dbn_reaches_its_bar_and_reports_the_net_without_pretraining(tmp_path):
    from benchmarks.dbn import train_both

    dbn, plain = train_both(0, tmp_path)
    print(f"dbn digits: accuracy {dbn['accuracy']:.4f} in {dbn['seconds']:.1f} s; without "
          f"pretraining {plain['accuracy']:.4f} in {plain['seconds']:.1f} s")
    assert dbn["n"] == 360  # 80/20, seed 0
    assert dbn["accuracy"] >= 0.975
