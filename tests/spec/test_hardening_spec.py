"""Hostile or careless spec input gets a clear SpecError (exit 2) with a location, within
bounded time and memory: one test per root cause (issue 10, part 5)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import specc
from specc.backends.torch.build import build_module
from specc.cli import main
from specc.errors import SpecError
from specc.spec.loader import load_json_bounded, parse_text, parse_value

MLP = {"inputs": {"x": [4]}, "layers": [{"dense": {"units": 3}}]}


def error_of(source, overrides=()) -> str:
    with pytest.raises(SpecError) as exc:
        specc.load(source, overrides)
    return str(exc.value)


def parse_error(text: str, json_mode: bool = False) -> str:
    with pytest.raises(SpecError) as exc:
        parse_text(text, "in.json" if json_mode else "in.yaml", json_mode=json_mode)
    return str(exc.value)


# -- 1. deep JSON ---------------------------------------------------------------------------


def test_deep_json_spec_is_a_located_error(spec_file):
    path = spec_file('{"inputs": ' + "[" * 5000 + "]" * 5000 + "}", name="deep.json")
    text = error_of(path)
    assert "deep.json:1:" in text and "nests deeper than 64 levels" in text


def test_load_json_bounded_limits_depth_size_and_values():
    with pytest.raises(SpecError, match=r"ckpt.json:2:.*nests deeper than 10 levels"):
        load_json_bounded('{"a":\n' + "[" * 20 + "]" * 20 + "}", "ckpt.json", max_depth=10)
    with pytest.raises(SpecError, match="too large"):
        load_json_bounded('"' + "x" * 100 + '"', "ckpt.json", max_bytes=50)
    with pytest.raises(SpecError, match="too many values"):
        load_json_bounded("[" + ",".join(["1"] * 100) + "]", "ckpt.json", max_values=10)
    # brackets inside strings are not nesting
    assert load_json_bounded(json.dumps({"s": "[" * 500}), "x.json") == {"s": "[" * 500}


# -- 2. bad values for standard YAML tags ---------------------------------------------------


@pytest.mark.parametrize("value,tag", [('!!int "abc"', "int"), ("!!bool maybe", "bool"),
                                       ('!!float ""', "float"), ("!!int 1.5x", "int")])
def test_standard_tag_with_bad_value(value, tag):
    text = parse_error(f"name: m\nunits: {value}\n")
    assert "in.yaml:2:8: units:" in text and f"not a valid {tag}" in text


def test_standard_tags_with_good_values_still_work():
    src = parse_text('a: !!int "7"\nb: !!float 3\nc: !!bool "true"\nd: !!str 5\n', "in.yaml")
    assert src.data == {"a": 7, "b": 3.0, "c": True, "d": "5"}


# -- 3. '<<' merge chains ---------------------------------------------------------------------


def test_merge_chain_over_empty_mappings_is_bounded():
    lines = ["m0: &m0 {}"] + [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}" for i in range(1, 60)]
    text = parse_error("\n".join(lines) + "\n")
    assert "expands too far" in text and "in.yaml:" in text


# -- 4. JSON: duplicate keys, limits, positions -------------------------------------------------


def test_json_duplicate_key_is_an_error_with_position(spec_file):
    path = spec_file('{\n  "inputs": {"x": [4]},\n  "layers": [{"dense": {"units": 3,\n'
                     '\t"units": 4}}]\n}\n', name="dup.json")
    text = error_of(path)
    assert "dup.json:4:" in text and "duplicate key 'units'" in text


def test_json_goes_through_the_value_limit():
    bomb = "[" + ",".join(["0"] * 300_000) + "]"
    assert "too many values" in parse_error('{"a": ' + bomb + "}", json_mode=True)


def test_json_errors_have_positions(spec_file):
    path = spec_file('{"inputs": {"x": [4]},\n "layers": [{"dense": {"units": "many"}}]}',
                     name="pos.json")
    assert "pos.json:2:" in error_of(path)


# -- 5. long number literals ----------------------------------------------------------------------


@pytest.mark.parametrize("json_mode", [False, True])
def test_long_integer_literal(json_mode):
    digits = "7" * 5000
    text = parse_error('{"a": ' + digits + "}" if json_mode else f"a: {digits}\n", json_mode)
    assert "number literal is too long (5000 characters; limit 100)" in text


# -- 6. num_layers -------------------------------------------------------------------------------


def test_recurrent_num_layers_is_bounded():
    spec = {"inputs": {"s": [5, 3]}, "layers": [{"lstm": {"units": 4, "num_layers": 1e12}}]}
    assert "num_layers: must be <= 1000" in error_of(spec)


def test_recurrent_param_count_closed_form_matches_torch():
    spec = {"inputs": {"s": [5, 3]}, "layers": [{"lstm": {"units": 4, "num_layers": 3}}]}
    s = specc.load(spec)
    m = build_module(s.graph)
    # 4 gates x 4 units = 16 rows: layer 1 sees 3 features, layers 2-3 see 4; two biases each
    expected = (16 * (3 + 4) + 2 * 16) + 2 * (16 * (4 + 4) + 2 * 16)
    assert s.param_counts[0] == sum(p.numel() for p in m.parameters()) == expected


# -- 7. expansion limits -------------------------------------------------------------------------


def test_repeat_is_bounded_before_expanding():
    spec = {"inputs": {"x": [4]}, "layers": [{"dense": {"units": 4, "repeat": 10**9}}]}
    text = error_of(spec)
    assert "1,000,000,000 or more nodes" in text and "SPECC_MAX_NODES" in text


def test_nested_block_repeats_are_multiplied_out():
    spec = {"inputs": {"x": [4]},
            "blocks": {"a": {"layers": [{"dense": {"units": 4, "repeat": 1000}}]},
                       "b": {"layers": [{"a": {"repeat": 1000}}]}},
            "layers": [{"b": {"repeat": 1000}}]}
    assert "1,000,000,000 or more nodes" in error_of(spec)


def test_node_limit_env_var(monkeypatch):
    spec = {"inputs": {"x": [4]}, "layers": [{"dense": {"units": 4, "repeat": 50}}]}
    monkeypatch.setenv("SPECC_MAX_NODES", "20")
    assert "above the limit of 20" in error_of(spec)
    monkeypatch.setenv("SPECC_MAX_NODES", "60")
    assert len(specc.load(spec).graph.nodes) == 50


def test_param_list_substituted_many_times_is_bounded():
    spec = {"inputs": {"x": [4]}, "params": {"big": list(range(20_000))},
            "layers": [{"dense": {"units": 4, "name": f"d{i}", "kernel_initializer": "$big"}}
                       for i in range(200)]}
    text = error_of(spec)
    assert "expands to over 2,000,000 values" in text and "SPECC_MAX_VALUES" in text


# -- 8. recursive blocks ---------------------------------------------------------------------------


def test_block_using_itself_directly():
    spec = {"inputs": {"x": [4]}, "blocks": {"loop": {"layers": ["loop"]}}, "layers": ["loop"]}
    assert "block 'loop' uses itself: loop -> loop" in error_of(spec)


def test_block_cycle_through_another_block(spec_file):
    path = spec_file("""
        inputs: {x: [4]}
        blocks:
          a: {layers: [{dense: {units: 4}}, b]}
          b: {nodes: {n: {op: a, in: x}}}
        layers: [a]
        """)
    text = error_of(path)
    assert "spec.yaml:3:" in text and "block 'a' uses itself: a -> b -> a" in text


# -- 9. activation sizes ----------------------------------------------------------------------------


def test_huge_input_is_refused():
    text = error_of({"inputs": {"img": [3, 100000, 100000]}, "layers": ["flatten"]})
    assert "input 'img' (3, 100000, 100000) has 30,000,000,000 elements per sample" in text
    assert "SPECC_MAX_ACTIVATION" in text


def test_huge_upsampling_is_refused(spec_file):
    path = spec_file("""
        inputs: {img: [3, 32, 32]}
        layers:
          - upsampling2d: {size: 3000}
        """)
    text = error_of(path)
    assert "spec.yaml:3:" in text and "upsampling2d_1 (upsampling2d): its output" in text
    assert "27,648,000,000 elements" in text


def test_activation_limit_env_var(monkeypatch):
    spec = {"inputs": {"x": [3, 8, 8]}, "layers": [{"upsampling2d": {"size": 4}}]}
    monkeypatch.setenv("SPECC_MAX_ACTIVATION", "1000")
    assert "above the limit of 1,000" in error_of(spec)
    monkeypatch.delenv("SPECC_MAX_ACTIVATION")
    assert specc.load(spec).graph.nodes["upsampling2d_1"].type.shape == (3, 32, 32)


@pytest.mark.parametrize("name", ["resnet50", "vgg16"])
def test_builtin_large_specs_pass_the_activation_limit(name):
    specc.load(name)


# -- 10. --set values ----------------------------------------------------------------------------


def test_set_value_alias_bomb_is_bounded():
    row = "[" + ", ".join(["*a"] * 9) + "]"
    bomb = "[&a [1,1,1,1,1,1,1,1,1], " + ", ".join(
        f"&{c} " + row.replace("*a", f"*{p}") for p, c in zip("abcde", "bcdef", strict=True)) + \
        ", " + row.replace("*a", "*f") + "]"
    text = error_of(MLP, [f"layers.0.dense.units={bomb}"])
    assert "command line" in text and "expands too far" in text


def test_set_exponent_number_like_a_file():
    assert parse_value("1e3") == 1000.0 and parse_value("010") == 10
    s = specc.load(MLP, ["layers.0.dense.units=1e1"])
    assert s.graph.nodes["dense_1"].params.units == 10


@pytest.mark.parametrize("key", ["layers.5.dense.units", "layers." + "9" * 40 + ".dense.units",
                                 "layers.7"])
def test_set_index_out_of_range(key):
    text = error_of(MLP, [f"{key}=3"])
    assert "index out of range" in text and "1 item(s)" in text


# -- 11. Python keywords as names ---------------------------------------------------------------


def test_keyword_names_build_train_and_export(tmp_path):
    from specc.backends.onnx import export

    spec = {"name": "kw", "inputs": {"self": [4]}, "nodes": {
        "class": {"op": "dense", "in": "self", "units": 3, "activation": "relu"},
        "lambda": {"op": "dense", "in": "class", "units": 3, "activation": "elu"},
        "None": {"op": "dense", "in": "lambda", "units": 2}}, "outputs": ["None"]}
    s = specc.load(spec)
    m = build_module(s.graph)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    before = m(x).detach().clone()
    m(x).pow(2).mean().backward()
    opt.step()
    assert not torch.equal(m(x), before)  # one training step changed the model
    result = export(s, tmp_path / "kw.onnx")
    assert result.parity.ok
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "kw.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["self"]
    got = sess.run(None, {"self": x.numpy()})[0]
    fresh = build_module(s.graph, seed=0)  # export builds the spec's model with seed 0
    np.testing.assert_allclose(got, fresh(x).detach().numpy(), rtol=1e-4, atol=1e-5)


# -- 12. attribute names never collide --------------------------------------------------------


def test_node_named_like_a_fused_activation_module():
    spec = {"inputs": {"x": [4]}, "nodes": {
        "h": {"op": "dense", "in": "x", "units": 3, "activation": "leaky_relu"},
        "h_leaky_relu": {"op": "dense", "in": "h", "units": 2}}, "outputs": ["h_leaky_relu"]}
    s = specc.load(spec)
    m = build_module(s.graph)
    assert isinstance(m.get_submodule("h_leaky_relu"), torch.nn.Linear)
    act = m.get_submodule("h_leaky_relu_")
    assert not isinstance(act, torch.nn.Linear)
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    h = act(m.h(x))
    assert torch.equal(h, torch.where(m.h(x) > 0, m.h(x), m.h(x) * 0.3))  # Keras slope
    torch.testing.assert_close(m(x), m.h_leaky_relu(h))


# -- 13. spec name ----------------------------------------------------------------------------


@pytest.mark.parametrize("name,fragment", [
    ("../../etc", "must not contain '/'"), ("a" * 101, "too long (101 characters"),
    ('"a\\nb"', "must not contain '\\n'"), ("..", "must not contain '..'"),
    ('"a\\0b"', "must not contain '\\x00'"), ("'a\\b'", "must not contain '\\\\'")])
def test_spec_name_is_checked(spec_file, name, fragment):
    path = spec_file(f"inputs: {{x: [4]}}\nname: {name}\nlayers: [{{dense: {{units: 2}}}}]\n")
    text = error_of(path)
    assert "spec.yaml:2:" in text and "name:" in text and fragment in text


# -- 14. outputs -------------------------------------------------------------------------------


@pytest.mark.parametrize("body,fragment", [
    ({"outputs": ["d", "d"]}, "outputs[1]: output 'd' is listed twice"),
    ({"outputs": ["x"]}, "outputs[0]: output 'x' is an input"),
    ({"layers": []}, "layers: 'layers' is empty"),
    ({"layers": [{"input": {"shape": [4], "name": "x"}}], "inputs": None},
     "output 'x' is an input"),
])
def test_degenerate_outputs_are_refused(body, fragment):
    spec = {"inputs": {"x": [4]}, "layers": [{"dense": {"units": 2, "name": "d"}}], **body}
    spec = {k: v for k, v in spec.items() if v is not None}
    assert fragment in error_of(spec)


# -- 15. clearer errors ---------------------------------------------------------------------------


def test_dict_origin_is_named():
    bad = {"inputs": {"x": [4]}, "layers": [{"dense": {"units": "many"}}]}
    with pytest.raises(SpecError) as exc:
        specc.load(bad, origin="runs/m/spec.resolved.yaml")
    assert str(exc.value).startswith("runs/m/spec.resolved.yaml: layers[0].dense.units")


def test_deep_dict_is_a_spec_error():
    deep: dict = {}
    cur = deep
    for _ in range(5000):
        cur["a"] = {}
        cur = cur["a"]
    assert "nests deeper than 64 levels" in error_of({**MLP, "description": deep})


def test_params_cannot_reference_params(spec_file):
    path = spec_file("""
        params: {a: $b, b: 3}
        inputs: {x: [4]}
        layers: [{dense: {units: $a}}]
        """)
    text = error_of(path)
    assert "spec.yaml:1:" in text and "params.a: a parameter cannot reference another" in text


@pytest.mark.parametrize("layer,fragment", [
    ({"dense": {"units": True}}, "units: must be an integer, not true"),
    ({"dropout": {"rate": False}}, "rate: must be a number, not false"),
])
def test_booleans_are_not_numbers(layer, fragment):
    assert fragment in error_of({"inputs": {"x": [4]}, "layers": [layer]})


def test_boolean_inside_a_pair_is_not_a_number():
    spec = {"inputs": {"img": [1, 8, 8]},
            "layers": [{"conv2d": {"filters": 2, "kernel": [3, True]}}]}
    assert "kernel[1]: must be an integer, not true" in error_of(spec)


def test_yaml_numbers_follow_yaml_1_2():
    src = parse_text("a: 010\nb: 1:30\nc: 0o10\nd: 0x10\ne: 1e-3\nf: 1_000\ng: .inf\n", "f.yaml")
    assert src.data == {"a": 10, "b": "1:30", "c": 8, "d": 16, "e": 0.001, "f": "1_000",
                        "g": float("inf")}


# -- the CLI: exit 2, never 1 ------------------------------------------------------------------


def test_cli_exit_code_is_2(spec_file):
    path = spec_file("inputs: {x: [4]}\nlayers: [{dense: {units: !!int abc}}]\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "spec.yaml:2:" in result.output and "not a valid int" in result.output
