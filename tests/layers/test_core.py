"""Reshaping, dropout and noise, normalization, embedding and resampling kinds."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from specc.errors import SpecError
from specc.layers.batch_norm import BatchNorm
from specc.layers.dropout import Dropout
from specc.layers.embedding import Embedding
from specc.layers.flatten import Flatten
from specc.layers.layer_norm import LayerNorm
from specc.layers.noise import GaussianNoise, MaskingNoise
from specc.layers.permute import Permute
from specc.layers.reshape import Reshape
from specc.layers.upsampling import UpSampling2D
from specc.layers.zero_padding import ZeroPadding2D

from ._util import run, types

# -- flatten / reshape / permute ---------------------------------------------------------------


def test_flatten_keeps_channels_first_order() -> None:
    x = torch.arange(24.0).reshape(1, 2, 3, 4)
    out, _, y = run(Flatten, None, types((2, 3, 4), feature_axis=0), xs=[x])
    assert out.shape == (24,) and out.feature_axis == -1
    assert y[0].tolist() == list(range(24))
    assert Flatten.infer(Flatten.Params(), types((32, 5, 5))).shape == (800,)


def test_flatten_needs_known_sizes() -> None:
    with pytest.raises(SpecError, match=r"every axis size known.*received shape \(\?, 8\)"):
        Flatten.infer(Flatten.Params(), types((None, 8)))


def test_reshape_infers_minus_one_and_checks_the_count() -> None:
    out, _, y = run(Reshape, {"shape": [32, -1, 7]}, types((1568,)))
    assert out.shape == (32, 7, 7) and out.feature_axis == 0
    out, _, _ = run(Reshape, {"shape": [4, 6]}, types((2, 3, 4)))
    assert out.shape == (4, 6) and out.feature_axis == -1
    with pytest.raises(SpecError, match=r"input of 30 elements to reshape into \(2, 3, 5\) "
                       r"\(received shape \(24,\)\)"):
        Reshape.infer(Reshape.Params(shape=[2, 3, 5]), types((24,)))
    with pytest.raises(SpecError, match=r"divisible by 5"):
        Reshape.infer(Reshape.Params(shape=[5, -1]), types((24,)))
    with pytest.raises(ValidationError, match="at most one size may be -1"):
        Reshape.Params(shape=[-1, -1])
    with pytest.raises(ValidationError, match="positive, or -1"):
        Reshape.Params(shape=[0, 4])


def test_permute_moves_data_and_feature_axis() -> None:
    x = torch.randn(3, 2, 5)
    out, _, y = run(Permute, {"dims": [1, 0]}, types((2, 5), feature_axis=0), xs=[x])
    assert out.shape == (5, 2) and out.feature_axis == -1
    torch.testing.assert_close(y, x.transpose(1, 2))
    with pytest.raises(SpecError, match=r"dims \[0, 2\] to be a permutation of the input's "
                       r"axes 0..1"):
        Permute.infer(Permute.Params(dims=[0, 2]), types((2, 5)))


# -- dropout and noise ---------------------------------------------------------------------------


def test_dropout_train_and_eval() -> None:
    x = torch.ones(3, 1000)
    _, m, y = run(Dropout, {"rate": 0.5}, types((1000,)), train=True, xs=[x])
    kept = y[y != 0]
    assert 0.4 < kept.numel() / y.numel() < 0.6
    assert torch.all(kept == 2.0)
    m.eval()
    assert torch.equal(m(x), x)
    with pytest.raises(ValidationError, match="less than 1"):
        Dropout.Params(rate=1.0)


def test_gaussian_noise_only_in_training() -> None:
    x = torch.zeros(3, 4000)
    _, m, y = run(GaussianNoise, {"stddev": 0.5}, types((4000,)), train=True, xs=[x])
    assert abs(y.std().item() - 0.5) < 0.03
    m.eval()
    assert torch.equal(m(x), x)


def test_masking_noise_zeroes_without_rescaling() -> None:
    x = torch.full((3, 4000), 2.0)
    _, m, y = run(MaskingNoise, {"rate": 0.25}, types((4000,)), train=True, xs=[x])
    assert abs((y == 0).float().mean().item() - 0.25) < 0.03
    assert set(y.unique().tolist()) == {0.0, 2.0}
    m.eval()
    assert torch.equal(m(x), x)


# -- normalization -------------------------------------------------------------------------------


def test_batch_norm_keras_defaults_and_counts() -> None:
    _, m, _ = run(BatchNorm, None, types((16, 4, 4), feature_axis=0))
    assert m.momentum == pytest.approx(0.01) and m.eps == pytest.approx(1e-3)
    assert BatchNorm.count_params(BatchNorm.Params(), types((16, 4, 4), feature_axis=0)) == \
        (32, 32)
    _, m, _ = run(BatchNorm, {"momentum": 0.9}, types((6,)))
    assert m.momentum == pytest.approx(0.1)


@pytest.mark.parametrize(("shape", "feature_axis", "reduce"), [
    ((6,), -1, (0,)),
    ((4, 9), 0, (0, 2)),        # (C, L): per channel
    ((9, 4), -1, (0, 1)),       # (T, F): per feature, over batch and time
    ((3, 5, 5), 0, (0, 2, 3)),  # (C, H, W): per channel
])
def test_batch_norm_normalises_the_feature_axis(shape: tuple[int, ...], feature_axis: int,
                                                reduce: tuple[int, ...]) -> None:
    x = torch.randn(3, *shape) * 3 + 2
    _, _, y = run(BatchNorm, {"epsilon": 1e-5}, types(shape, feature_axis=feature_axis),
                  train=True, xs=[x])
    torch.testing.assert_close(y.mean(dim=reduce), torch.zeros_like(y.mean(dim=reduce)),
                               atol=1e-5, rtol=0)
    features = shape[feature_axis]
    assert y.mean(dim=reduce).numel() == features


def test_batch_norm_errors() -> None:
    with pytest.raises(SpecError, match="rank 1 to 4"):
        BatchNorm.infer(BatchNorm.Params(), types(()))
    with pytest.raises(SpecError, match="floating-point"):
        BatchNorm.infer(BatchNorm.Params(), types((4,), dtype="int64"))


def test_layer_norm_per_position() -> None:
    x = torch.randn(3, 7, 8) * 4 + 1
    _, _, y = run(LayerNorm, {"epsilon": 1e-6}, types((7, 8)), xs=[x])
    torch.testing.assert_close(y.mean(-1), torch.zeros(3, 7), atol=1e-5, rtol=0)
    x = torch.randn(3, 4, 2, 2) * 4 + 1
    _, m, y = run(LayerNorm, {"epsilon": 1e-6}, types((4, 2, 2), feature_axis=0), xs=[x])
    torch.testing.assert_close(y.mean(1), torch.zeros(3, 2, 2), atol=1e-5, rtol=0)
    assert LayerNorm.count_params(LayerNorm.Params(), types((4, 2, 2), feature_axis=0)) == (8, 0)


# -- embedding -----------------------------------------------------------------------------------


def test_embedding_looks_up_rows() -> None:
    ids = torch.tensor([[0, 3, 3, 9]] * 3)
    out, m, y = run(Embedding, {"input_dim": 10, "output_dim": 4},
                    types((4,), dtype="int64"), xs=[ids])
    assert out.shape == (4, 4) and out.dtype == "float32"
    torch.testing.assert_close(y[0, 1], m.weight[3])
    assert m.weight.abs().max() <= 0.05
    assert Embedding.count_params(Embedding.Params(input_dim=10, output_dim=4),
                                  types((4,), dtype="int64")) == (40, 0)
    assert Embedding.infer(Embedding.Params(input_dim=5, output_dim=2),
                           types((None,), dtype="int64")).shape == (None, 2)


def test_embedding_rejects_float_input_with_a_hint() -> None:
    with pytest.raises(SpecError, match=r"integer token ids \(int64\) \(received shape "
                       r"\(12,\)\)") as err:
        Embedding.infer(Embedding.Params(input_dim=10, output_dim=4), types((12,)))
    assert "dtype: int64" in (err.value.issues[0].hint or "")


# -- resampling ----------------------------------------------------------------------------------


def test_upsampling_nearest_repeats_pixels() -> None:
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    out, _, y = run(UpSampling2D, {"size": [2, 3]}, types((1, 2, 2)), xs=[x])
    assert out.shape == (1, 4, 6)
    assert y[0, 0, 0].tolist() == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    assert y[0, 0, :, 0].tolist() == [1.0, 1.0, 3.0, 3.0]
    _, _, y = run(UpSampling2D, {"interpolation": "bilinear"}, types((1, 2, 2)), xs=[x])
    assert y[0, 0, 0].tolist() == [1.0, 1.25, 1.75, 2.0]  # half-pixel centres, as Keras


def test_zero_padding_sides() -> None:
    out, _, y = run(ZeroPadding2D, {"padding": [[1, 0], [0, 2]]}, types((1, 2, 2)),
                    xs=[torch.ones(1, 1, 2, 2)])
    assert out.shape == (1, 3, 4)
    assert y[0, 0].tolist() == [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]]
    assert ZeroPadding2D.Params().padding == ((1, 1), (1, 1))
    assert ZeroPadding2D.Params(padding=[2, 3]).padding == ((2, 2), (3, 3))
