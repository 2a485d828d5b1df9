"""``requires:`` and plugin parameters: clear errors with file:line."""

from __future__ import annotations

import pytest

from specc.assembled import load
from specc.errors import SpecError

from .conftest import toy_kind


def _errors(path) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load(path)
    return [i.text() for i in exc.value.issues]


SPEC = """\
specc: 1
requires: [{req}]
inputs: {{x: [3]}}
layers:
  - toy_scale: {{factor: {factor}}}
"""


@pytest.fixture
def toy(site, registry):
    site.module("toy_layers", toy_kind("toy_scale"))
    site.dist("toy-layers", "0.2.1", layers={"toy_scale": "toy_layers:ToyScale"})
    registry()


def test_requirement_met(toy, spec_file):
    for req in ("toy-layers", "toy-layers>=0.2", "toy_layers>=0.2.1", "Toy-Layers~=0.2",
                "toy-layers==0.2.1"):
        spec = load(spec_file(SPEC.format(req=req, factor=2)))
        assert spec.graph.nodes["toy_scale_1"].kind == "toy_scale"


def test_missing_required_plugin(toy, spec_file):
    path = spec_file(SPEC.format(req="specc-nonexistent>=0.1", factor=2))
    with pytest.raises(SpecError) as exc:
        load(path)
    (issue,) = exc.value.issues
    assert issue.text() == (f"{path}:2:12: requires[0]: this spec needs plugin "
                            "'specc-nonexistent', which is not installed")
    assert issue.hint == "pip install 'specc-nonexistent>=0.1'"


def test_required_version_too_old(toy, spec_file):
    path = spec_file(SPEC.format(req="toy-layers>=0.3", factor=2))
    (text,) = _errors(path)
    assert text == f"{path}:2:12: requires[0]: this spec needs toy-layers>=0.3 but 0.2.1 is " \
                   "installed"


def test_malformed_requirement(toy, spec_file):
    path = spec_file(SPEC.format(req="'toy-layers >= '", factor=2))
    (text,) = _errors(path)
    assert text == f"{path}:2:12: requires[0]: a requirement is NAME or NAME>=VERSION " \
                   "(received 'toy-layers >= ')"


def test_required_plugin_installed_but_broken(site, registry, spec_file):
    site.module("toy_layers", "import nonexistent_dependency_xyz\n")
    site.dist("toy-layers", "0.2.1", layers={"toy_scale": "toy_layers:ToyScale"})
    registry()
    path = spec_file(SPEC.format(req="toy-layers>=0.2", factor=2))
    (text,) = _errors(path)
    assert text == (f"{path}:2:12: requires[0]: this spec needs plugin 'toy-layers', which is "
                    "installed but failed to load: cannot import toy_layers:ToyScale: "
                    "ModuleNotFoundError: No module named 'nonexistent_dependency_xyz'")


def test_plugin_params_reject_a_value_with_position(toy, spec_file):
    path = spec_file(SPEC.format(req="toy-layers", factor=-1) + "  - toy_scale: {factr: 2}\n")
    with pytest.raises(SpecError) as exc:
        load(path)
    assert [i.text() for i in exc.value.issues] == [
        f"{path}:5:17: layers[0].toy_scale.factor: must be > 0.0 (received -1)",
        f"{path}:6:5: layers[1].toy_scale.factor: missing required field",
        f"{path}:6:17: layers[1].toy_scale.factr: unknown field 'factr'"]
    assert exc.value.issues[2].hint == "did you mean 'factor'?"
