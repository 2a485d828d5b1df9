"""The forms: section: each mistake is a located SpecError."""

from __future__ import annotations

import pytest

from specc.assembled import load
from specc.errors import SpecError

NET = """\
specc: 1
name: toy
inputs:
  image: [6]
  words: {shape: [null], dtype: int64}
nodes:
  code: {op: dense, in: image, units: 8, activation: tanh}
  emb: {op: embedding, in: words, input_dim: 12, output_dim: 8}
  rep: {op: repeat_over_time, in: [code, emb]}
  joined: {op: concat, in: [rep, emb]}
  rnn: {op: lstm, in: joined, units: 16, return_sequences: true}
  probs: {op: dense, in: rnn, units: 12, activation: softmax}
outputs: [probs]
forms:
"""


def _error(spec_file, forms: str) -> str:
    with pytest.raises(SpecError) as err:
        load(spec_file(NET + forms))
    return str(err.value)


def test_declared_forms_load(spec_file) -> None:
    spec = load(spec_file(NET + """\
  step: {step: {}}
  decode: {greedy_decode: {input: words, start: 10, end: 11, max_length: 4}}
  encoder: {cut: {outputs: [code]}}
  decoder: {cut: {inputs: [code, words]}}
"""))
    assert {n: f.kind for n, f in spec.forms.items()} == {
        "step": "step", "decode": "greedy_decode", "encoder": "cut", "decoder": "cut"}
    assert spec.resolved["forms"]["encoder"] == {"cut": {"outputs": ["code"]}}


def test_unknown_form_kind(spec_file) -> None:
    text = _error(spec_file, "  s: {stepp: {}}\n")
    assert "spec.yaml:15:" in text
    assert "forms.s.stepp: unknown form kind 'stepp'" in text
    assert "did you mean 'step'?" in text


def test_cut_naming_an_unknown_node(spec_file) -> None:
    text = _error(spec_file, "  enc: {cut: {outputs: [cod]}}\n")
    assert "spec.yaml:15:" in text
    assert "forms.enc.cut.outputs[0]: no node or input 'cod' in network 'toy'" in text
    assert "did you mean 'code'?" in text


def test_decode_input_not_an_integer_sequence(spec_file) -> None:
    text = _error(spec_file, "  d: {greedy_decode: {input: image, start: 1, max_length: 3}}\n")
    assert ("forms.d.greedy_decode.input: the decoded input must be an integer sequence of "
            "token ids (shape [length]) (received float32 of shape [6])") in text


def test_decode_max_length_zero(spec_file) -> None:
    text = _error(spec_file, "  d: {greedy_decode: {input: words, start: 1, max_length: 0}}\n")
    assert "forms.d.greedy_decode.max_length:" in text
    assert "must be > 0 (received 0)" in text


def test_decode_start_outside_the_vocabulary(spec_file) -> None:
    text = _error(spec_file, "  d: {greedy_decode: {input: words, start: 12, max_length: 2}}\n")
    assert "forms.d.greedy_decode.start: the start token must be below the output's 12 " \
           "tokens (received 12)" in text


@pytest.mark.parametrize(("inputs", "nodes", "message"), [
    ("x: [null, 3]", "swap: {op: permute, in: x, dims: [1, 0]}\n"
     "  mix: {op: conv1d, in: swap, filters: 4, kernel: 3, padding: same}\n"
     "  back: {op: permute, in: mix, dims: [1, 0]}\n"
     "  rnn: {op: gru, in: back, units: 5, return_sequences: true}",
     "layer 'back' (kind 'permute') mixes time steps"),
    ("x: [3, null]", "mix: {op: conv1d, in: x, filters: 4, kernel: 3, padding: same}\n"
     "  back: {op: permute, in: mix, dims: [1, 0]}\n"
     "  rnn: {op: gru, in: back, units: 5, return_sequences: true}",
     "layer 'back' (kind 'permute') mixes time steps"),
    ("x: [null, 3]", "rnn: {op: bidirectional, in: x, layer: {lstm: {units: 4, "
     "return_sequences: true}}}\n  out: {op: gru, in: rnn, units: 5, return_sequences: true}",
     "layer 'rnn' (kind 'bidirectional') mixes time steps")])
def test_step_refuses_layers_mixing_time_steps(spec_file, inputs: str, nodes: str,
                                               message: str) -> None:
    with pytest.raises(SpecError) as err:
        load(spec_file(f"specc: 1\ninputs: {{{inputs}}}\nnodes:\n  {nodes}\n"
                       "forms:\n  step: {step: {}}\n"))
    assert "forms.step.step: " + message in str(err.value)


def test_step_needs_a_stateful_layer(spec_file) -> None:
    text = NET.replace("op: lstm, in: joined, units: 16, return_sequences: true",
                       "op: dense, in: joined, units: 16")
    with pytest.raises(SpecError) as err:
        load(spec_file(text + "  step: {step: {}}\n"))
    text = str(err.value)
    assert "has no stateful (recurrent) layer" in text


def test_free_run_output_must_fit_the_input(spec_file) -> None:
    with pytest.raises(SpecError) as err:
        load(spec_file("""\
specc: 1
inputs: {x: [null, 2]}
nodes:
  res: {op: reservoir, in: x, units: 10, density: 0.5}
  out: {op: dense, in: res, units: 3}
outputs: [out]
forms:
  gen: {free_run: {horizon: 5, warmup: 4}}
"""))
    assert "forms.gen.free_run.output: output 'out' cannot be fed back into input 'x'" in \
        str(err.value)
