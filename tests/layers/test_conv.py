"""conv1d / conv2d and their transposes: Keras sizes, padding placement, counts, errors."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError
from torch.nn import functional as F

from specc.errors import SpecError
from specc.layers.conv import Conv1D, Conv2D
from specc.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose

from ._util import run, types


def test_seed_cnn_param_counts() -> None:
    # The Keras CNN of the course notes: Conv2D(16, (2, 2)) on RGB has 3*2*2*16 + 16 = 208.
    run(Conv2D, {"filters": 16, "kernel": 2}, types((3, 32, 32)))  # count == torch
    p = Conv2D.Params(filters=16, kernel=2)
    assert Conv2D.count_params(p, types((3, 32, 32))) == (208, 0)
    assert Conv2D.count_params(p, types((1, 8, 8))) == (80, 0)
    p32 = Conv2D.Params(filters=32, kernel=2)
    assert Conv2D.count_params(p32, types((16, 3, 3))) == (2080, 0)


@pytest.mark.parametrize(("size", "kernel", "stride", "padding", "expected"), [
    (7, 3, 2, "same", 4),   # Keras: ceil(7 / 2)
    (8, 3, 2, "same", 4),
    (28, 4, 2, "same", 14),
    (5, 2, 1, "same", 5),
    (7, 3, 2, "valid", 3),  # floor((7 - 3) / 2) + 1
    (8, 2, 1, "valid", 7),
    (6, 3, 1, 1, 6),
    (6, 3, 2, 1, 3),
])
def test_conv2d_output_sizes_match_keras(size: int, kernel: int, stride: int,
                                         padding: str | int, expected: int) -> None:
    params = {"filters": 2, "kernel": kernel, "stride": stride, "padding": padding}
    out, _, _ = run(Conv2D, params, types((3, size, size)))
    assert out.shape == (2, expected, expected)
    assert out.feature_axis == 0


def test_same_padding_puts_the_extra_zero_after_like_tensorflow() -> None:
    # 6x6, kernel 3, stride 2: TensorFlow pads 0 before and 1 after on each spatial axis.
    p = Conv2D.Params(filters=2, kernel=3, stride=2, padding="same")
    x = torch.randn(3, 1, 6, 6)
    m = Conv2D.build(p, types((1, 6, 6)))
    expected = F.conv2d(F.pad(x, (0, 1, 0, 1)), m.weight, m.bias, stride=2)
    torch.testing.assert_close(m(x), expected)
    assert expected.shape[-2:] == (3, 3)


def test_symmetric_same_padding_uses_the_conv_padding() -> None:
    m = Conv2D.build(Conv2D.Params(filters=2, kernel=3, padding="same"), types((1, 5, 5)))
    assert m.padding == (1, 1) and not m.extra_pad
    assert list(m.state_dict()) == ["weight", "bias"]


def test_conv1d_dynamic_length_and_rectangular_kernel() -> None:
    out, _, y = run(Conv1D, {"filters": 4, "kernel": 3}, types((2, None)))
    assert out.shape == (4, None) and y.shape == (3, 4, 3)
    out, _, _ = run(Conv1D, {"filters": 4, "kernel": 3, "padding": "same"}, types((2, None)))
    assert out.shape == (4, None)
    out, _, _ = run(Conv2D, {"filters": 1, "kernel": [3, 1], "stride": [1, 2]}, types((1, 5, 6)))
    assert out.shape == (1, 3, 3)


def test_groups_and_dilation_counts() -> None:
    params = {"filters": 6, "kernel": 3, "groups": 3, "dilation": 2}
    out, _, _ = run(Conv2D, params, types((3, 9, 9)))
    assert out.shape == (6, 5, 5)
    assert Conv2D.count_params(Conv2D.Params(**params), types((3, 9, 9))) == (1 * 9 * 6 + 6, 0)


def test_initialisers_follow_keras() -> None:
    m = Conv2D.build(Conv2D.Params(filters=8, kernel=3), types((4, 6, 6)))
    assert torch.all(m.bias == 0)
    bound = (6 / (4 * 9 + 8 * 9)) ** 0.5  # glorot_uniform limit
    assert m.weight.abs().max() <= bound
    m = Conv2D.build(Conv2D.Params(filters=2, kernel=1, kernel_initializer="ones"),
                     types((1, 3, 3)))
    assert torch.all(m.weight == 1)


def test_kernel_larger_than_input_is_a_shape_error() -> None:
    with pytest.raises(SpecError, match=r"at least 5x5 to fit kernel 5x5 .*\(received shape "
                       r"\(1, 3, 3\)\)"):
        Conv2D.infer(Conv2D.Params(filters=2, kernel=5), types((1, 3, 3)))
    with pytest.raises(SpecError, match=r"at least 3 to fit kernel 5 with padding 1"):
        Conv1D.infer(Conv1D.Params(filters=2, kernel=5, padding=1), types((1, 2)))
    with pytest.raises(SpecError, match=r"dilated to 5x5"):
        Conv2D.infer(Conv2D.Params(filters=2, kernel=3, dilation=2), types((1, 4, 4)))
    # 'same' pads as much as needed, as in Keras
    assert Conv2D.infer(Conv2D.Params(filters=2, kernel=5, padding="same"),
                        types((1, 3, 3))).shape == (2, 3, 3)


def test_groups_must_divide_channels_and_filters() -> None:
    with pytest.raises(SpecError, match=r"channels divisible by groups=2 \(received shape "
                       r"\(3, 8, 8\)\)"):
        Conv2D.infer(Conv2D.Params(filters=4, kernel=3, groups=2), types((3, 8, 8)))
    with pytest.raises(SpecError, match=r"filters divisible by groups=2 \(received filters=5\)"):
        Conv2D.infer(Conv2D.Params(filters=5, kernel=3, groups=2), types((4, 8, 8)))


def test_conv_input_errors() -> None:
    with pytest.raises(SpecError, match=r"rank 3 \(channels, height, width\).*received shape "
                       r"\(64,\)"):
        Conv2D.infer(Conv2D.Params(filters=2, kernel=3), types((64,)))
    with pytest.raises(SpecError, match="floating-point"):
        Conv1D.infer(Conv1D.Params(filters=2, kernel=3), types((2, 9), dtype="int64"))
    with pytest.raises(SpecError, match="known spatial sizes for padding 'same' with stride"):
        Conv1D.infer(Conv1D.Params(filters=2, kernel=3, stride=2, padding="same"),
                     types((2, None)))


def test_conv_params_validation() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        Conv2D.Params(filters=0, kernel=3)
    with pytest.raises(ValidationError, match="'valid', 'same' or a non-negative integer"):
        Conv2D.Params(filters=2, kernel=3, padding="full")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Conv2D.Params(filters=2, kernel=3, strides=2)
    assert Conv2D.Params(filters=2, kernel=[3, 2]).kernel == (3, 2)
    assert Conv2D.Params(filters=2, kernel=3).kernel == (3, 3)


# -- transposed convolution -------------------------------------------------------------------


@pytest.mark.parametrize(("size", "kernel", "stride", "padding", "output_padding", "expected"), [
    (7, 4, 2, "same", None, 14),   # DCGAN generator step
    (7, 3, 2, "same", None, 14),
    (4, 2, 3, "same", None, 12),
    (5, 3, 2, "valid", None, 11),  # (5 - 1) * 2 + 3
    (5, 2, 3, "valid", None, 15),  # Keras: 5 * 3 + max(2 - 3, 0)
    (4, 3, 2, "same", 1, 8),       # (4 - 1) * 2 + 3 - 2 * 1 + 1
    (4, 3, 2, "valid", 1, 10),
    (3, 5, 1, "same", None, 3),
])
def test_conv_transpose_output_sizes_match_keras(size: int, kernel: int, stride: int,
                                                 padding: str, output_padding: int | None,
                                                 expected: int) -> None:
    params = {"filters": 2, "kernel": kernel, "stride": stride, "padding": padding,
              "output_padding": output_padding}
    out, _, _ = run(Conv2DTranspose, params, types((3, size, size)))
    assert out.shape == (2, expected, expected)
    out, _, _ = run(Conv1DTranspose, params, types((3, size)))
    assert out.shape == (2, expected)


@pytest.mark.parametrize(("kernel", "stride", "padding", "output_padding"), [
    (4, 2, "same", None), (3, 2, "same", None), (5, 2, "same", None), (2, 3, "same", None),
    (3, 2, "same", 1), (3, 2, "valid", None), (2, 3, "valid", None), (3, 2, "valid", 1),
])
def test_conv_transpose_is_the_adjoint_of_the_keras_conv(kernel: int, stride: int, padding: str,
                                                         output_padding: int | None) -> None:
    # TensorFlow defines Conv2DTranspose as the gradient of Conv2D with the same padding, so
    # <conv(x), y> == <conv_transpose(y), x> with one weight: this pins the crop placement.
    n = 4
    tp = Conv2DTranspose.Params(filters=2, kernel=kernel, stride=stride, padding=padding,
                                output_padding=output_padding, use_bias=False)
    big = Conv2DTranspose.infer(tp, types((3, n, n))).shape[1]
    cp = Conv2D.Params(filters=3, kernel=kernel, stride=stride, padding=padding, use_bias=False)
    assert Conv2D.infer(cp, types((2, big, big))).shape == (3, n, n)
    conv, convt = Conv2D.build(cp, types((2, big, big))), Conv2DTranspose.build(tp, types((3, n, n)))
    convt.weight.data.copy_(conv.weight.data)
    x, y = torch.randn(2, 2, big, big), torch.randn(2, 3, n, n)
    lhs = (conv(x) * y).sum()
    rhs = (convt(y) * x).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-4, atol=1e-4)


def test_conv_transpose_counts_and_errors() -> None:
    p = Conv2DTranspose.Params(filters=16, kernel=4, stride=2, padding="same")
    assert Conv2DTranspose.count_params(p, types((32, 7, 7))) == (32 * 16 * 16 + 16, 0)
    with pytest.raises(ValidationError, match="output_padding must be smaller than stride"):
        Conv2DTranspose.Params(filters=2, kernel=3, stride=2, output_padding=2)
    with pytest.raises(ValidationError, match="'valid' or 'same'"):
        Conv1DTranspose.Params(filters=2, kernel=3, padding=1)
    with pytest.raises(SpecError, match=r"rank 2 \(channels, length\)"):
        Conv1DTranspose.infer(Conv1DTranspose.Params(filters=2, kernel=3), types((3, 4, 4)))
