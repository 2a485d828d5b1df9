"""Property tests: mutated specs only ever raise SpecError (never another exception).

Mutated spec trees, YAML and JSON text with hostile fragments spliced in (tags, anchors and
merges, deep nesting, duplicate keys, huge numbers) and ``--set`` overrides. The command line
over run folders, .onnx metadata, names and input files is fuzzed in tests/test_fuzz_cli.py.
"""

from __future__ import annotations

import copy
import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import specc
from specc.errors import SpecError

BASE = {
    "specc": 1,
    "name": "fuzz",
    "params": {"h": 8},
    "inputs": {"img": [1, 8, 8]},
    "blocks": {"pair": {"params": {"f": 4}, "layers": [
        {"conv2d": {"filters": "$f", "kernel": 3, "padding": "same", "activation": "relu"}},
        {"conv2d": {"filters": "$f", "kernel": 1}}]}},
    "layers": [
        {"conv2d": {"filters": 4, "kernel": 2, "activation": "relu"}},
        {"max_pool2d": {"size": 2}},
        {"pair": {"f": 4, "repeat": 2}},
        "flatten",
        {"dense": {"units": "$h", "activation": "relu"}},
        {"dropout": {"rate": 0.5}},
        {"dense": {"units": 3, "activation": "softmax"}},
    ],
}

values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**13), st.floats(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["$h", "$nope", "same", "relu", "conv2d", "flatten"]),
    st.lists(st.integers(-2, 40), max_size=4), st.dictionaries(st.text(max_size=5), st.integers(),
                                                               max_size=2),
)


def paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from paths(v, prefix + (i,))


ALL_PATHS = [p for p in paths(BASE) if p]


def mutate(spec, path, op, value):
    spec = copy.deepcopy(spec)
    parent = spec
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    if op == "delete":
        del parent[key]
    elif op == "set":
        parent[key] = value
    elif op == "dup" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
    elif op == "rename" and isinstance(parent, dict):
        parent[str(value)] = parent.pop(key)
    return spec


def check(spec):
    try:
        specc.load(spec)
    except SpecError as err:
        assert err.issues and all(i.message for i in err.issues)
        err.render()


FUZZ = {"deadline": None, "derandomize": True, "database": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}


@settings(max_examples=250, **FUZZ)
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS),
                          st.sampled_from(["delete", "set", "dup", "rename"]), values),
                min_size=1, max_size=3))
def test_mutated_specs_raise_only_spec_errors(mutations):
    spec = BASE
    for path, op, value in mutations:
        try:
            spec = mutate(spec, path, op, value)
        except (KeyError, IndexError, TypeError):
            continue
    check(spec)


@settings(max_examples=150, **FUZZ)
@given(st.integers(0, 2000), st.text(max_size=6))
def test_mutated_yaml_text_raises_only_spec_errors(tmp_path_factory, pos, junk):
    text = yaml.safe_dump(BASE, sort_keys=False)
    pos = pos % (len(text) + 1)
    path = tmp_path_factory.mktemp("fz") / "spec.yaml"
    path.write_text(text[:pos] + junk + text[pos:])
    try:
        specc.load(path)
    except SpecError:
        pass


FRAGMENTS = [
    "!!int abc", "!!bool maybe", '!!float ""', "!!python/object/apply:os.system ['true']",
    "!!binary x", "!!timestamp x", "&a [*a]", "*nope", "{<<: {}}", "{<<: [{}, {}]}", "010",
    "1:30", "0o17", "0x1F", "1e3", ".inf", "-.nan", "9" * 5000, "[" * 2000 + "]" * 2000,
    "{a: 1, a: 2}", "~", "? [a]\n: b", "|-\n  x", "'\\x00'", '"\\ud800"', "!<tag:x> 1",
    "%YAML 1.1", "---", "...", "- - - -", "true", "yes", "on", "null",
]


@settings(max_examples=150, **FUZZ)
@given(st.integers(0, 4000), st.sampled_from(FRAGMENTS))
def test_hostile_yaml_fragments_raise_only_spec_errors(tmp_path_factory, pos, fragment):
    """A YAML fragment (tag, anchor, merge, octal, deep nesting) in place of a value."""
    text = yaml.safe_dump(BASE, sort_keys=False)
    starts = [i + 2 for i in range(len(text) - 1) if text[i:i + 2] == ": "]
    pos = starts[pos % len(starts)]
    end = text.find("\n", pos)
    path = tmp_path_factory.mktemp("fz") / "spec.yaml"
    path.write_text(text[:pos] + fragment + text[end:])
    try:
        specc.load(path)
    except SpecError as err:
        assert err.issues and all(i.message for i in err.issues)


@settings(max_examples=150, **FUZZ)
@given(st.integers(0, 4000), st.sampled_from(
    ['{"a": 1, "a": 2}', "[" * 3000 + "]" * 3000, "1" * 5000, "1e999", "NaN", "-Infinity",
     '"\\ud800"', "null", "{}", "[]", '"$h"', '{"__proto__": 1}', "true", "0.5e-400"]))
def test_hostile_json_fragments_raise_only_spec_errors(tmp_path_factory, pos, fragment):
    """A JSON spec with a value replaced by a hostile fragment (duplicate keys, depth...)."""
    text = json.dumps(BASE)
    starts = [i + 2 for i in range(len(text) - 1) if text[i:i + 2] == ": "]
    pos = starts[pos % len(starts)]
    depth, end = 0, pos
    while end < len(text):  # the end of the value starting at pos
        c = text[end]
        if c in "[{":
            depth += 1
        elif c in "]}":
            if depth == 0:
                break
            depth -= 1
        elif c == "," and depth == 0:
            break
        end += 1
    path = tmp_path_factory.mktemp("fz") / "spec.json"
    path.write_text(text[:pos] + fragment + text[end:])
    try:
        specc.load(path)
    except SpecError as err:
        assert err.issues and all(i.message for i in err.issues)


OVERRIDE_KEYS = ["params.h", "name", "layers.0.conv2d.filters", "layers.2.pair.repeat",
                 "layers.999999999999", "layers.-1", "inputs.img", "blocks.pair.params.f",
                 "train.epochs", "train.seed", "train.data.split.val", "nope.deeper", "", ".",
                 "layers..x", "layers.0", "specc"]


@settings(max_examples=150, **FUZZ)
@given(st.lists(st.tuples(st.sampled_from(OVERRIDE_KEYS), st.one_of(
    st.sampled_from(FRAGMENTS), st.text(max_size=10))), min_size=1, max_size=3))
def test_hostile_overrides_raise_only_spec_errors(overrides):
    """``--set KEY=VALUE`` values go through the same limits as the file."""
    try:
        specc.load(BASE, overrides=[f"{k}={v}" for k, v in overrides])
    except SpecError as err:
        assert err.issues and all(i.message for i in err.issues)
