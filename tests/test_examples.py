"""The README's Python example runs end to end (load, build, train, export, run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quickstart_example_runs():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Total params: 118,470" in out.stdout
    assert "def forward(self, image)" in out.stdout
    assert "max |onnx - torch|" in out.stdout and "provider: cpu" in out.stdout
    assert "prediction: ['7']" in out.stdout
