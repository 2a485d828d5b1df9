"""``repeat_over_time``: values, the shape rule, ONNX parity, and its shape errors."""

from __future__ import annotations

import pytest
import torch

from specc.errors import SpecError
from specc.layers.repeat import RepeatOverTime
from specc.testing import check_kind

from ._util import run, types


def test_repeats_the_vector_at_every_step_of_the_second_input() -> None:
    vec = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    seq = torch.zeros(2, 5, 7)
    out, _, y = run(RepeatOverTime, None, types((2,), (None, 7)), xs=[vec, seq])
    assert out.shape == (None, 2)
    assert y.shape == (2, 5, 2)
    assert torch.equal(y[1], torch.tensor([[3.0, 4.0]] * 5))


def test_token_ids_set_the_steps_too() -> None:
    out = RepeatOverTime.infer(RepeatOverTime.Params(),
                               [*types((128,)), *types((4,), dtype="int64")])
    assert out.shape == (4, 128) and out.dtype == "float32"


def test_examples_match_torch_and_export_with_onnx_parity() -> None:
    results = check_kind(RepeatOverTime)
    assert results and all(r.onnx_max_diff is not None and r.onnx_max_diff < 1e-6
                           for r in results)


@pytest.mark.parametrize(("shapes", "message"), [
    (((3, 4), (5, 2)), r"expects a vector \(F,\) per sample as its first input \(received "
                       r"shapes \(3, 4\), \(5, 2\)"),
    (((3,), ()), r"expects a sequence \(T, \.\.\.\) per sample as its second input"),
])
def test_shape_errors(shapes: tuple[tuple[int, ...], ...], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        RepeatOverTime.infer(RepeatOverTime.Params(), types(*shapes))


def test_a_spec_with_a_non_vector_code_is_a_located_error(tmp_path) -> None:
    import specc

    spec = tmp_path / "bad.yaml"
    spec.write_text("specc: 1\nname: bad\ninputs:\n  image: [4, 3]\n"
                    "  words: {shape: [null], dtype: int64}\nnodes:\n"
                    "  e: {op: embedding, in: words, input_dim: 5, output_dim: 2}\n"
                    "  r: {op: repeat_over_time, in: [image, e]}\noutputs: [r]\n")
    with pytest.raises(SpecError) as err:
        specc.load(str(spec)).graph()
    text = str(err.value)
    assert "bad.yaml:8" in text and "nodes.r" in text and "repeat_over_time" in text
