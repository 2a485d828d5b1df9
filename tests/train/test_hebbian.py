"""The ``hebbian`` regime: the spec's bar with exact onnxruntime recall, the three storage
rules, the stored weights, ``specc sample``, and the refusals (each a located SpecError)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from safetensors.torch import load_file

import specc
from specc.cli import main
from specc.data.patterns import RandomPatterns, RandomPatternsParams
from specc.errors import SpecError
from specc.train.api import train
from specc.train.hebbian import distinct_rows, store

SPEC_PATH = Path(__file__).resolve().parents[2] / "specs" / "hopfield.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())


def spec_with(*, data: dict | None = None, **train_fields) -> dict:
    spec = copy.deepcopy(SPEC)
    spec["train"].update(train_fields)
    spec["train"]["data"].update(data or {})
    return spec


def onnx_recall(run: Path, tmp: Path, x: np.ndarray) -> np.ndarray:
    """The exported network's output for ``x`` in onnxruntime."""
    import onnxruntime as ort

    result = specc.export(run, tmp / "h.onnx")
    assert result.parity is not None and result.parity.ok
    session = ort.InferenceSession(str(tmp / "h.onnx"), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def all_probes(spec: dict) -> tuple[np.ndarray, np.ndarray]:
    data = {k: v for k, v in spec["train"]["data"].items() if k not in ("dataset", "split")}
    data["units"] = spec["params"]["units"]
    raw = RandomPatterns.load(RandomPatternsParams(**data))
    return raw.arrays["x"], raw.arrays["y"]


def test_bar_recall_overlap_and_every_probe_recalled_identically_in_onnxruntime(tmp_path) -> None:
    run = train(SPEC, out=tmp_path / "run", quiet=True)
    held_out = run.evaluate("test")
    assert held_out["recall_overlap"] >= 0.99  # measured 0.9989 (train 0.9974)
    assert held_out["loss"] == pytest.approx((1 - held_out["recall_overlap"]) / 2)
    row = run.metrics[-1]
    assert row["patterns"] == 20 and row["load"] == 0.1 and row["weight_scale"] == 1
    x, y = all_probes(SPEC)
    torch_out = run.predict(x)
    torch_out = np.asarray(next(iter(torch_out.values())) if isinstance(torch_out, dict)
                           else torch_out)
    assert (torch_out * y).mean() >= 0.99
    np.testing.assert_array_equal(onnx_recall(tmp_path / "run", tmp_path, x), torch_out)


def test_hebbian_weights_are_the_integer_sum_of_outer_products_of_the_patterns(tmp_path) -> None:
    spec = spec_with(data={"patterns": 5, "probes": 4}, batch_size=3)
    train(spec, out=tmp_path / "run", quiet=True)
    w = load_file(tmp_path / "run/checkpoints/last.safetensors")["memory.weight"].numpy()
    _, y = all_probes(spec)
    clean = y[:5].astype(np.float64)  # 20 probes of 5 patterns: each in the training split
    want = clean.T @ clean
    np.fill_diagonal(want, 0)
    np.testing.assert_array_equal(w, want)


def test_storkey_is_the_elementwise_rule() -> None:
    x = np.sign(np.random.default_rng(1).standard_normal((6, 25)))
    n, w = x.shape[1], np.zeros((25, 25))
    for p in x:  # Storkey (1997): h_ij = sum over k != i, j of w_ik p_k
        h = np.array([[sum(w[i, k] * p[k] for k in range(n) if k not in (i, j))
                       for j in range(n)] for i in range(n)])
        w = w + (np.outer(p, p) - p[:, None] * h.T - h * p[None, :]) / n
        np.fill_diagonal(w, 0)
    np.testing.assert_allclose(store(torch.tensor(x), "storkey").numpy(), w, atol=1e-12)


def test_distinct_rows_keep_the_order_of_first_appearance() -> None:
    rows = torch.tensor([[1.0, -1], [-1, -1], [1, -1], [1, 1], [-1, -1]])
    assert distinct_rows(rows).tolist() == [[1, -1], [-1, -1], [1, 1]]


@pytest.mark.parametrize("rule", ["storkey", "pseudo_inverse"])
def test_storkey_and_pseudo_inverse_beat_hebbian_above_its_capacity_with_exact_parity(
        rule: str, tmp_path: Path) -> None:
    """P/N = 0.2: Hebbian recall overlap ~0.8; the other rules recall (nearly) every probe.
    Their weights are scaled by a power of two and rounded: integers, so onnxruntime recalls
    every probe exactly as torch does."""
    data = {"patterns": 40, "probes": 8}
    hebbian = train(spec_with(data=data), out=tmp_path / "hebbian", quiet=True).evaluate("test")
    run = train(spec_with(data=data, rule=rule), out=tmp_path / rule, quiet=True)
    figures = run.evaluate("test")
    assert hebbian["recall_overlap"] < 0.9 < 0.99 <= figures["recall_overlap"]
    scale = run.metrics[-1]["weight_scale"]
    assert scale > 1 and scale == pytest.approx(2 ** round(np.log2(scale)), rel=1e-5)
    w = load_file(tmp_path / rule / "checkpoints/last.safetensors")["memory.weight"]
    assert torch.equal(w, w.round()) and torch.equal(w, w.T) and float(w.abs().sum(1).max()) \
        <= 2 ** 23
    x, _ = all_probes(spec_with(data=data))
    want = run.predict(x)
    want = np.asarray(next(iter(want.values())) if isinstance(want, dict) else want)
    np.testing.assert_array_equal(onnx_recall(tmp_path / rule, tmp_path, x), want)


def test_sample_draws_probes_and_their_recall(tmp_path) -> None:
    train(spec_with(data={"probes": 4}), out=tmp_path / "run", quiet=True)
    out = tmp_path / "recall.png"
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "run"), "-o", str(out), "-n", "4"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(main, ["sample", str(tmp_path / "run"), "-o", str(out),
                                    "--what", "filters"])
    assert bad.exit_code == 2 and "'hopfield' draws no 'filters'" in bad.output


# -- refusals ---------------------------------------------------------------------------------


def _cli_train(spec: dict, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = CliRunner().invoke(main, ["train", str(path), "--out", str(tmp_path / "run")])
    return result.exit_code, result.output


def test_a_dataset_that_is_not_plus_minus_one_is_a_located_error(tmp_path) -> None:
    spec = spec_with()
    spec["params"]["units"] = 4
    spec["train"]["data"] = {"dataset": "iris"}
    spec["train"]["target"] = "input"
    code, out = _cli_train(spec, tmp_path)
    assert code == 2, out
    assert "spec.yaml:" in out and "train.data.dataset: a 'hopfield' network stores and " \
        "recalls +-1 patterns; the targets of output 'memory' of the training split hold " \
        "other values (received" in " ".join(out.split())
    assert "Traceback" not in out


def test_class_labels_as_patterns_are_a_located_error(tmp_path) -> None:
    spec = spec_with()
    spec["params"]["units"] = 4
    spec["train"]["data"] = {"dataset": "iris"}
    code, out = _cli_train(spec, tmp_path)
    assert code == 2, out
    assert "spec.yaml:" in out and "train.data.dataset: a 'hopfield' network stores +-1 " \
        "patterns of its 4 units, but the targets of shape () do not fit output 'memory' of " \
        "shape (4,)" in " ".join(out.split()) and "train.target: input" in out


def test_probes_that_preprocessing_moved_off_plus_minus_one_are_refused(tmp_path) -> None:
    with pytest.raises(SpecError, match=r"the inputs 'x' of the training split hold other "
                       r"values \(received"):
        train(spec_with(data={"scale": "minmax", "probes": 2}), out=tmp_path / "r", quiet=True)


@pytest.mark.parametrize(("change", "match"), [
    ({"node": "nowhere"}, r"train.node: train.node must name a 'hopfield' node; 'nowhere' does "
     r"not exist \(received 'nowhere'\)"),
    ({"rule": "oja"}, r"train.rule: must be one of hebbian, storkey, pseudo_inverse \(received 'oja'\)"),
])
def test_train_section_refusals(change: dict, match: str, tmp_path) -> None:
    with pytest.raises(SpecError, match=match):
        train(spec_with(**change), out=tmp_path / "r", quiet=True)


def test_a_network_without_a_hopfield_node_or_with_trainable_weights_is_refused(tmp_path) -> None:
    spec = spec_with()
    spec["layers"] = [{"dense": {"units": 200, "activation": "tanh"}}]
    with pytest.raises(SpecError, match=r"regime 'hebbian' stores patterns in a 'hopfield' "
                       r"node; the network has no such node"):
        train(spec, out=tmp_path / "a", quiet=True)
    spec["layers"].append({"hopfield": {"units": 200}})
    with pytest.raises(SpecError, match=r"node 'dense_1' has trainable weights, but regime "
                       r"'hebbian' only stores the hopfield weights"):
        train(spec, out=tmp_path / "b", quiet=True)


def test_a_run_killed_mid_pass_resumes_to_the_same_weights(tmp_path, monkeypatch) -> None:
    from specc.runs.checkpoint import CheckpointStore
    from specc.train.hebbian import Hebbian

    spec = spec_with(data={"probes": 4}, rule="storkey", batch_size=16,
                     checkpoint={"every_steps": 1})  # 64 training probes: 4 batches
    straight = train(spec, out=tmp_path / "straight", quiet=True)
    real, calls = Hebbian.accumulate, []

    def crashing(self, batch) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real(self, batch)

    monkeypatch.setattr(Hebbian, "accumulate", crashing)
    with pytest.raises(KeyboardInterrupt):
        train(spec, out=tmp_path / "killed", quiet=True)
    monkeypatch.setattr(Hebbian, "accumulate", real)
    _, state = CheckpointStore(tmp_path / "killed/checkpoints").load("last")
    assert state["epoch"] == 0 and state["step_in_epoch"] == 2
    assert 0 < len(state["regime"]["sums"]["patterns"]) <= 20  # distinct in 2 batches of 16
    resumed = train(resume=tmp_path / "killed", quiet=True)
    w1, w2 = (load_file(d / "checkpoints/last.safetensors")["memory.weight"]
              for d in (tmp_path / "straight", tmp_path / "killed"))
    assert torch.equal(w1, w2)
    assert resumed.logs["recall_overlap"] == straight.logs["recall_overlap"]
