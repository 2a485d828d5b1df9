"""Fixtures: the specs of onnx_cases.py, exported once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from onnx_cases import SPECS


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """exported(name) -> (ExportResult, Spec), exporting each spec once per session."""
    import specc
    from specc.backends.onnx import export

    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            spec = specc.load(SPECS[name])
            out = tmp_path_factory.mktemp(name) / "model.onnx"
            cache[name] = (export(spec, out), spec)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def mlp_model(exported) -> Path:
    return exported("mlp")[0].path
