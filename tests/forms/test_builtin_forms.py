"""Every form a built-in spec declares exports to ONNX and passes the parity check."""

from __future__ import annotations

from pathlib import Path

import pytest

import specc
from specc.spec.builtin import builtin_names, builtin_path


def declared() -> list[tuple[str, str]]:
    """(spec, form) pairs, read without building every built-in network."""
    import yaml

    out = []
    for name in builtin_names():
        path = builtin_path(name)
        text = path.read_text() if path is not None else ""
        if "\nforms:" in text:
            out += [(name, form) for form in yaml.safe_load(text)["forms"]]
    return out


def test_the_retrofitted_specs_declare_their_forms() -> None:
    pairs = declared()
    assert ("char_rnn", "step") in pairs and ("echo_state_network", "generate") in pairs


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "form"), declared())
def test_builtin_form_exports_with_parity(tmp_path: Path, spec: str, form: str) -> None:
    result = specc.export(spec, tmp_path / f"{form}.onnx", form=form)
    assert result.parity.ok, result.parity.failures
