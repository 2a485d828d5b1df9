"""The attention kinds through specc's layer harness, plus their shape-rule and parameter
errors."""

from __future__ import annotations

import pytest
import specc
from specc.registry import current
from specc.testing import check_kind

from specc_attention.attention import MultiHeadAttention
from specc_attention.encoder import TransformerEncoder
from specc_attention.positional import PositionalEncoding

KINDS = (MultiHeadAttention, PositionalEncoding, TransformerEncoder)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_registered_through_entry_points(kind):
    assert current().layers.get(kind.name) is kind
    assert current().layers.provider(kind.name) == "specc-attention"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_harness(kind):
    """Every example: shape rule vs torch, parameter count, round-trip, ONNX parity at batches
    1, 7, 64 and sequence lengths 1, 5, 50 (dynamic batch and sequence axes)."""
    for result in check_kind(kind):
        assert result.onnx_max_diff is not None and result.onnx_max_diff < 1e-4


def _errors(layer: dict, shape: list | None = None) -> list[str]:
    spec = {"specc": 1, "inputs": {"x": shape or [None, 8]}, "layers": [layer]}
    with pytest.raises(specc.SpecError) as exc:
        specc.load(spec)
    return [i.text() for i in exc.value.issues]


def test_heads_must_divide_features():
    (text,) = _errors({"multi_head_attention": {"num_heads": 3}})
    assert text == ("<dict>: layers[0].multi_head_attention: multi_head_attention_1 "
                    "(multi_head_attention): needs features divisible by num_heads=3 when "
                    "key_dim is not set (received shape (?, 8) from x)")
    specc.load({"specc": 1, "inputs": {"x": [None, 8]},
                "layers": [{"multi_head_attention": {"num_heads": 3, "key_dim": 4}}]})


def test_needs_a_sequence():
    (text,) = _errors({"transformer_encoder": {"num_heads": 2}}, [8])
    assert "expects input of rank 2 (time, features) per sample (received shape (8,) from x)" \
        in text


def test_params_rejected():
    texts = _errors({"transformer_encoder": {"num_heads": 0, "norm": "middle", "dropout": 1.0}})
    assert texts[0].startswith("<dict>: layers[0].transformer_encoder.num_heads: must be > 0")
    assert "norm: must be one of pre, post (received 'middle')" in texts[1]
    assert "dropout: must be < 1.0 (received 1.0)" in texts[2]


def test_learned_positions_need_max_len_and_fit():
    (text,) = _errors({"positional_encoding": {"mode": "learned"}})
    assert "mode 'learned' needs max_len (the longest sequence)" in text
    (text,) = _errors({"positional_encoding": {"mode": "learned", "max_len": 4}}, [6, 8])
    assert "sequence is longer than max_len=4 (received shape (6, 8) from x)" in text


def test_causal_attention_ignores_the_future():
    import torch

    spec = specc.load({"specc": 1, "inputs": {"x": [None, 8]}, "layers": [
        {"transformer_encoder": {"num_heads": 2, "causal": True, "num_layers": 2}}]})
    model = specc.build(spec).eval()
    x = torch.randn(2, 6, 8)
    changed = x.clone()
    changed[:, 4:] = torch.randn(2, 2, 8)
    with torch.no_grad():
        a, b = model(x), model(changed)
    assert torch.allclose(a[:, :4], b[:, :4], atol=1e-6)
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_sinusoidal_table_matches_the_paper():
    import math

    import torch

    spec = specc.load({"specc": 1, "inputs": {"x": [None, 6]}, "layers": ["positional_encoding"]})
    model = specc.build(spec).eval()
    with torch.no_grad():
        pe = model(torch.zeros(1, 3, 6))[0]
    for pos in range(3):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
