"""CLI: exit codes, machine-readable errors, summaries, listing, schema; validate never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from specc.cli import main

GOOD = "specc: 1\nname: mlp\ninputs: {x: [8]}\nlayers:\n  - dense: {units: 4, activation: softmax}\n"
BAD = "specc: 1\ninputs: {x: [8]}\nlayers:\n  - dense: {units: -1}\n"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_validate_ok_and_error_exit_codes(spec_file):
    good, bad = spec_file(GOOD, "good.yaml"), spec_file(BAD, "bad.yaml")
    r = run("validate", str(good))
    assert r.exit_code == 0 and "ok" in r.output and "36 parameters" in r.output
    r = run("validate", str(good), str(bad))
    assert r.exit_code == 2
    assert "bad.yaml:4:13: layers[0].dense.units: must be > 0 (received -1)" in r.output
    assert "Traceback" not in r.output


def test_validate_json(spec_file):
    r = run("validate", "--json", str(spec_file(BAD)))
    assert r.exit_code == 2
    data = json.loads(r.stdout)
    (err,) = data[0]["errors"]
    assert err["line"] == 4 and err["path"] == "layers[0].dense.units" and err["received"] == "-1"


def test_build_summary_and_weights(spec_file, tmp_path):
    out = tmp_path / "init.safetensors"
    r = run("build", str(spec_file(GOOD)), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "Total params: 36" in r.output and "dense + softmax" in r.output
    from safetensors.torch import load_file

    assert set(load_file(str(out))) == {"dense_1.weight", "dense_1.bias"}


def test_build_set_override(spec_file):
    r = run("build", str(spec_file(GOOD)), "--set", "layers.0.dense.units=2")
    assert r.exit_code == 0 and "Total params: 18" in r.output


def test_list_show_layers_schema():
    r = run("list")
    assert r.exit_code == 0 and "dcn" in r.output and "deep-convolutional-network" in r.output
    r = run("show", "dcn")
    assert r.exit_code == 0 and "conv2d" in r.output
    r = run("show", "dcm")
    assert r.exit_code == 2 and "did you mean 'dcn'" in r.output
    r = run("layers", "conv*")
    assert r.exit_code == 0 and "conv2d" in r.output and "dense" not in r.output
    r = run("layers", "describe", "Dense")
    assert r.exit_code == 0 and "units: int (required" in r.output
    r = run("layers", "describe", "dense2")
    assert r.exit_code == 2 and "unknown layer 'dense2'" in r.output
    r = run("schema")
    schema = json.loads(r.output)
    assert r.exit_code == 0 and "Node_conv2d" in schema["$defs"]


def test_unknown_plugin_module_exit_2(spec_file):
    r = run("validate", "--plugin", "no_such_plugin_module", str(spec_file(GOOD)))
    assert r.exit_code == 2 and "plugin module 'no_such_plugin_module' was not found" in r.output


def test_validate_does_not_import_torch(spec_file):
    path = spec_file(GOOD)
    code = ("import sys; from specc.cli import main\n"
            f"try:\n    main(['validate', {str(path)!r}])\nexcept SystemExit as e:\n    assert e.code in (0, None)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\nprint('clean')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "clean" in out.stdout, out.stderr
