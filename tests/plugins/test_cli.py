"""``specc plugins``, ``--plugin`` and plugin kinds in ``specc layers`` and ``specc schema``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import toy_kind


@pytest.fixture
def plugins(site):
    """One good plugin, one broken (two entry points in one failing module)."""
    site.module("good_layers", toy_kind("good_scale"))
    site.dist("good-layers", "1.2.0", layers={"good_scale": "good_layers:GoodScale"})
    site.module("broken_layers", "import nonexistent_dependency_xyz\n")
    site.dist("broken-layers", "0.0.1", layers={"broken_one": "broken_layers:One",
                                                "broken_two": "broken_layers:Two"})
    return site


def test_specc_plugins_table(plugins, cli):
    result = cli("plugins")
    assert result.exit_code == 0, result.output
    out = result.output
    rows = {line.split()[0]: line.rstrip() for line in out.splitlines()
            if line.strip() and not line.startswith(" ")}
    assert rows["specc"].split()[1] == __import__("specc").__version__
    assert "layers: " in out and "dense" in out and rows["specc"].endswith("ok")
    assert rows["good-layers"].split()[1:3] == ["1.2.0", "layers:"]
    assert "good_scale" in rows["good-layers"] and rows["good-layers"].endswith("ok")
    assert "layers (not loaded): broken_one, broken_two" in rows["broken-layers"]
    assert rows["broken-layers"].endswith("broken")
    reason = ("broken-layers: cannot import broken_layers:One: ModuleNotFoundError: No module "
              "named 'nonexistent_dependency_xyz'")
    assert out.count(reason) == 1 and out.count("nonexistent_dependency_xyz") == 1
    assert out.index("specc") < out.index("broken-layers") < out.index("good-layers")


def test_specc_plugins_json(plugins, cli):
    result = cli("plugins", "--json")
    assert result.exit_code == 0
    table = {p["name"]: p for p in json.loads(result.output)}
    assert table["good-layers"] == {"name": "good-layers", "version": "1.2.0", "status": "ok",
                                    "provides": {"layers": ["good_scale"]}, "not_loaded": {},
                                    "errors": []}
    assert table["broken-layers"]["status"] == "broken"
    assert table["broken-layers"]["not_loaded"] == {"layers": ["broken_one", "broken_two"]}
    assert table["specc"]["status"] == "ok"


def test_partly_loaded_plugin(site, cli):
    site.module("half_layers", toy_kind("dense"))
    site.module("half_layers2", toy_kind("half_scale"))
    site.dist("half-layers", layers={"dense": "half_layers:Dense",
                                     "half_scale": "half_layers2:HalfScale"})
    result = cli("plugins")
    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines() if line.startswith("half-layers "))
    assert row.rstrip().endswith("partly loaded")
    assert "half-layers: duplicate layer name 'dense'" in result.output


def test_plugin_option_missing_module(cli):
    result = cli("layers", "--plugin", "no_such_plugin_module")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "plugin module 'no_such_plugin_module' was not found "
        "(received 'no_such_plugin_module')",
        "  hint: --plugin and SPECC_PLUGINS take an importable module name"]


def test_plugin_option_module_with_missing_dependency(site, cli):
    site.module("needs_dep", "import nonexistent_dependency_xyz\n")
    result = cli("plugins", "--plugin", "needs_dep")
    assert result.exit_code == 2
    assert "plugin module 'needs_dep' failed to import: No module named " \
           "'nonexistent_dependency_xyz'" in result.output


def test_plugin_option_registers_kinds(site, cli, spec_file):
    site.module("my_local_layers", "from specc import register_layer\n" + toy_kind("local_scale")
                + "\nregister_layer(LocalScale)\n")
    path = spec_file("specc: 1\ninputs: {x: [3]}\nlayers:\n  - local_scale: {factor: 2}\n")
    assert cli("validate", str(path)).exit_code == 2  # not installed: unknown
    result = cli("validate", "--plugin", "my_local_layers", str(path))
    assert result.exit_code == 0, result.output
    result = cli("plugins", "--plugin", "my_local_layers")
    assert "my_local_layers" in result.output and "local_scale" in result.output


def test_layers_list_and_describe_plugin_kind(plugins, cli):
    result = cli("layers", "good_*")
    assert result.exit_code == 0
    assert "good_scale" in result.output and "good-layers" in result.output
    result = cli("layers", "describe", "good_scale")
    assert result.exit_code == 0
    assert "good_scale" in result.output
    assert "factor: float (required; > 0)" in result.output
    assert "Multiply the input by this." in result.output
    result = cli("layers", "describe", "broken_one")
    assert result.exit_code == 2
    assert "layer 'broken_one' comes from plugin 'broken-layers', which failed to load" \
        in result.output


def test_schema_includes_plugin_kind(plugins, cli):
    result = cli("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    defs = schema["$defs"]
    node = defs["Node_good_scale"]
    assert node["properties"]["op"]["enum"] == ["good_scale"]
    assert node["properties"]["factor"] == {
        "description": "Multiply the input by this.", "title": "Factor",
        "anyOf": [{"exclusiveMinimum": 0, "type": "number"}, {"$ref": "#/$defs/ParamRef"}]}
    assert node["additionalProperties"] is False
    assert "Layer_good_scale" in defs
    assert not any("broken" in name for name in defs)


def test_end_to_end_in_a_fresh_process(plugins, spec_file):
    """The real entry point, in a subprocess that sees the fake distributions."""
    good = spec_file("specc: 1\ninputs: {x: [3]}\nlayers:\n  - good_scale: {factor: 2}\n",
                     "good.yaml")
    bad = spec_file("specc: 1\ninputs: {x: [3]}\nlayers:\n  - broken_one\n", "bad.yaml")
    env = {**os.environ, "PYTHONPATH": str(plugins.root), "COLUMNS": "200"}
    env.pop("SPECC_PLUGINS", None)

    def specc(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from specc.cli import main; main()", *args],
                              env=env,
                              capture_output=True, text=True, timeout=60)

    result = specc("plugins")
    assert result.returncode == 0, result.stderr
    assert "good-layers" in result.stdout and "broken" in result.stdout
    result = specc("validate", str(good))
    assert result.returncode == 0, result.stderr
    assert f"ok {good}" in result.stdout
    result = specc("validate", str(bad))
    assert result.returncode == 2
    assert f"{bad}:4:5: layers[0]: layer 'broken_one' comes from plugin 'broken-layers', " \
           "which failed to load" in result.stderr
    assert Path(bad).exists()


def test_plugin_option_module_that_raises_or_conflicts(site, cli):
    site.module("raising_mod", "raise RuntimeError('bad config')\n")
    site.module("conflict_mod", "from specc import register_layer\n" + toy_kind("dense")
                + "\nregister_layer(Dense)\n")
    result = cli("layers", "--plugin", "raising_mod")
    assert result.exit_code == 2
    assert "plugin module 'raising_mod' failed to import: RuntimeError: bad config" \
        in result.output
    result = cli("layers", "--plugin", "conflict_mod")
    assert result.exit_code == 2
    assert "plugin module 'conflict_mod': duplicate layer name 'dense': registered by " \
           "specc.layers.dense (specc) and again by conflict_mod" in result.output
