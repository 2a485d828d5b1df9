"""The public API stays callable: no submodule shadows a public name, and the README's Python
examples run twice in one process."""

from __future__ import annotations

import importlib
import pkgutil
import re
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import specc

ROOT = Path(__file__).resolve().parent.parent
CALLABLE_PACKAGES = {"train"}  # specc.train is a package whose module object is callable


def _all_submodules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(specc.__path__, "specc."):
        if ".plugin_scaffold" in info.name:
            continue
        names.append(info.name)
    return names


def test_no_submodule_shadows_a_public_name():
    for name in _all_submodules():
        importlib.import_module(name)
    for public in specc.__all__:
        value = getattr(specc, public)
        if public in CALLABLE_PACKAGES:
            assert callable(value), public
        else:
            assert not isinstance(value, types.ModuleType), \
                f"specc.{public} is the module {value.__name__}, not the public function"
    top = {n.split(".")[1] for n in _all_submodules()}
    assert not (set(specc.__all__) & top) - CALLABLE_PACKAGES


def test_public_functions_work_twice():
    doc = {"specc": 1, "name": "tiny", "inputs": {"x": [4]},
           "layers": [{"dense": {"units": 3, "activation": "softmax"}}]}
    spec = specc.load(doc)
    first = specc.summary(spec)
    assert specc.summary(spec) == first and "Total params: 15" in first
    assert specc.load(doc).hash == spec.hash
    assert specc.build(spec) is not None and specc.build(spec) is not None


def _readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", text, re.S)]


def test_readme_has_python_examples():
    blocks = _readme_python_blocks()
    assert len(blocks) >= 2 and all("import specc" in b for b in blocks)


@pytest.mark.slow
def test_readme_python_examples_run_twice_in_one_process(tmp_path):
    # the README's paths are relative to a checkout: give the examples the files they read
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    shutil.copytree(ROOT / "examples" / "data", tmp_path / "examples" / "data")
    blocks = _readme_python_blocks()
    # the ONNX section reads the dcn.onnx that its shell lines above wrote
    setup = "import specc\nspecc.export('specs/dcn.yaml', 'dcn.onnx')\n"
    script = setup + "for _round in range(2):\n" + "".join(
        f"    exec(compile({b!r}, 'README block {i}', 'exec'), {{}})\n"
        for i, b in enumerate(blocks))
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count('Model: "dcn"') == 2
    assert out.stdout.count("['7']") >= 2  # the trained dcn reads the digit as a 7, twice
