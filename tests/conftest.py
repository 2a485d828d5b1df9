"""Shared fixtures: write spec text to a temp file and load it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def spec_file(tmp_path: Path):
    """spec_file(text, name='spec.yaml') -> Path of a file holding the dedented text."""

    def write(text: str | bytes, name: str = "spec.yaml") -> Path:
        p = tmp_path / name
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(textwrap.dedent(text).lstrip("\n"))
        return p

    return write
