"""The transformer_classifier spec: validates, builds, exports, and (slow) trains to >= 95%."""

from __future__ import annotations

from pathlib import Path

import pytest
import specc

SPEC = Path(__file__).parents[1] / "specs" / "transformer_classifier.yaml"


def test_validates_with_requirement_met():
    spec = specc.load(SPEC)
    assert spec.top.requires == ["specc-attention>=0.1"]
    assert spec.param_counts == (68_810, 0)
    kinds = [node.kind for node in spec.graph.nodes.values()]
    assert kinds[:3] == ["dense", "positional_encoding", "transformer_encoder"]
    assert str(spec.graph.type_of(spec.graph.outputs[0])) == "(None, 10)"


def test_requirement_too_new_is_a_clear_error():
    with pytest.raises(specc.SpecError) as exc:
        specc.load(SPEC, ["requires=[specc-attention>=9.0]"])
    assert "this spec needs specc-attention>=9.0 but 0.1.0 is installed" in str(exc.value)


def test_exports_with_dynamic_batch(tmp_path):
    result = specc.export(SPEC, tmp_path / "model.onnx")
    assert result.parity is not None and result.parity.ok
    assert {c.batch for c in result.parity.cases} >= {1, 7, 64}


@pytest.mark.slow
def test_trains_to_95_percent(tmp_path):
    from specc.train.api import train

    run = train(SPEC, out=tmp_path / "run", device="cpu", quiet=True)
    result = run.evaluate("test")
    assert result["split"] == "test" and result["n"] == 360
    assert result["accuracy"] >= 0.95, result
