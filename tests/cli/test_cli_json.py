"""Output scripts can read: whole identifiers when piped, and ``--json`` on every listing and
report command (layers, layers describe, list, show, plugins, build; evaluate is in
test_cli_hardening.py with its trained run)."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from specc.cli import main
from specc.registry import current
from specc.spec.builtin import builtin_names, builtin_path

GOOD = "specc: 1\nname: mlp\ninputs: {x: [8]}\nlayers:\n  - dense: {units: 4, activation: softmax}\n"


def run(*args: str):
    result = CliRunner().invoke(main, list(args))  # stdout is not a terminal here
    assert "Traceback" not in result.output
    return result


def test_layers_piped_lists_every_kind_whole():
    r = run("layers")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == ["kind", "aliases", "from", "summary"]
    reg = current().layers
    first = [line.split()[0] for line in lines[1:]]
    assert first == [name for name, _ in reg.items()]  # one line per kind, name first, whole
    for name, kind in reg.items():
        (line,) = [ln for ln in lines[1:] if ln.split()[0] == name]
        assert line.rstrip().endswith(kind.summary())  # never cut with an ellipsis
    assert "…" not in r.output
    # the grep of the issue: a long name, from a plugin, is found as it is written
    assert "multi_head_attention" in first and "positional_encoding" in first


def test_layers_json():
    r = run("layers", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    reg = current().layers
    assert [row["name"] for row in rows] == reg.names()
    assert all(set(row) == {"name", "aliases", "provider", "summary"} for row in rows)
    dense = next(row for row in rows if row["name"] == "dense")
    assert dense["provider"] == "specc" and "fully_connected" in dense["aliases"]
    assert dense["summary"] == reg.get("dense").summary()
    r = run("layers", "conv*", "--json")
    assert {row["name"] for row in json.loads(r.output)} == \
        {n for n in reg.names() if n.startswith("conv")}


def test_layers_describe_json():
    r = run("layers", "describe", "fully_connected", "--json")  # an alias names the kind
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["name"] == "dense" and d["class"] == "specc.layers.dense.Dense"
    assert d["inputs"] == {"min": 1, "max": 1} and d["provider"] == "specc"
    params = {p["name"]: p for p in d["parameters"]}
    assert params["units"] == {"name": "units", "type": "int", "required": True, "default": None,
                               "constraints": "> 0", "description": "Number of output features."}
    assert params["activation"]["required"] is False and params["activation"]["default"] is None
    assert d["doc"].startswith(d["summary"].split(":")[0])
    r = run("layers", "describe", "no_such_kind", "--json")
    assert r.exit_code == 2 and "unknown layer 'no_such_kind'" in r.output


def test_list_json_and_piped():
    r = run("list", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [row["name"] for row in rows] == builtin_names()
    by = {row["name"]: row for row in rows}
    data = yaml.safe_load(builtin_path("dcn").read_text())
    assert by["dcn"] == {"name": "dcn", "family": data["family"], "bar": str(data["bar"])}
    r = run("list")
    for name in builtin_names():  # piped: each bar whole on its spec's line
        bar = str(by[name]["bar"])
        assert any(line.startswith(name + " ") and line.endswith(bar)
                   for line in r.output.splitlines()), name


def test_show_json_is_the_spec():
    r = run("show", "dcn", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == yaml.safe_load(builtin_path("dcn").read_text())


def test_plugins_piped_and_json():
    r = run("plugins")
    assert r.exit_code == 0, r.output
    specc_row = next(line for line in r.output.splitlines() if line.startswith("specc "))
    layers = ", ".join(sorted(current().plugins["specc"].provides["layers"]))
    assert f"layers: {layers}" in specc_row  # the whole list, on the plugin's own line
    rows = json.loads(run("plugins", "--json").output)
    assert rows[0]["name"] == "specc" and rows[0]["status"] == "ok"


def test_build_json(spec_file, tmp_path):
    r = run("build", str(spec_file(GOOD)), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["name"] == "mlp" and d["weights"] == []
    net = d["networks"]["mlp"]
    assert net["inputs"] == {"x": {"shape": [8], "dtype": "float32"}}
    (node,) = net["nodes"]
    assert node == {"name": "dense_1", "kind": "dense", "activation": "softmax",
                    "inputs": ["x"], "output": {"shape": [4], "dtype": "float32"},
                    "params": 36, "trainable_params": 36, "shares": None, "trainable": True}
    assert net["outputs"] == {"dense_1": {"shape": [4], "dtype": "float32"}}
    assert net["params"] == {"total": 36, "trainable": 36, "non_trainable": 0}
    out = tmp_path / "w.safetensors"
    r = run("build", str(spec_file(GOOD)), "--json", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["weights"] == [str(out)] and out.is_file()


def test_build_json_dynamic_axis(spec_file):
    spec = ("specc: 1\nname: seq\ninputs: {x: [null, 3]}\nlayers:\n"
            "  - gru: {units: 2}\n")
    r = run("build", str(spec_file(spec)), "--json")
    assert r.exit_code == 0, r.output
    net = json.loads(r.output)["networks"]["seq"]
    assert net["inputs"]["x"]["shape"] == [None, 3]  # a dynamic axis is null
