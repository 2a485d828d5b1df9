"""``specc generate`` and :func:`specc.text_generation.generate` on a briefly trained char_rnn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from specc.cli import main
from specc.errors import SpecError
from specc.text_generation import generate, load_text_model


def vocab(run: Path) -> list[str]:
    return json.loads((run / "data.json").read_text())["vocab"]


def test_the_run_records_the_vocabulary(char_run: Path) -> None:
    chars = vocab(char_run)
    assert chars == sorted(set(chars)) and "e" in chars and "\n" in chars
    tm = load_text_model(char_run)
    assert tm.vocab == chars and tm.context == 100 and tm.per_step


def test_generates_n_characters_of_the_vocabulary(char_run: Path) -> None:
    text = generate(char_run, length=80, prompt="The ", seed=0)
    assert len(text) == 80
    assert set(text) <= set(vocab(char_run))
    assert generate(char_run, length=0, prompt="The ") == ""


def test_a_seed_makes_the_sample_reproducible(char_run: Path) -> None:
    a = generate(char_run, length=60, prompt="def ", seed=7)
    assert generate(char_run, length=60, prompt="def ", seed=7) == a
    others = {generate(char_run, length=60, prompt="def ", seed=s) for s in (8, 9, 10)}
    assert others - {a}, "different seeds should give different samples"


def test_temperature_towards_zero_approaches_greedy(char_run: Path) -> None:
    greedy = generate(char_run, length=60, prompt="The ", temperature=0)
    assert generate(char_run, length=60, prompt="The ", temperature=0, seed=1) == greedy
    for seed in (1, 2, 3):
        assert generate(char_run, length=60, prompt="The ", temperature=1e-3, seed=seed) == greedy

    def agreement(temperature: float) -> float:
        pairs = [(a, b) for s in range(4) for a, b in
                 zip(generate(char_run, length=40, prompt="The ", temperature=temperature,
                              seed=s), greedy, strict=False)]
        return sum(a == b for a, b in pairs) / len(pairs)

    assert agreement(0.05) > agreement(1.5)


def test_unknown_prompt_characters_are_a_spec_error(char_run: Path) -> None:
    with pytest.raises(SpecError, match="not trained on: '€'"):
        generate(char_run, length=5, prompt="price: 5€")
    with pytest.raises(SpecError, match="temperature"):
        generate(char_run, length=5, temperature=-1)


def test_cli_prints_the_prompt_and_n_characters(char_run: Path) -> None:
    runner = CliRunner()
    args = ["generate", str(char_run), "--length", "50", "--prompt", "The ", "--seed", "3",
            "--temperature", "0.8"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert first.output.startswith("The ") and len(first.output) == len("The ") + 50 + 1
    assert runner.invoke(main, args).output == first.output
    assert first.output[4:-1] == generate(char_run, length=50, prompt="The ", seed=3,
                                          temperature=0.8)


def test_cli_refuses_unknown_characters_with_exit_code_2(char_run: Path) -> None:
    result = CliRunner().invoke(main, ["generate", str(char_run), "--prompt", "naïve ☃"])
    assert result.exit_code == 2
    assert "not trained on" in result.output and "'☃'" in result.output


def test_a_run_without_text_is_refused(tmp_path: Path) -> None:
    from specc.train.api import train

    from ._util import spec_path

    run = train(str(spec_path("rnn")), out=tmp_path / "rnn", epochs=0, quiet=True).dir
    with pytest.raises(SpecError, match="no character vocabulary"):
        generate(run, length=5)
