"""Property test: mutated specs only ever raise SpecError (never another exception)."""

from __future__ import annotations

import copy

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


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


@settings(max_examples=150, deadline=None)
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
