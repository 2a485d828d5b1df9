"""Checks applied to every registered layer kind: docs, examples, shapes and counts."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from specc.registry import current
from specc.testing import check_docstring
from specc.types import TensorType

from ._util import run

LAYERS = current().layers
KINDS = LAYERS.items()
EXAMPLES = [pytest.param(kind, ex, id=f"{name}:{ex.layer}")
            for name, kind in KINDS for ex in kind.examples]
DOC_EXAMPLE = re.compile(r"``- (.+?)``")


def _parse(item: str) -> tuple[str, dict[str, Any]]:
    """A ``layers:`` item (``name`` or ``name: {params}``) -> (name, params)."""
    raw = yaml.safe_load(item)
    if isinstance(raw, str):
        return raw, {}
    (name, params), = raw.items()
    return name, params or {}


def test_registry_loads_cleanly() -> None:
    assert all(info.ok for info in current().plugins.values()), current().plugins
    for name in ("conv2d", "max_pool2d", "lstm", "bidirectional", "gaussian_sample", "concat"):
        assert name in LAYERS
    assert LAYERS.canonical("MaxPooling2D") == "max_pool2d"
    assert LAYERS.canonical("Concatenate") == "concat"


@pytest.mark.parametrize(("name", "kind"), KINDS, ids=[n for n, _ in KINDS])
def test_docstring_and_examples(name: str, kind: Any) -> None:
    doc = kind.__doc__ or ""
    assert kind.summary(), f"{name} has no summary line"
    assert "Example" in doc and "Input shape" in doc and "Output shape" in doc
    items = DOC_EXAMPLE.findall(doc)
    assert items, f"{name}: no ``- item`` example in the docstring"
    for item in items:
        key, params = _parse(item)
        assert LAYERS.get(key) is kind
        kind.Params.model_validate({k: v for k, v in params.items() if k not in ("in", "name")})
    assert kind.examples, f"{name} has no examples for the layer harness"


@pytest.mark.parametrize(("name", "kind"), KINDS, ids=[n for n, _ in KINDS])
def test_summary_is_one_sentence_and_docstring_example_loads(name: str, kind: Any) -> None:
    # `specc layers` shows the first docstring line: it must not stop mid-sentence; the
    # Example line (with `in:` names for multi-input kinds) must load as a real spec
    check_docstring(kind)
    summary = kind.summary()
    assert summary.endswith(".") and (summary[0].isupper() or summary[0].isdigit()), summary


def test_check_docstring_refuses_a_summary_cut_mid_sentence() -> None:
    class Cut(LAYERS.get("dropout")):  # type: ignore[misc, valid-type]
        """Zeroes each input with probability ``rate`` in training and scales the rest by
        ``1 / (1 - rate)``; identity at inference.

        Example:
            ``- dropout: {rate: 0.5}``
        """

    with pytest.raises(AssertionError, match="one complete sentence"):
        check_docstring(Cut)


@pytest.mark.parametrize(("kind", "example"), EXAMPLES)
def test_examples_shape_and_count(kind: Any, example: Any) -> None:
    key, params = _parse(example.layer)
    assert LAYERS.get(key) is kind
    inputs = [TensorType(tuple(s), example.dtype) for s in example.inputs]
    out, _, _ = run(kind, params, inputs)
    assert out.shape == tuple(example.output)


def test_loading_the_registry_does_not_import_torch() -> None:
    code = ("import sys; from specc.registry import current; r = current().layers; "
            "[k.Params.model_json_schema() for _, k in r.items()]; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
