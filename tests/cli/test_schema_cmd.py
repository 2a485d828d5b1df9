"""``specc schema``: the document, ``-o``, and ``--check SPEC`` (located errors, exit codes,
no torch)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from specc.cli import main

pytest.importorskip("jsonschema")

BAD = """\
specc: 1
inputs: {x: [4]}
layers:
  - dense: {unit: 3}
  - dense: {units: 2, activation: relux}
train: {data: irs, loss: mse}
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_schema_is_a_draft7_document():
    r = run("schema")
    assert r.exit_code == 0
    doc = json.loads(r.output)
    assert doc["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert {"Layer_dense", "Node_conv2d", "Train_backprop", "ParamRef"} <= set(doc["$defs"])


def test_check_accepts_a_builtin_name_and_a_file(spec_file):
    path = spec_file("specc: 1\ninputs: {x: [4]}\nlayers:\n  - dense: {units: 3}\n")
    r = run("schema", "--check", "dcn", "--check", str(path))
    assert r.exit_code == 0, r.output
    assert r.output == f"ok dcn: matches the schema\nok {path}: matches the schema\n"


def test_check_reports_every_problem_located_with_exit_2(spec_file):
    path = spec_file(BAD)
    r = run("schema", "--check", str(path))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"{path}:4:5: layers[0].dense: unknown field 'unit' (did you mean 'units'?)" \
        in r.output
    assert f"{path}:5:23: layers[1].dense.activation: unknown value 'relux'" in r.output
    assert f"{path}:6:9: train.data: unknown value 'irs' (did you mean 'iris'?)" in r.output


def test_check_on_a_file_that_is_not_yaml_or_json_is_exit_2(spec_file):
    cases = {
        "x.png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "is not UTF-8 text"),
        "notes.txt": ("just a sentence\n", "not a spec: a spec is a YAML or JSON mapping at "
                                           "the top level (received 'str')"),
        "broken.json": ('{"specc": 1,', ":1:13: invalid JSON: Expecting property name"),
        "broken.yaml": ("layers: [dense\n", "broken.yaml:2:1:"),
    }
    for name, (content, expected) in cases.items():
        path = spec_file(content, name)
        r = run("schema", "--check", str(path))
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
        assert expected in r.output and str(path) in r.output
    r = run("schema", "--check", "no_such_spec.yaml")
    assert r.exit_code == 2 and "spec file 'no_such_spec.yaml' does not exist" in r.output


def test_out_to_an_unwritable_path_is_exit_2(tmp_path):
    for target, expected in [("/proc/specc.schema.json", "cannot write schema file"),
                             (str(tmp_path / "no" / "s.json"), "does not exist"),
                             (str(tmp_path), "is a directory")]:
        r = run("schema", "-o", target)
        assert r.exit_code == 2 and "Traceback" not in r.output, (target, r.output)
        assert expected in r.output


def test_check_does_not_import_torch(spec_file):
    path = spec_file(BAD)
    code = ("import sys\nfrom specc.cli import main\n"
            f"try:\n    main(['schema', '--check', {str(path)!r}])\n"
            "except SystemExit as e:\n    assert e.code == 2, e.code\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "unknown field 'unit'" in res.stderr


def test_check_without_jsonschema_says_what_to_install(spec_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # as if not installed
    r = run("schema", "--check", str(spec_file(BAD)))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "checking against the schema needs the 'jsonschema' package" in r.output
    assert "hint: pip install jsonschema" in r.output


def test_check_words_problems_as_validate_does(spec_file):
    path = spec_file("specc: 2\ninputs: {x: [0]}\nlayers:\n  - dense: {units: three}\n"
                     "  - dense: {units: 3, trainable: 2}\n  - dense: [3]\n")
    r = run("schema", "--check", str(path))
    assert r.exit_code == 2
    lines = [line for line in r.output.splitlines() if line.startswith(str(path))]
    assert lines == [f"{path}:{where}" for where in [  # in file order
        "1:1: specc: must be 1 (received 2)",
        "2:14: inputs.x[0]: must be >= 1 (received 0)",
        "4:13: layers[0].dense.units: must be an integer (received 'three')",
        "5:23: layers[1].dense.trainable: must be true or false (received 2)",
        "6:5: layers[2].dense: must be a mapping"]]
