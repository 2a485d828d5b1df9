"""Pooling: max / average / min / sum values, Keras 'same' semantics, global pools, errors."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from specc.errors import SpecError
from specc.layers import pooling

from ._util import run, types

GRID = torch.arange(16.0).reshape(1, 1, 4, 4)


@pytest.mark.parametrize(("kind", "expected"), [
    (pooling.MaxPool2D, [[5.0, 7.0], [13.0, 15.0]]),
    (pooling.MinPool2D, [[0.0, 2.0], [8.0, 10.0]]),
    (pooling.SumPool2D, [[10.0, 18.0], [42.0, 50.0]]),
    (pooling.AvgPool2D, [[2.5, 4.5], [10.5, 12.5]]),
])
def test_2x2_pooling_values(kind: type, expected: list[list[float]]) -> None:
    out, _, y = run(kind, {"size": 2}, types((1, 4, 4)), xs=[GRID])
    assert out.shape == (1, 2, 2) and out.feature_axis == 0
    assert y[0, 0].tolist() == expected


@pytest.mark.parametrize(("kind", "x", "expected"), [
    # length 5, size 2, stride 2, 'same': TensorFlow pads 0 before and 1 after; the padded
    # position never wins (max, min) and is not counted (average).
    (pooling.MaxPool1D, [-1.0, -2.0, -3.0, -4.0, -5.0], [-1.0, -3.0, -5.0]),
    (pooling.MinPool1D, [1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 3.0, 5.0]),
    (pooling.AvgPool1D, [1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 3.5, 5.0]),
    (pooling.SumPool1D, [1.0, 2.0, 3.0, 4.0, 5.0], [3.0, 7.0, 5.0]),
])
def test_same_padding_is_ignored_by_the_pool(kind: type, x: list[float],
                                             expected: list[float]) -> None:
    out, _, y = run(kind, {"size": 2, "padding": "same"}, types((1, 5)),
                    xs=[torch.tensor([[x]])])
    assert out.shape == (1, 3)
    assert y[0, 0].tolist() == expected


def test_avg_same_2d_excludes_padding_in_both_axes() -> None:
    x = torch.ones(1, 1, 3, 3)
    _, _, y = run(pooling.AvgPool2D, {"size": 2, "padding": "same"}, types((1, 3, 3)), xs=[x])
    assert y.shape == (1, 1, 2, 2)
    torch.testing.assert_close(y, torch.ones(1, 1, 2, 2))


@pytest.mark.parametrize(("size", "stride", "padding", "n", "expected"), [
    (3, 2, "same", 7, 4), (2, None, "valid", 7, 3), (2, None, "same", 7, 4),
    (3, 1, "valid", 5, 3), (2, 2, "valid", 28, 14),
])
def test_pool_output_sizes_match_keras(size: int, stride: int | None, padding: str, n: int,
                                       expected: int) -> None:
    params = {"size": size, "stride": stride, "padding": padding}
    out, _, _ = run(pooling.MaxPool2D, params, types((2, n, n)))
    assert out.shape == (2, expected, expected)


def test_stride_defaults_to_size_and_accepts_pairs() -> None:
    out, _, _ = run(pooling.MaxPool2D, {"size": [2, 3]}, types((1, 6, 9)))
    assert out.shape == (1, 3, 3)
    out, _, _ = run(pooling.SumPool1D, {"size": 3, "stride": 1}, types((1, 5)))
    assert out.shape == (1, 3)


def test_global_pools() -> None:
    x = torch.arange(24.0).reshape(1, 2, 3, 4)
    out, _, y = run(pooling.GlobalMaxPool2D, None, types((2, 3, 4)), xs=[x])
    assert out.shape == (2,) and out.feature_axis == -1
    assert y.tolist() == [[11.0, 23.0]]
    _, _, y = run(pooling.GlobalAvgPool2D, None, types((2, 3, 4)), xs=[x])
    assert y.tolist() == [[5.5, 17.5]]
    out, _, y = run(pooling.GlobalAvgPool1D, {"keepdims": True}, types((2, None)))
    assert out.shape == (2, 1) and y.shape == (3, 2, 1)


def test_pool_errors() -> None:
    with pytest.raises(SpecError, match=r"at least 3x3 to fit pool size 3x3 with padding "
                       r"'valid' \(received shape \(1, 2, 2\)\)"):
        pooling.MaxPool2D.infer(pooling.MaxPool2D.Params(size=3), types((1, 2, 2)))
    with pytest.raises(SpecError, match=r"rank 2 \(channels, length\)"):
        pooling.AvgPool1D.infer(pooling.AvgPool1D.Params(), types((4,)))
    with pytest.raises(SpecError, match=r"rank 3 \(channels, height, width\)"):
        pooling.GlobalMaxPool2D.infer(pooling.GlobalMaxPool2D.Params(), types((4, 5)))
    with pytest.raises(ValidationError, match="'valid' or 'same'"):
        pooling.MaxPool2D.Params(size=2, padding=1)
    with pytest.raises(ValidationError, match="greater than 0"):
        pooling.MinPool2D.Params(size=0)
