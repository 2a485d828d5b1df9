"""The image_captioning spec: its forms, the exact_sequence metric (the same tokens as
specc.forms.greedy_decode), the exported decoder and encoder, predict's captions, bad input and
(slow) a short run that learns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import specc
from specc.cli import main
from specc.data.digit_strips import DigitStrips, DigitStripsParams
from specc.entries import SplitContext
from specc.errors import SpecError
from specc.forms import greedy_decode
from specc.train.api import load_regime
from specc.train.sequence_metrics import DecodeParams, ExactSequence

TINY = ["train.data.n_train=640", "train.data.n_val=32", "train.epochs=2", "train.batch_size=32"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The captioner trained briefly on few strips (its tokens vary; far from the bar)."""
    out = tmp_path_factory.mktemp("captioning") / "run"
    threads = torch.get_num_threads()  # set up before the autouse one_thread fixture
    torch.set_num_threads(1)
    try:
        return specc.train("image_captioning", out=out, overrides=TINY, quiet=True).dir
    finally:
        torch.set_num_threads(threads)  # later in-process runs keep the session's threads


def _held_out(n: int) -> dict[str, np.ndarray]:
    raw = DigitStrips.load(DigitStripsParams(n_train=1, n_val=n))
    return {k: v[1:] for k, v in raw.arrays.items()}


def test_spec_declares_the_decoder_and_encoder_forms() -> None:
    spec = specc.load("image_captioning")
    decode, encoder = spec.forms["decode"], spec.forms["encoder"]
    assert decode.kind == "greedy_decode" and (decode.cfg.start, decode.cfg.end,
                                               decode.cfg.max_length) == (10, 11, 4)
    assert encoder.kind == "cut" and encoder.cfg.outputs == ["code"]
    assert spec.graph.type_of("repeated").shape == (None, 128)
    assert spec.graph.type_of("probs").shape == (None, 12)


@pytest.mark.parametrize(("override", "message"), [
    ("forms.decode.greedy_decode.input=image",
     r"forms\.decode\.greedy_decode\.input: the decoded input must be an integer sequence of "
     r"token ids \(shape \[length\]\) \(received float32 of shape \[1, 28, 84\]\)"),
    ("forms.decode.greedy_decode.max_length=0",
     r"forms\.decode\.greedy_decode\.max_length: must be > 0 \(received 0\)"),
])
def test_bad_decode_forms_are_located_errors(override: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as err:
        specc.load("image_captioning", overrides=[override])
    assert "image_captioning.yaml:" in str(err.value)


def _context(inputs: dict[str, torch.Tensor], targets: torch.Tensor, predict) -> SplitContext:
    return SplitContext("val", predict, inputs, {"probs": targets})


def test_exact_sequence_counts_whole_sequences_and_tokens() -> None:
    def predict(inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        words = inputs["words"]  # next token: the last one plus 1 (mod 12), as probabilities
        return {"probs": torch.nn.functional.one_hot((words + 1) % 12, 12).float()}

    words = torch.tensor([[10], [10], [3]])
    targets = torch.tensor([[11, 0, 1], [11, 0, 2], [4, 5, 6]])  # right, 2 of 3, right
    ctx = _context({"image": torch.zeros(3, 2), "words": words}, targets, predict)
    logs = ExactSequence.evaluate(DecodeParams(), ctx)
    assert logs == {"exact_sequence": pytest.approx(2 / 3), "token_accuracy": pytest.approx(8 / 9)}


def test_exact_sequence_without_a_token_input_is_a_located_error() -> None:
    from types import SimpleNamespace

    from specc.train.metrics import evaluate_split

    choice = [SimpleNamespace(name="accuracy"), SimpleNamespace(name="exact_sequence",
                                                                params=DecodeParams())]
    ctx = _context({"image": torch.zeros(2, 3)}, torch.zeros(2, 4, dtype=torch.long), None)
    with pytest.raises(SpecError, match=r"train\.metrics\[1\]\.exact_sequence\.input: metric "
                       r"'exact_sequence' decodes a token input; the network's inputs are image"):
        evaluate_split(choice, ctx)
    ctx = _context({"image": torch.zeros(2, 3), "words": torch.zeros(2, 4)},
                   torch.zeros(2, 4, dtype=torch.long), None)
    with pytest.raises(SpecError, match=r"input: metric 'exact_sequence' feeds tokens back into "
                       r"input 'words', which does not take integer token ids"):
        ExactSequence.evaluate(DecodeParams(input="words"), ctx)


def test_metric_tokens_equal_the_greedy_decode_form(tiny_run: Path) -> None:
    from specc.train.sequence_metrics import decoded

    spec, regime, _ = load_regime(tiny_run, checkpoint="last")
    strips = _held_out(50)
    image = torch.from_numpy(strips["x"][:, None] / 255.0).float()
    words = torch.from_numpy(strips["words"])
    ctx = _context({"image": image, "words": words}, torch.from_numpy(strips["y"]),
                   regime.predict)
    tokens, _ = decoded(DecodeParams(), ctx, "exact_sequence")
    form = greedy_decode(regime.models[spec.graph.name], spec.graph, spec.forms["decode"].cfg,
                         {"image": image})
    assert torch.equal(tokens, form)
    assert len(set(form.flatten().tolist())) > 3  # trained a little: not one token everywhere


def test_trained_decoder_and_encoder_export_with_parity(tiny_run: Path, tmp_path: Path) -> None:
    result = specc.export(tiny_run, tmp_path / "decode.onnx", form="decode")
    cases = json.loads(result.parity_path.read_text())["cases"]
    assert [(c["batch"], c["output"], c["max_abs_diff"]) for c in cases] == [
        (1, "tokens", 0), (7, "tokens", 0), (64, "tokens", 0)]
    encoder = specc.export(tiny_run, tmp_path / "encoder.onnx", form="encoder")
    assert encoder.parity.ok


def test_predict_prints_captions_as_words(tiny_run: Path, tmp_path: Path) -> None:
    strips = _held_out(5)
    path = tmp_path / "strips.npy"
    np.save(path, strips["x"])
    r = CliRunner().invoke(main, ["predict", str(tiny_run), "--input", str(path)])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 5 and lines[0].startswith("0: ")
    vocab = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
             "<start>"}
    assert all(set(line.split(": ", 1)[1].split()) <= vocab for line in lines)
    r = CliRunner().invoke(main, ["predict", str(tiny_run), "--input", str(path), "--json"])
    rows = json.loads(r.output)
    spec, regime, _ = load_regime(tiny_run)
    image = torch.from_numpy(strips["x"][:, None] / 255.0).float()
    tokens = greedy_decode(regime.models[spec.graph.name], spec.graph,
                           spec.forms["decode"].cfg, {"image": image})
    assert [row["tokens"] for row in rows] == tokens.tolist()
    one = tmp_path / "one.npy"
    np.save(one, strips["x"][0])  # a single strip, no batch axis
    r = CliRunner().invoke(main, ["predict", str(tiny_run), "--input", str(one)])
    assert r.exit_code == 0 and r.output.strip() == lines[0], r.output


@pytest.mark.slow
def test_captioning_learns(tmp_path: Path) -> None:
    """Six epochs (the cosine schedule shortened to them): most held-out strips are captioned
    exactly. The full run's bar is measured by benchmarks/captioning.py."""
    run = specc.train("image_captioning", out=tmp_path / "run", epochs=6, quiet=True)
    assert run.logs["val_exact_sequence"] >= 0.5, run.logs
    assert run.logs["val_token_accuracy"] >= 0.85, run.logs
