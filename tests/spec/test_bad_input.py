"""Every user mistake gives a SpecError naming file:line, the field path and what was received."""

from __future__ import annotations

import pytest

import specc
from specc.errors import SpecError

MLP = """
specc: 1
name: m
inputs: {x: [8]}
layers:
"""

CASES = [
    # id, spec text, expected fragments, expected line (None: don't check)
    ("unknown-kind", MLP + "  - dens: {units: 3}\n", ["unknown layer 'dens'", "did you mean 'dense'"], 5),
    ("wrong-type", MLP + "  - dense: {units: many}\n", ["units: must be an integer", "received 'many'"], 5),
    ("zero-filters", """
        specc: 1
        inputs: {img: [1, 8, 8]}
        layers:
          - conv2d: {filters: 0, kernel: 2}
        """, ["layers[0].conv2d.filters: must be > 0 (received 0)"], 4),
    ("kernel-too-big", """
        specc: 1
        inputs: {img: [1, 2, 2]}
        layers:
          - conv2d: {filters: 4, kernel: 3}
        """, ["conv2d_1 (conv2d)", "kernel"], 4),
    ("rank-after-flatten", """
        specc: 1
        inputs: {img: [1, 8, 8]}
        layers:
          - flatten
          - conv2d: {filters: 4, kernel: 2}
        """, ["conv2d_1 (conv2d)", "rank", "(64,)", "from flatten_1"], 5),
    ("add-channel-mismatch", """
        specc: 1
        inputs: {x: [4]}
        nodes:
          a: {op: dense, in: x, units: 3}
          b: {op: dense, in: x, units: 5}
          s: {op: add, in: [a, b]}
        """, ["s (add)", "(3,)", "(5,)"], 6),
    ("concat-mismatch", """
        specc: 1
        inputs: {img: [1, 8, 8], v: [4]}
        nodes:
          c: {op: conv2d, in: img, filters: 2, kernel: 1}
          j: {op: concat, in: [c, v]}
        """, ["j (concat)"], 5),
    ("cycle", """
        specc: 1
        inputs: {x: [4]}
        nodes:
          a: {op: dense, in: b, units: 4}
          b: {op: dense, in: a, units: 4}
        outputs: [b]
        """, ["cycle", "a -> b -> a"], 4),
    ("missing-input-node", """
        specc: 1
        inputs: {x: [4]}
        nodes:
          a: {op: dense, in: y, units: 4}
        """, ["input 'y' is not a node or input"], 4),
    ("duplicate-node-name", MLP + "  - dense: {units: 3, name: h}\n  - dense: {units: 3, name: h}\n",
     ["duplicate node name 'h'"], 6),
    ("duplicate-yaml-key", MLP + "  - dense: {units: 3, units: 4}\n", ["duplicate key 'units'"], 5),
    ("unsafe-tag", MLP + "  - dense: !!python/object/apply:os.system ['echo hi']\n",
     ["tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"], 5),
    ("custom-tag", MLP + "  - dense: {units: !env UNITS}\n", ["tag '!env' is not allowed"], 5),
    ("undefined-param", MLP + "  - dense: {units: $width}\n", ["undefined parameter '$width'"], 5),
    ("empty-file", "", ["spec file is empty"], 1),
    ("only-comments", "# nothing\n", ["empty"], 1),
    ("not-a-mapping", "- dense\n- flatten\n", ["must be a mapping at the top level"], 1),
    ("huge-layer", """
        specc: 1
        inputs: {x: [1000000]}
        layers:
          - dense: {units: 1000000}
        """, ["1,000,001,000,000 parameters", "above the limit"], 4),
    ("unknown-top-field", "specc: 1\ninputs: {x: [3]}\nlayer:\n  - dense: {units: 2}\n",
     ["unknown field 'layer'", "did you mean 'layers'"], 3),
    ("layers-and-nodes", "specc: 1\ninputs: {x: [3]}\nlayers: [flatten]\nnodes: {}\n",
     ["either 'layers'"], None),
    ("no-inputs", "specc: 1\nlayers:\n  - dense: {units: 2}\n", ["declares no inputs"], None),
    ("bad-input-shape", "specc: 1\ninputs: {x: [-3]}\nlayers: [flatten]\n",
     ["input shape is a list of positive sizes", "received [-3]"], 2),
    ("unknown-output", "specc: 1\ninputs: {x: [3]}\nnodes:\n  a: {op: dense, in: x, units: 2}\noutputs: [zz]\n",
     ["output 'zz' is not a node or input"], 5),
    ("format-version", "specc: 2\ninputs: {x: [3]}\nlayers: [flatten]\n",
     ["unsupported spec format version", "received 2"], 1),
    ("yaml-syntax", "specc: 1\ninputs: {x: [3]\nlayers: [flatten]\n", ["invalid YAML"], None),
    ("unknown-activation", MLP + "  - dense: {units: 2, activation: rleu}\n",
     ["activation: must be one of", "did you mean 'relu'"], 5),
    ("share-other-kind", """
        specc: 1
        inputs: {x: [4]}
        nodes:
          a: {op: dense, in: x, units: 4}
          b: {op: flatten, in: a, share: a}
        """, ["can only share weights with a node of the same kind"], 5),
    ("block-unknown-param", """
        specc: 1
        inputs: {x: [4]}
        blocks:
          mlp: {params: {units: 4}, layers: [{dense: {units: $units}}]}
        layers:
          - mlp: {unit: 3}
        """, ["block 'mlp' has no parameter 'unit'", "did you mean 'units'"], 6),
    ("repeat-zero", MLP + "  - dense: {units: 2, repeat: 0}\n", ["'repeat' must be a positive integer"], 5),
    ("int-input-to-dense", "specc: 1\ninputs: {x: {shape: [3], dtype: int64}}\nlayers:\n  - dense: {units: 2}\n",
     ["expects a floating-point input", "embedding"], 4),
    ("too-many-inputs", """
        specc: 1
        inputs: {x: [4], y: [4]}
        nodes:
          a: {op: dense, in: [x, y], units: 4}
        """, ["takes 1 input(s)", "received '2: x, y'"], 4),
    ("several-documents", "specc: 1\n---\nspecc: 1\n", ["several YAML documents"], 3),
    ("requires-missing", "specc: 1\nrequires: [specc-nonexistent-plugin>=1.0]\ninputs: {x: [3]}\nlayers: [flatten]\n",
     ["needs plugin 'specc-nonexistent-plugin'", "pip install"], 2),
    ("requires-too-old", "specc: 1\nrequires: [pydantic>=99.0]\ninputs: {x: [3]}\nlayers: [flatten]\n",
     ["needs pydantic>=99.0 but"], 2),
    ("two-inputs-sequential", "specc: 1\ninputs: {x: [3], y: [3]}\nlayers: [flatten]\n",
     ["sequential 'layers' form takes one input"], 3),
    ("node-without-op", "specc: 1\ninputs: {x: [3]}\nnodes:\n  a: {in: x, units: 2}\n", ["needs 'op: KIND'"], 4),
    ("trainable-not-bool", MLP + "  - dense: {units: 2, trainable: maybe}\n", ["'trainable' must be true or false"], 5),
    ("reshape-count", "specc: 1\ninputs: {x: [12]}\nlayers:\n  - reshape: {shape: [5, 5]}\n", ["reshape_1 (reshape)"], 4),
    ("bad-param-ref", MLP + "  - dense: {units: $}\n", ["units: must be an integer"], 5),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_spec_reports_location_and_cause(spec_file, case):
    _, text, fragments, line = case
    path = spec_file(text)
    with pytest.raises(SpecError) as info:
        specc.load(path)
    rendered = info.value.render()
    for fragment in fragments:
        assert fragment in rendered, f"{fragment!r} not in:\n{rendered}"
    first = info.value.issues[0]
    assert first.file == str(path)
    if line is not None:
        assert any(i.line == line for i in info.value.issues), rendered


def test_binary_garbage(spec_file):
    path = spec_file(b"\x89PNG\r\n\x1a\n\xff\xfe\x00garbage", name="model.yaml")
    with pytest.raises(SpecError, match="not UTF-8|NUL bytes"):
        specc.load(path)


def test_invalid_json_names_line_and_column(spec_file):
    path = spec_file('{\n  "specc": 1,\n  "inputs": {"x": [3]},,\n}\n', name="m.json")
    with pytest.raises(SpecError) as info:
        specc.load(path)
    issue = info.value.issues[0]
    assert "invalid JSON" in issue.message and issue.line == 3


def test_set_unknown_key_is_an_error(spec_file):
    path = spec_file(MLP + "  - dense: {units: 2}\n")
    with pytest.raises(SpecError, match="command line: --set: the spec has no key 'layer'") as info:
        specc.load(path, ["layer.0=3"])
    assert "did you mean 'layers'" in info.value.render()


def test_set_without_equals(spec_file):
    with pytest.raises(SpecError, match="KEY=VALUE"):
        specc.load(spec_file(MLP + "  - dense: {units: 2}\n"), ["units"])


def test_all_errors_reported_together(spec_file):
    path = spec_file(MLP + "  - dense: {units: 0}\n  - dense: {units: 3, bogus: 1}\n"
                     "  - dense: {units: 2, activation: nope}\n")
    with pytest.raises(SpecError) as info:
        specc.load(path)
    assert [i.line for i in info.value.issues] == [5, 6, 7]
    assert info.value.render().endswith("3 errors")


def test_missing_file():
    with pytest.raises(SpecError, match="does not exist"):
        specc.load("/nonexistent/spec.yaml")


def test_unsafe_yaml_never_executes(spec_file, tmp_path):
    marker = tmp_path / "pwned"
    path = spec_file(MLP + f"  - !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(SpecError):
        specc.load(path)
    assert not marker.exists()


def test_billion_laughs_is_bounded(spec_file):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = spec_file("\n".join(lines) + "\n")
    with pytest.raises(SpecError, match="too large or expands too far"):
        specc.load(path)
