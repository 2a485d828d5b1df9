"""Merge kinds: element-wise values, concat axes, input counts and shape errors."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from specc.errors import SpecError
from specc.layers import merge

from ._util import run, types

A = torch.tensor([[1.0, -2.0, 3.0]])
B = torch.tensor([[4.0, 5.0, -6.0]])
C = torch.tensor([[1.0, 0.0, 0.0]])


@pytest.mark.parametrize(("kind", "xs", "expected"), [
    (merge.Add, [A, B, C], [6.0, 3.0, -3.0]),
    (merge.Subtract, [A, B], [-3.0, -7.0, 9.0]),
    (merge.Multiply, [A, B, C], [4.0, -0.0, -0.0]),
    (merge.Average, [A, B], [2.5, 1.5, -1.5]),
    (merge.Maximum, [A, B, C], [4.0, 5.0, 3.0]),
    (merge.Minimum, [A, B, C], [1.0, -2.0, -6.0]),
])
def test_elementwise_values(kind: type, xs: list[torch.Tensor], expected: list[float]) -> None:
    out, _, y = run(kind, None, types(*[(3,)] * len(xs)), xs=xs)
    assert out.shape == (3,)
    assert y[0].tolist() == expected


def test_input_counts() -> None:
    assert merge.Add.min_inputs == 2 and merge.Add.max_inputs is None
    assert merge.Subtract.max_inputs == 2
    assert merge.Concat.min_inputs == 2 and merge.Concat.max_inputs is None


def test_fused_activation_only_on_add_and_multiply() -> None:
    assert merge.Add.Params(activation="relu").activation == "relu"
    assert merge.Multiply.Params(activation="sigmoid").activation == "sigmoid"
    with pytest.raises(ValidationError, match="Extra inputs"):
        merge.Subtract.Params.model_validate({"activation": "relu"})


def test_elementwise_shape_mismatch_lists_every_input() -> None:
    with pytest.raises(SpecError, match=r"same shape \(received shapes \(16, 8, 8\), "
                       r"\(8, 8, 8\), \(16, 8, 8\)"):
        merge.Add.infer(merge.Add.Params(), types((16, 8, 8), (8, 8, 8), (16, 8, 8)))
    with pytest.raises(SpecError, match=r"\(received shapes \(4,\), \(4, 1\)\)"):
        merge.Multiply.infer(merge.Multiply.Params(), types((4,), (4, 1)))
    with pytest.raises(SpecError, match=r"same dtype \(received float32, int64\)"):
        merge.Add.infer(merge.Add.Params(), [*types((4,)), *types((4,), dtype="int64")])


def test_dynamic_axes_unify() -> None:
    out = merge.Add.infer(merge.Add.Params(), types((None, 4), (7, 4)))
    assert out.shape == (7, 4)


def test_concat_default_axis_is_the_feature_axis() -> None:
    # conv maps join on channels, vectors and sequences on the last axis
    out, _, y = run(merge.Concat, None, types((2, 4, 4), (3, 4, 4), feature_axis=0))
    assert out.shape == (5, 4, 4) and out.feature_axis == 0
    out, _, _ = run(merge.Concat, None, types((6, 3), (6, 5)))
    assert out.shape == (6, 8)
    out, _, _ = run(merge.Concat, {"axis": 0}, types((2, 3), (4, 3)))
    assert out.shape == (6, 3)
    out, _, _ = run(merge.Concat, {"axis": -2}, types((None, 3), (4, 3)))
    assert out.shape == (None, 3)
    _, _, y = run(merge.Concat, None, types((3,), (3,)), xs=[A, B])
    assert y[0].tolist() == [1.0, -2.0, 3.0, 4.0, 5.0, -6.0]


def test_concat_errors() -> None:
    with pytest.raises(SpecError, match=r"agree except on axis 0 \(received shapes "
                       r"\(16, 8, 8\), \(8, 7, 8\)"):
        merge.Concat.infer(merge.Concat.Params(), types((16, 8, 8), (8, 7, 8), feature_axis=0))
    with pytest.raises(SpecError, match="axis 2 is out of range for rank-2 inputs"):
        merge.Concat.infer(merge.Concat.Params(axis=2), types((2, 3), (2, 3)))
