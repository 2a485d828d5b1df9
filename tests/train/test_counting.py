"""The ``counting`` regime: exact counts on a tiny text, exact resume mid-accumulation, the
vocabulary check, generation and export of a chain run, and the ``markov_chain`` spec's bar."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import specc
from specc.errors import SpecError
from specc.text_generation import generate
from specc.train.api import train
from specc.train.counting import Counting
from specc.train.session import Interrupted

ROOT = Path(__file__).resolve().parents[2]
TEXT = "the cat sat on the mat; the rat ate the hat.\n" * 4 + "a bat and a cat.\n"

SPEC = """\
specc: 1
name: tiny_chain
inputs:
  chars: {shape: [2], dtype: int64}
layers:
  - markov_chain: {order: 3, vocab: VOCAB, alpha: 0.5}
train:
  regime: counting
  data:
    dataset: text_file
    path: TEXT_PATH
    held_out: 0.25
    window: {size: 2, stride: 1, target: next}
  batch_size: 16
  checkpoint: {monitor: val_bits_per_char}   # the regime's own metric picks `best`
"""


def spec_file(tmp_path: Path, text: str = TEXT, vocab: int | None = None) -> Path:
    (tmp_path / "text.txt").write_text(text)
    body = SPEC.replace("TEXT_PATH", str(tmp_path / "text.txt"))
    body = body.replace("VOCAB", str(vocab if vocab is not None else len(set(text))))
    path = tmp_path / "chain.yaml"
    path.write_text(body)
    return path


def cross_entropy(ids: list[int], table: dict[tuple[int, ...], Counter[int]], vocab: int,
                  alpha: float) -> float:
    """Mean -log2 P(next | two before) of ``ids`` with add-alpha counts of ``table``."""
    bits = 0.0
    for i in range(len(ids) - 2):
        seen = table.get((ids[i], ids[i + 1]), Counter())
        p = (seen[ids[i + 2]] + alpha) / (sum(seen.values()) + alpha * vocab)
        bits -= math.log2(p)
    return bits / (len(ids) - 2)


def test_counts_are_exact_on_a_tiny_text(tmp_path: Path) -> None:
    run = train(spec_file(tmp_path), out=tmp_path / "run", quiet=True)
    vocab = sorted(set(TEXT))
    ids = [vocab.index(c) for c in TEXT]
    cut = len(ids) - round(len(ids) * 0.25)
    train_ids, val_ids = ids[:cut], ids[cut:]
    table: dict[tuple[int, ...], Counter[int]] = {}
    for i in range(len(train_ids) - 2):
        table.setdefault(tuple(train_ids[i:i + 2]), Counter())[train_ids[i + 2]] += 1
    state = run.model.state_dict()
    (contexts,) = [v for k, v in state.items() if k.endswith("contexts")]
    (probs,) = [v for k, v in state.items() if k.endswith("probs")]
    v = len(vocab)
    assert contexts.tolist() == sorted(a * v + b for a, b in table)
    for row, (a, b) in enumerate(sorted(table)):
        seen = table[(a, b)]
        want = [(seen[n] + 0.5) / (sum(seen.values()) + 0.5 * v) for n in range(v)]
        assert probs[row].tolist() == pytest.approx(want, rel=1e-6)
    assert probs[-1].tolist() == pytest.approx([1 / v] * v)
    row = run.metrics[-1]
    assert row["epoch"] == 1 and row["contexts"] == len(table)
    assert row["bits_per_char"] == pytest.approx(cross_entropy(train_ids, table, v, 0.5),
                                                 rel=1e-5)  # rows keep 6 digits
    assert row["val_bits_per_char"] == pytest.approx(cross_entropy(val_ids, table, v, 0.5),
                                                     rel=1e-5)
    assert row["val_loss"] == pytest.approx(row["val_bits_per_char"] * math.log(2), rel=1e-5)


@pytest.mark.parametrize("merge_every", [20, 1 << 18])  # merges between batches, or none
def test_resume_mid_accumulation_gives_the_same_chain(tmp_path: Path, merge_every: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import specc.train.counting

    monkeypatch.setattr(specc.train.counting, "MERGE_EVERY", merge_every)
    path = spec_file(tmp_path)
    whole = train(path, out=tmp_path / "whole", quiet=True)
    calls = {"n": 0}
    accumulate = Counting.accumulate

    def stop_after_two(self: Any, batch: Any) -> None:
        accumulate(self, batch)
        calls["n"] += 1
        if calls["n"] == 2:
            self.session.stop_requested = True

    monkeypatch.setattr(Counting, "accumulate", stop_after_two)
    with pytest.raises(Interrupted):
        train(path, out=tmp_path / "cut", quiet=True)
    monkeypatch.setattr(Counting, "accumulate", accumulate)
    resumed = train(resume=tmp_path / "cut", quiet=True)
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert resumed.metrics[-1]["val_bits_per_char"] == whole.metrics[-1]["val_bits_per_char"]


@pytest.mark.parametrize("vocab", [40, 10])
def test_vocabulary_that_does_not_match_the_data_is_located(tmp_path: Path, vocab: int) -> None:
    path = spec_file(tmp_path, vocab=vocab)
    with pytest.raises(SpecError) as e:
        train(path, out=tmp_path / "run", quiet=True)
    issue = e.value.issues[0]
    assert "does not match the data: the text has 16 distinct characters" in issue.message
    assert issue.line == next(n for n, s in enumerate(path.read_text().splitlines(), 1)
                              if "markov_chain" in s)
    assert issue.path == ("layers", 0, "markov_chain", "vocab")
    assert issue.hint == "set vocab: 16" and f"received {vocab}" in issue.text()

    from click.testing import CliRunner

    from specc.cli import main

    result = CliRunner().invoke(main, ["train", str(path), "--out", str(tmp_path / "cli"), "-q"])
    assert result.exit_code == 2, result.output
    assert "does not match the data" in result.output


def test_metrics_of_the_chain(tmp_path: Path) -> None:
    doc = yaml.safe_load(spec_file(tmp_path).read_text())
    doc["train"]["metrics"] = ["accuracy"]
    run = train(doc, out=tmp_path / "run", quiet=True)
    assert 0 < run.metrics[-1]["val_accuracy"] <= 1
    doc["train"]["metrics"] = ["accuracy", "mse"]
    with pytest.raises(SpecError) as e:
        train(doc, out=tmp_path / "bad", quiet=True)
    assert e.value.issues[0].path == ("train", "metrics", 1)


def test_a_layer_before_the_chain_is_refused(tmp_path: Path) -> None:
    path = spec_file(tmp_path)
    doc = yaml.safe_load(path.read_text())
    doc["layers"].insert(0, {"reshape": {"shape": [2]}})
    with pytest.raises(SpecError, match="one markov_chain layer that reads the input"):
        train(doc, out=tmp_path / "run", quiet=True)


def test_generate_samples_from_a_chain_run(tmp_path: Path) -> None:
    text = "abcd" * 50
    run = train(spec_file(tmp_path, text), out=tmp_path / "run", quiet=True)
    assert generate(run.dir, length=8, prompt="ab", temperature=0) == "cdabcdab"
    sample = generate(run.dir, length=40, seed=3)  # an empty prompt starts after newlines
    assert len(sample) == 40 and set(sample) <= set(text)
    assert sample == generate(run.dir, length=40, seed=3)

    from click.testing import CliRunner

    from specc.cli import main

    result = CliRunner().invoke(main, ["generate", str(run.dir), "--prompt", "bc", "--length",
                                       "6", "--temperature", "0"])
    assert result.exit_code == 0, result.output
    assert "dabcda" in result.output


def test_chain_run_exports_with_parity(tmp_path: Path) -> None:
    run = train(spec_file(tmp_path), out=tmp_path / "run", quiet=True)
    result = specc.export(run.dir, tmp_path / "chain.onnx")
    assert result.parity is not None and result.parity.ok, result.parity.failures
    import numpy as np
    import onnxruntime as ort

    ids = np.random.default_rng(0).integers(0, 16, size=(500, 2))
    session = ort.InferenceSession(str(tmp_path / "chain.onnx"),
                                   providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"chars": ids})
    with torch.no_grad():
        want = run.model(torch.from_numpy(ids))
    assert np.array_equal(got, want.numpy())


@pytest.mark.slow
def test_markov_chain_bar_generate_and_export(tmp_path: Path) -> None:
    run = train(ROOT / "specs" / "markov_chain.yaml", out=tmp_path / "run", quiet=True)
    row = run.metrics[-1]
    assert abs(row["val_bits_per_char"] - 2.50) <= 0.05, row
    assert len(generate(run.dir, length=100, seed=0)) == 100
    result = specc.export(run.dir, tmp_path / "chain.onnx")
    assert result.parity is not None and result.parity.ok, result.parity.failures
