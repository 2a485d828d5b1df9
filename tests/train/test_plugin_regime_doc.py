"""docs/plugins.md "Write a regime": the example regime, its entry point and its spec work as
written (validated, refused fields, described, trained, torch-free import)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from specc.assembled import load
from specc.cli import main
from specc.errors import SpecError
from specc.registry import isolated, register_trainer
from specc.runs.folder import read_metrics
from specc.train.api import train

DOC = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text()
SECTION = DOC[DOC.index("### 3.1 Write a regime"):DOC.index("## 4. Datasets")]


def block(lang: str) -> str:
    (code,) = re.findall(rf"```{lang}\n(.*?)```", SECTION, re.S)
    return code


@pytest.fixture
def class_prior(tmp_path, monkeypatch):
    """The doc's module, importable as my_regimes.class_prior, registered in a fresh registry."""
    pkg = tmp_path / "my_regimes"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "class_prior.py").write_text(block("python"))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert 'class_prior = "my_regimes.class_prior:ClassPrior"' in block("toml")
    from my_regimes.class_prior import ClassPrior

    with isolated(discover=True):
        register_trainer(ClassPrior)
        yield ClassPrior
    sys.modules.pop("my_regimes.class_prior", None)
    sys.modules.pop("my_regimes", None)


def test_the_doc_regime_validates_refuses_and_describes(class_prior, spec_file):
    spec = block("yaml")
    cfg = load(spec_file(spec)).train
    assert type(cfg) is class_prior.Config and cfg.alpha == 0.5
    bad = spec_file(spec + "  optimizer: adam\n", "bad.yaml")
    with pytest.raises(SpecError) as err:
        load(bad)
    assert err.value.issues[0].message == "regime 'class_prior' has no field 'optimizer'"
    r = CliRunner().invoke(main, ["regimes", "describe", "class_prior"])
    assert r.exit_code == 0 and "alpha: float (default 1.0)" in r.output


def test_the_doc_regime_trains(class_prior, spec_file, tmp_path):
    run = train(spec_file(block("yaml")), out=tmp_path / "run", quiet=True)
    (row,) = read_metrics(run.dir)
    assert 1.09 < row["prior_entropy"] <= 1.0987  # three nearly equal iris classes: ~log 3
    assert 0.2 <= row["val_accuracy"] <= 0.5  # a prior alone guesses one class
    assert (run.dir / "checkpoints" / "best.safetensors").is_file()
    assert (run.dir / "checkpoints" / "last.safetensors").is_file()


def test_importing_the_doc_regime_does_not_import_torch(tmp_path):
    pkg = tmp_path / "my_regimes"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "class_prior.py").write_text(block("python"))
    code = "import sys, my_regimes.class_prior; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "False"
