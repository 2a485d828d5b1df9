"""The spec language: forms, params, overrides, blocks, networks, aliases, positions."""

from __future__ import annotations

import json

import pytest

import specc
from specc.assembled import graph_to_dict
from specc.errors import SpecError

RESIDUAL = """
specc: 1
name: resstack
params: {filters: 8}
inputs: {img: [1, 8, 8]}
blocks:
  residual:
    params: {filters: 16}
    inputs: [x]
    nodes:
      a: {op: conv2d, in: x, filters: $filters, kernel: 3, padding: same, activation: relu}
      b: {op: conv2d, in: a, filters: $filters, kernel: 3, padding: same}
      y: {op: add, in: [b, x], activation: relu}
    outputs: [y]
layers:
  - conv2d: {filters: $filters, kernel: 3, padding: same}
  - residual: {filters: $filters, repeat: 3}
  - global_avg_pool2d
  - dense: {units: 10, activation: softmax}
"""


def test_sequential_form_names_and_shapes(spec_file):
    spec = specc.load(spec_file("""
        specc: 1
        name: mlp
        inputs: {x: [64]}
        layers:
          - Dense: {units: 32, activation: relu}
          - dense: {units: 10, activation: softmax, name: out}
        """))
    g = spec.graph
    assert list(g.nodes) == ["dense_1", "out"]
    assert g.nodes["dense_1"].kind == "dense"  # Keras alias resolved
    assert g.type_of("out").shape == (10,)
    assert g.param_counts == (64 * 32 + 32 + 32 * 10 + 10, 0)


def test_params_and_overrides_are_typed(spec_file):
    path = spec_file("""
        specc: 1
        params: {hidden: 16, classes: 3}
        inputs: {x: [4]}
        layers:
          - dense: {units: $hidden}
          - dense: {units: $classes}
        """)
    spec = specc.load(path, ["hidden=5", "params.classes=7"])
    assert [n.params.units for n in spec.graph.nodes.values()] == [5, 7]
    spec = specc.load(path, ["layers.0.dense.units=9"])
    assert spec.graph.nodes["dense_1"].params.units == 9
    with pytest.raises(SpecError, match="must be an integer"):
        specc.load(path, ["hidden=wide"])


def test_float_without_dot_is_a_number(spec_file):
    spec = specc.load(spec_file("""
        specc: 1
        inputs: {x: [4]}
        layers:
          - activation: {function: leaky_relu, negative_slope: 1e-2}
        """))
    assert spec.graph.nodes["activation_1"].params.negative_slope == pytest.approx(0.01)


def test_block_with_repeat_expands_and_infers(spec_file):
    spec = specc.load(spec_file(RESIDUAL))
    g = spec.graph
    names = list(g.nodes)
    assert names[:4] == ["conv2d_1", "residual_1.0.a", "residual_1.0.b", "residual_1.0.y"]
    assert "residual_1.2.y" in names
    assert g.nodes["residual_1.1.a"].inputs == ["residual_1.0.y"]
    assert g.nodes["residual_1.0.y"].inputs == ["residual_1.0.b", "conv2d_1"]
    assert g.nodes["global_avg_pool2d_1"].inputs == ["residual_1.2.y"]
    assert g.type_of("residual_1.2.y").shape == (8, 8, 8)
    conv = 8 * 8 * 9 + 8
    assert g.param_counts[0] == (9 * 8 + 8) + 6 * conv + (8 * 10 + 10)


def test_graph_form_skip_connections_and_sharing(spec_file):
    spec = specc.load(spec_file("""
        specc: 1
        inputs: {left: [64], right: [64]}
        nodes:
          l: {op: dense, in: left, units: 32, activation: relu}
          r: {op: dense, in: right, share: l, units: 32, activation: relu}
          d: {op: concat, in: [l, r]}
          out: {op: dense, in: d, units: 1, activation: sigmoid}
        outputs: [out]
        """))
    g = spec.graph
    assert g.type_of("d").shape == (64,)
    assert g.param_counts == (64 * 32 + 32 + 65, 0)  # shared weights counted once
    import torch

    m = specc.build(spec)
    assert sum(p.numel() for p in m.parameters()) == 64 * 32 + 32 + 65
    x = torch.rand(2, 64)
    a, b = m.l(x), m.l(x)
    assert torch.equal(a, b)


def test_networks_gan_sketch(spec_file):
    spec = specc.load(spec_file("""
        specc: 1
        name: gan
        networks:
          generator:
            inputs: {z: [64]}
            layers:
              - dense: {units: 1568, activation: relu}
              - reshape: {shape: [32, 7, 7]}
              - conv2d_transpose: {filters: 16, kernel: 4, stride: 2, padding: same, activation: relu}
              - conv2d_transpose: {filters: 1, kernel: 4, stride: 2, padding: same, activation: sigmoid}
          discriminator:
            inputs: {image: [1, 28, 28]}
            layers:
              - conv2d: {filters: 32, kernel: 4, stride: 2, padding: same, activation: leaky_relu}
              - flatten
              - dense: {units: 1, activation: sigmoid}
        """))
    assert list(spec.networks) == ["generator", "discriminator"]
    gen = spec.network("generator")
    assert gen.type_of(gen.outputs[0]).shape == (1, 28, 28)
    with pytest.raises(SpecError, match="several networks"):
        _ = spec.graph
    with pytest.raises(SpecError, match="did you mean 'generator'"):
        spec.network("generatr")


def test_input_layer_and_dict_spec():
    spec = specc.load({"specc": 1, "name": "d", "layers": [
        {"input": {"shape": [3]}}, {"dense": {"units": 2}}]})
    assert spec.graph.inputs["input"].shape == (3,)
    assert spec.graph.type_of("dense_1").shape == (2,)


def test_dynamic_sequence_and_int_inputs(spec_file):
    spec = specc.load(spec_file("""
        specc: 1
        inputs: {tokens: {shape: [null], dtype: int64}}
        layers:
          - embedding: {input_dim: 50, output_dim: 8}
          - lstm: {units: 16, return_sequences: true}
          - dense: {units: 50, activation: softmax}
        """))
    g = spec.graph
    assert g.type_of("embedding_1").shape == (None, 8)
    assert g.type_of("dense_1").shape == (None, 50)


def test_json_spec_positions(spec_file):
    path = spec_file(json.dumps({"specc": 1, "inputs": {"x": [3]},
                                 "layers": [{"dense": {"units": 0}}]}, indent=2), name="m.json")
    with pytest.raises(SpecError) as info:
        specc.load(path)
    issue = info.value.issues[0]
    assert issue.path == ("layers", 0, "dense", "units") and issue.line == 11


def test_error_positions_point_at_field(spec_file):
    path = spec_file("specc: 1\ninputs: {x: [3]}\nlayers:\n  - dense:\n      units: 0\n")
    with pytest.raises(SpecError) as info:
        specc.load(path)
    assert (info.value.issues[0].line, info.value.issues[0].col) == (5, 7)
    assert "    5 |       units: 0" in info.value.render()


def test_resolved_graph_round_trips(spec_file):
    spec = specc.load(spec_file(RESIDUAL))
    again = specc.load({"specc": 1, "name": "x", **graph_to_dict(spec.graph)})
    assert again.graph.param_counts == spec.graph.param_counts
    assert again.graph.output_types == {
        k.replace(".", "__"): v for k, v in spec.graph.output_types.items()}
    assert spec.hash == specc.load(spec_file(RESIDUAL)).hash
    assert spec.hash != specc.load(spec_file(RESIDUAL), ["filters=4"]).hash


def test_yaml_merge_keys_and_anchors(spec_file):
    spec = specc.load(spec_file("""
        specc: 1
        inputs: {x: [4]}
        layers:
          - dense: &hidden {units: 6, activation: relu}
          - dense: {<<: *hidden, units: 3}
        """))
    assert [n.params.units for n in spec.graph.nodes.values()] == [6, 3]
    assert spec.graph.nodes["dense_2"].params.activation == "relu"


def test_builtin_spec_by_name():
    spec = specc.load("dcn")
    assert spec.family == "deep-convolutional-network"
