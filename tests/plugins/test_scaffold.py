"""``specc plugin new``: the written package installs and passes its own tests as written."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from click.testing import CliRunner

from specc.cli import main


def _new(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["plugin", "new", *args])
    return result.exit_code, result.output


def test_writes_a_package(tmp_path: Path):
    dest = tmp_path / "my-layers"
    code, out = _new("my-layers", "--dir", str(dest))
    assert code == 0, out
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == ["README.md", "my_layers/__init__.py", "my_layers/gated_dense.py",
                     "pyproject.toml", "tests/test_gated_dense.py"]
    pyproject = (dest / "pyproject.toml").read_text()
    assert 'name = "my-layers"' in pyproject
    assert '[project.entry-points."specc.layers"]\ngated_dense = ' \
           '"my_layers.gated_dense:GatedDense"' in pyproject
    assert "pip install -e" in out


def test_layer_option_and_bad_names(tmp_path: Path):
    code, _ = _new("specc-extra", "--dir", str(tmp_path / "a"), "--layer", "swish_gate")
    assert code == 0
    assert (tmp_path / "a" / "specc_extra" / "swish_gate.py").read_text().count("SwishGate") >= 3
    code, out = _new("my layers!", "--dir", str(tmp_path / "b"))
    assert code == 2 and "a plugin name is a distribution name" in out
    assert "(received 'my layers!')" in out
    code, out = _new("ok-name", "--dir", str(tmp_path / "c"), "--layer", "BadName")
    assert code == 2 and "a layer kind name is snake_case (received 'BadName')" in out
    code, out = _new("again", "--dir", str(tmp_path / "a"))
    assert code == 2 and "exists and is not empty" in out


def test_generated_package_installs_and_passes_its_tests(tmp_path: Path):
    """pip install -e into a throwaway venv layered on this one, then run its pytest."""
    dest = tmp_path / "my-layers"
    assert _new("my-layers", "--dir", str(dest))[0] == 0
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # The new venv sees this one's packages (specc, torch, pytest, pip) but installs into itself.
    parent = sysconfig.get_paths()["purelib"]
    Path(purelib, "_specc_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPECC_PLUGINS")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), *args], cwd=dest, env=env, capture_output=True,
                              text=True, timeout=300)

    installed = run("-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", ".")
    assert installed.returncode == 0, installed.stderr
    tests = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout
    listed = run("-c", "from specc.cli import main; main()", "plugins", "--json")
    assert '"name": "my-layers"' in listed.stdout and '"gated_dense"' in listed.stdout


def test_guide_shows_the_scaffold_layer(tmp_path: Path):
    """docs/plugins.md quotes the example layer verbatim, with its line count."""
    guide = Path(__file__).parents[2] / "docs" / "plugins.md"
    if not guide.exists():
        return
    _new("my-layers", "--dir", str(tmp_path / "p"))
    layer = (tmp_path / "p" / "my_layers" / "gated_dense.py").read_text()
    text = guide.read_text()
    assert f"```python\n{layer}```" in text
    lines = layer.splitlines()
    nonblank = sum(1 for line in lines if line.strip())
    assert f"That is {len(lines)} lines ({nonblank} without blank lines)" in text
