"""Property tests over the command line: whatever a user hands specc, it answers with exit code
0 or 2 (never 1, never a traceback), within a time bound and under a memory bound.

Inputs fuzzed: the ``train:`` section (in the file and through ``--set``); node, input and spec
names (also: nothing is written outside the working folder, and a built module has exactly the
weights its graph declares); mutated graph specs (those that validate must build and
export); the files of a run folder (checkpoint JSON and weights,
``spec.resolved.yaml``, ``metrics.csv``, ``data.json``, ``split.json``, links out of the folder;
read-only commands leave the folder unchanged); the specc metadata and the input declaration
inside an ``.onnx`` file; input files (``.npy``, ``.npz``, ``.csv``, ``.png``) for ``predict``,
``run`` and as datasets; option values and output paths.

The CLI runs in-process (click's ``CliRunner``) for speed, each call under an address-space
limit (the current size + 4 GiB) and an alarm (60 s): an explosion or a hang fails the test
instead of taking the machine down. A fixed list of hostile files (deep JSON, alias bombs,
python tags, an npy header claiming 10^15 elements, a zip bomb, an .onnx input of 10^15
elements, devices) runs in a subprocess under ``RLIMIT_AS`` = 4 GiB and a 120 s timeout. The
bounds guard against hangs and blowups; they are not performance assertions. The fast suite
runs a few dozen derandomized examples per property; ``-m slow`` runs many more.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import keyword
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import traceback
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from specc.cli import main

LIMIT_S = 60  # per CLI call: a hang guard, not a performance bound
LIMIT_AS = 4 << 30  # bytes of address space a call may add (in-process) or use (subprocess)


def _fuzz(n: int) -> settings:
    # no explain phase: it traces every line, which makes a big input look like a hang
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much])


SLOW = 400  # examples per property under -m slow (the fast suite runs a few dozen)


# -- running the CLI under bounds ---------------------------------------------------------------


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` can turn it into exit 2."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang(f"a specc command ran for more than {LIMIT_S} s")


def _vm_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def bounded() -> Iterator[None]:
    """At most LIMIT_AS more bytes of address space and LIMIT_S seconds for the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _vm_bytes() + LIMIT_AS
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    old = signal.signal(signal.SIGALRM, _on_alarm)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.alarm(LIMIT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:  # contextlib.chdir is Python 3.11+
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def _torch_state() -> Iterator[None]:
    """Undo process-wide torch settings a command may change (deterministic mode, threads)."""
    import torch

    det, threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(det)
        torch.set_num_threads(threads)


def cli(*args: Any, cwd: Path | None = None) -> Result:
    """Run ``specc ARGS`` in-process under the bounds and assert it exits 0 or 2."""
    argv = [str(a) for a in args]
    env = {"SPECC_DEBUG": None, "COLUMNS": "100"}
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(_chdir(cwd))
        stack.enter_context(_torch_state())
        stack.enter_context(bounded())
        res = CliRunner().invoke(main, argv, env=env, catch_exceptions=True)
    assert_clean(res, argv)
    with contextlib.suppress(InvalidArgument):  # outside a property (a fixture): no statistics
        event(f"{argv[0]} exit {res.exit_code}")
    return res


def assert_clean(res: Result, argv: list[str]) -> None:
    tb = ""
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        tb = "".join(traceback.format_exception(res.exception))
    text = res.output
    assert res.exit_code in (0, 2) and not tb and "Traceback (most recent call last)" not in text, (
        f"specc {' '.join(a[:200] for a in argv)} exited {res.exit_code}:\n{text[-4000:]}\n{tb}")


# -- hostile values, texts and mutations --------------------------------------------------------


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


HOSTILE_TEXTS = [
    "", "\x00", "\n\n\n", "null", "[]", "{}", '"x"', "-1", "NaN", "1e999", "9" * 5000,
    "[" * 5000 + "]" * 5000, '{"a": ' * 3000 + "1" + "}" * 3000, "- " * 3000 + "x",
    "!!python/object/apply:os.system ['echo pwned']", "!!int abc", "!!bool maybe", '!!float ""',
    "a: 010\nb: 1:30\n", "a: &a {}\nb: {<<: *a}\n", alias_bomb(), "[/x] [bold]markup[/]",
    "x" * 200_000, "\xff\xfe\x00binary", "1,2\n3", "a,b,c\n1,2\n", ",,,,\n,,,\n",
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**32, 2**63, 2**64, 10**12, 10**300]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["[/x]", "../..", "/tmp", "1e3", "full", ".inf", "auto", "none", "cpu",
                     "s.rng.torch", "__tensor__", "__ndarray__", "\x00", "x" * 300]),
)
EDGES = st.sampled_from([  # boundary values of numbers and seeds
    -1, 0, 2**31, 2**32, 2**63, 2**64, 2**70, 10**12, -(2**63) - 1, float("inf"), float("-inf"),
    float("nan"), 1e308, 1e-320, -0.0, True, False, "1e3", "0x10", "", None, [], {}])
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)


def tree_paths(obj: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from tree_paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from tree_paths(v, prefix + (i,))


def _get(tree: Any, path: tuple) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def mutate_tree(data: st.DataObject, tree: Any, rounds: int = 3) -> Any:
    """``tree`` (parsed JSON/YAML) with 1..rounds random deletions, replacements, renames,
    duplications and additions."""
    tree = copy.deepcopy(tree)
    for _ in range(data.draw(st.integers(1, rounds))):
        paths = list(tree_paths(tree))
        path = data.draw(st.sampled_from(paths))
        op = data.draw(st.sampled_from(["set", "set", "delete", "rename", "dup", "add"]))
        if not path:
            if op in ("set", "delete"):
                tree = data.draw(values)
            continue
        parent = tree
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        if op == "set":
            parent[key] = data.draw(st.one_of(scalars, scalars, values))
        elif op == "delete":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=8))] = parent.pop(key)
        elif op == "dup" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif op == "add" and isinstance(parent[key], dict):
            parent[key][data.draw(st.text(max_size=8))] = data.draw(values)
    return tree


def mutate_bytes(data: st.DataObject, blob: bytes) -> bytes:
    """``blob`` truncated, with bytes inserted or overwritten, or replaced by a hostile text."""
    op = data.draw(st.sampled_from(["truncate", "insert", "overwrite", "replace"]))
    if op == "replace" or not blob:
        return data.draw(st.sampled_from(HOSTILE_TEXTS)).encode("utf-8", "surrogateescape")
    pos = data.draw(st.integers(0, len(blob)))
    if op == "truncate":
        return blob[:pos]
    junk = data.draw(st.one_of(st.binary(min_size=1, max_size=16),
                               st.sampled_from([b"\x00", b"[", b"{", b"\n", b",", b"9" * 40])))
    return blob[:pos] + junk + blob[pos + (len(junk) if op == "overwrite" else 0):]


def _dump_json(tree: Any) -> str:
    try:
        return json.dumps(tree)
    except ValueError:  # an int of more than 4300 digits
        return json.dumps(str(tree))


def _dump_yaml(tree: Any) -> str:
    try:
        return yaml.safe_dump(tree, sort_keys=False)
    except (ValueError, yaml.YAMLError):
        return _dump_json(tree)


# -- a tiny trained run and its exported model, shared by the properties ------------------------

SPEC = """\
specc: 1
name: iris_fuzz
labels: [setosa, versicolor, virginica]
inputs: {x: [4]}
layers:
  - dense: {units: 8, activation: relu}
  - dense: {units: 3, activation: softmax}
train:
  data: {dataset: iris, split: {val: 0.2, seed: 0}, scale: standard}
  loss: cross_entropy
  optimizer: {adam: {lr: 1.0e-2}}
  epochs: 2
  batch_size: 32
  metrics: [accuracy]
"""
ROW = "5.1,3.5,1.4,0.2\n"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A trained two-epoch iris run, its exported .onnx and a one-row input file."""
    root = tmp_path_factory.mktemp("fuzz_base")
    (root / "iris.yaml").write_text(SPEC)
    (root / "row.csv").write_text(ROW)
    for argv in (["train", root / "iris.yaml", "--out", root / "run", "--quiet"],
                 ["export", root / "run", "-o", root / "model.onnx"]):
        res = cli(*argv)
        assert res.exit_code == 0, res.output
    assert (root / "run" / "checkpoints" / "best.json").is_file()
    return {"root": root, "spec": root / "iris.yaml", "run": root / "run",
            "onnx": root / "model.onnx", "row": root / "row.csv"}


# -- 1. the train section -------------------------------------------------------------------------

TRAIN = yaml.safe_load(SPEC)["train"] | {
    "seed": 0, "checkpoint": {"every": 1, "best": True}, "clip": {"norm": 1.0},
    "early_stopping": {"monitor": "val_loss", "patience": 2}, "schedule": "cosine"}
TRAIN_KEYS = ["regime", "target", "losses", "deterministic", "ridge", "epochs", "batch_size",
              "seed", "data.view", "data.augment", "data.split.test", "data.split.last",
              "data.split.seed", "data.scale", "optimizer.sgd", "schedule.step", "clip.value"]


def _check_train_section(data: st.DataObject, base: dict[str, Path]) -> None:
    spec = yaml.safe_load(SPEC)
    how = data.draw(st.sampled_from(["leaf", "leaf", "tree", "none"]))
    if how == "tree":
        spec["train"] = mutate_tree(data, TRAIN)
    else:  # one value at its boundary: the likeliest to pass validation and break later
        spec["train"] = copy.deepcopy(TRAIN)
        if how == "leaf":
            leaves = [p for p in tree_paths(TRAIN) if p and not isinstance(
                _get(TRAIN, p), dict | list)] + [("seed",), ("data", "split", "seed")]
            path = data.draw(st.sampled_from(leaves))
            _get(spec["train"], path[:-1])[path[-1]] = data.draw(st.one_of(EDGES, scalars))
    overrides: list[str] = []
    for _ in range(data.draw(st.integers(0, 2))):
        key = data.draw(st.sampled_from(TRAIN_KEYS))
        value = data.draw(st.one_of(st.sampled_from(HOSTILE_TEXTS[:20]), st.text(max_size=10),
                                    scalars.map(_dump_json)))
        overrides += ["--set", f"train.{key}={value}"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(_dump_yaml(spec))
        res = cli("validate", path, *overrides)
        if res.exit_code == 0:  # a valid train section must also train (one epoch)
            cli("train", path, *overrides, "--epochs", "1", "--out", Path(tmp) / "run",
                "--quiet", cwd=Path(tmp))


@_fuzz(60)
@given(data=st.data())
def test_fuzzed_train_section_exits_0_or_2(data, base):
    _check_train_section(data, base)


@pytest.mark.slow
@_fuzz(SLOW)
@given(data=st.data())
def test_fuzzed_train_section_exits_0_or_2_many(data, base):
    _check_train_section(data, base)


# -- 2. node, input and spec names ----------------------------------------------------------------

PLAIN_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
SPECIAL_NAMES = st.sampled_from(keyword.kwlist + [
    "self", "None", "True", "forward", "training", "input_names", "output_names", "aux_loss",
    "h_relu", "h_leaky_relu", "a_elu", "a_gelu", "dense_1", "dense_2", "x", "__init__",
    "__class__", "_modules", "graph", "code", "torch", "T" * 300, "print", "type"])
ODD_NAMES = st.one_of(st.sampled_from(["a.b", "a-b", "..", "1abc", "", "ä", "名前", "[/x]", "a b",
                                       "\x00", "a\nb"]), st.text(max_size=8))
NAMES = st.one_of(PLAIN_NAMES, PLAIN_NAMES, PLAIN_NAMES, PLAIN_NAMES, SPECIAL_NAMES,
                  SPECIAL_NAMES, ODD_NAMES)
SPEC_NAMES = st.one_of(PLAIN_NAMES, PLAIN_NAMES, SPECIAL_NAMES, ODD_NAMES, st.sampled_from([
    "../..", "../escape", "/tmp/specc_fuzz_abs", "a/b", ".", "..", "\x00", "a\nb", "n" * 5000,
    "[/x]", "CON", "-rf", "~", "$HOME"]))
ACTIVATIONS = st.sampled_from(["relu", "leaky_relu", "elu", "tanh", "gelu", None])


def _named_spec(data: st.DataObject) -> dict[str, Any]:
    # mostly distinct plain names with one special (keyword, reserved, colliding) or odd name,
    # so that most specs get past validation to code generation, export and training
    names = [f"{data.draw(PLAIN_NAMES)}{i}" for i in range(4)]
    mode = data.draw(st.sampled_from(["special", "special", "odd", "plain", "any"]))
    if mode == "any":
        names = [data.draw(SPEC_NAMES)] + [data.draw(NAMES) for _ in range(3)]
    elif mode != "plain":
        slot = data.draw(st.integers(0, 3))
        names[slot] = data.draw(SPECIAL_NAMES if mode == "special" else
                                SPEC_NAMES if slot == 0 else ODD_NAMES)
    name, inp, a, b = names
    if data.draw(st.booleans()):  # collide with a fused activation's module name
        b = f"{a}_{data.draw(st.sampled_from(['relu', 'leaky_relu', 'elu', 'gelu']))}"
    act = data.draw(ACTIVATIONS)
    spec: dict[str, Any] = {"specc": 1, "name": name, "labels": ["a", "b", "c"],
                            "inputs": {inp: [4]}}
    if data.draw(st.booleans()):
        spec["nodes"] = {a: {"op": "dense", "in": inp, "units": 8, "activation": act},
                         b: {"op": "dense", "in": a, "units": 3, "activation": "softmax"}}
        spec["outputs"] = [b]
    else:
        spec["layers"] = [{"dense": {"units": 8, "activation": act, "name": a}},
                          {"dense": {"units": 3, "activation": "softmax", "name": b,
                                     "in": data.draw(st.sampled_from([a, inp, [a]]))}}]
    spec["train"] = copy.deepcopy(TRAIN) | {"epochs": 1}
    return spec


def _check_names(data: st.DataObject, base: dict[str, Path]) -> None:
    spec = _named_spec(data)
    command = data.draw(st.sampled_from(["build", "export", "train"]))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        work = root / "a" / "b"
        work.mkdir(parents=True)
        path = work / "spec.json"
        path.write_text(json.dumps(spec))
        res = cli("validate", path)
        if res.exit_code != 0:
            return
        if command == "build":
            res = cli("build", path, "--out", work / "w.safetensors", cwd=work)
            if res.exit_code == 0:
                _check_module_counts(path)
        elif command == "export":
            cli("export", path, cwd=work)
        else:
            cli("train", path, "--quiet", cwd=work)
        # nothing is written outside the working folder, whatever the names
        assert sorted(p.name for p in root.iterdir()) == ["a"], list(root.iterdir())
        assert sorted(p.name for p in (root / "a").iterdir()) == ["b"]


def _check_module_counts(path: Path) -> None:
    """A built module has exactly the weights the graph declares (no name collision replaced
    a module, e.g. node ``h_leaky_relu`` and node ``h``'s fused leaky_relu)."""
    import specc
    from specc.backends.torch import count_torch_params

    spec = specc.load(path)
    graph = spec.network()
    assert count_torch_params(specc.build(spec)) == graph.param_counts


@_fuzz(60)
@given(data=st.data())
def test_fuzzed_names_exit_0_or_2_and_stay_in_place(data, base):
    _check_names(data, base)


@pytest.mark.slow
@_fuzz(SLOW)
@given(data=st.data())
def test_fuzzed_names_exit_0_or_2_and_stay_in_place_many(data, base):
    _check_names(data, base)


# -- 2b. specs that validate must build and export ------------------------------------------------

NET = {
    "specc": 1, "name": "net", "params": {"f": 4},
    "inputs": {"img": [2, 8, 8], "vec": [6]},
    "blocks": {"pair": {"params": {"f": 4}, "layers": [
        {"conv2d": {"filters": "$f", "kernel": 3, "padding": "same", "activation": "relu"}},
        {"batch_norm": {}}]}},
    "nodes": {
        "c": {"op": "conv2d", "in": "img", "filters": 4, "kernel": 3, "activation": "relu"},
        "p": {"op": "pair", "in": "c", "f": "$f", "repeat": 2},
        "m": {"op": "max_pool2d", "in": "p", "size": 2},
        "fl": {"op": "flatten", "in": "m"},
        "d": {"op": "dense", "in": "fl", "units": 6, "activation": "tanh"},
        "s": {"op": "add", "in": ["d", "vec"]},
        "j": {"op": "concat", "in": ["s", "vec"]},
        "r": {"op": "dropout", "in": "j", "rate": 0.5},
        "out": {"op": "dense", "in": "r", "units": 3, "activation": "softmax"}},
    "outputs": ["out"],
}
SMALL = st.one_of(st.integers(-2, 12), st.sampled_from([
    "relu", "leaky_relu", "softmax", "sigmoid", "same", "valid", "$f", "img", "vec", "c", "d",
    "out", "dense", "conv2d", "flatten", "add", "concat", "lstm", "reshape", "permute",
    "upsampling2d", "zero_padding2d", "global_avg_pool2d", [2, 2], [1, 2, 3], None, True, 0.5]))
NODE_KEYS = ["units", "filters", "kernel", "strides", "padding", "activation", "rate", "axis",
             "size", "share", "trainable", "repeat", "name", "dims", "shape", "return_sequences"]


def _check_spec_builds(data: st.DataObject, base: dict[str, Path]) -> None:
    spec = copy.deepcopy(NET)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["set", "set", "op", "in", "add_key", "drop", "outputs"]))
        node = data.draw(st.sampled_from(sorted(spec["nodes"]))) if spec["nodes"] else None
        if node is None:
            break
        body = spec["nodes"][node]
        if op == "set":
            keys = [k for k in body if k not in ("op", "in")] or ["units"]
            body[data.draw(st.sampled_from(keys))] = data.draw(SMALL)
        elif op == "op":
            body["op"] = data.draw(st.sampled_from([
                "dense", "conv2d", "flatten", "add", "concat", "multiply", "subtract",
                "max_pool2d", "batch_norm", "layer_norm", "dropout", "reshape", "permute",
                "upsampling2d", "zero_padding2d", "global_avg_pool2d", "relu", "pair", "lstm"]))
        elif op == "in":
            names = sorted(spec["nodes"]) + ["img", "vec"]
            body["in"] = data.draw(st.one_of(st.sampled_from(names),
                                             st.lists(st.sampled_from(names), max_size=3)))
        elif op == "add_key":
            body[data.draw(st.sampled_from(NODE_KEYS))] = data.draw(SMALL)
        elif op == "drop":
            del spec["nodes"][node]
        else:
            spec["outputs"] = data.draw(st.lists(st.sampled_from(sorted(spec["nodes"]) +
                                                                 ["img"]), max_size=3))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.json"
        path.write_text(json.dumps(spec))
        if cli("validate", path).exit_code != 0:
            return
        if cli("build", path, "--out", Path(tmp) / "w.safetensors", cwd=Path(tmp)).exit_code:
            return
        _check_module_counts(path)
        cli("export", path, "-o", Path(tmp) / "m.onnx", cwd=Path(tmp))


@_fuzz(40)
@given(data=st.data())
def test_specs_that_validate_build_and_export(data, base):
    _check_spec_builds(data, base)


@pytest.mark.slow
@_fuzz(SLOW)
@given(data=st.data())
def test_specs_that_validate_build_and_export_many(data, base):
    _check_spec_builds(data, base)


# -- 3. run-folder files ---------------------------------------------------------------------------

RUN_FILES = ["checkpoints/best.json", "checkpoints/last.json", "spec.resolved.yaml",
             "metrics.csv", "data.json", "split.json", "checkpoints/best.safetensors",
             "checkpoints/last.state.safetensors", "summary.txt"]
RUN_COMMANDS = ["evaluate", "predict", "export", "resume", "plot"]


def tamper_file(data: st.DataObject, path: Path) -> None:
    """Rewrite ``path``: its parsed tree mutated (JSON/YAML) or its bytes mutated."""
    blob = path.read_bytes()
    if path.suffix in (".json", ".yaml") and data.draw(st.booleans()):
        text = blob.decode()
        if path.suffix == ".json":
            path.write_text(_dump_json(mutate_tree(data, json.loads(text))))
        else:
            path.write_text(_dump_yaml(mutate_tree(data, yaml.safe_load(text))))
        return
    path.write_bytes(mutate_bytes(data, blob))


def run_command(name: str, run: Path, out: Path, row: Path) -> list[Any]:
    return {"evaluate": ["evaluate", run],
            "predict": ["predict", run, "--input", row],
            "export": ["export", run, "-o", out / "m.onnx"],
            "resume": ["train", run, "--resume", "--epochs", "3", "--quiet"],
            "plot": ["plot", run, "-o", out / "p.png"]}[name]


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder``: a file's bytes, a link's target."""
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = p.read_bytes()
    return out


def _check_run_folder(data: st.DataObject, base: dict[str, Path]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(base["run"], run)
        outside = Path(tmp) / "outside.txt"
        outside.write_text("not specc's")
        for name in data.draw(st.lists(st.sampled_from(RUN_FILES), min_size=1, max_size=2,
                                       unique=True)):
            if data.draw(st.integers(0, 7)) == 0:  # a link out of the run folder
                (run / name).unlink()
                (run / name).symlink_to(outside)
            else:
                tamper_file(data, run / name)
        command = data.draw(st.sampled_from(RUN_COMMANDS))
        before = _snapshot(run)
        cli(*run_command(command, run, Path(tmp), base["row"]), cwd=Path(tmp))
        assert outside.read_text() == "not specc's"
        if command != "resume":  # read-only commands never write into a run folder
            after = _snapshot(run)
            changed = sorted(k for k in before.keys() | after.keys()
                             if before.get(k) != after.get(k))
            assert not changed, f"specc {command} changed {changed} in the run folder"


@_fuzz(50)
@given(data=st.data())
def test_tampered_run_folder_exits_0_or_2(data, base):
    _check_run_folder(data, base)


@pytest.mark.slow
@_fuzz(SLOW)
@given(data=st.data())
def test_tampered_run_folder_exits_0_or_2_many(data, base):
    _check_run_folder(data, base)


# -- 4. specc metadata inside an .onnx file --------------------------------------------------------


def tamper_metadata(data: st.DataObject, src: Path, dst: Path) -> None:
    import onnx

    model = onnx.load(str(src))
    props = model.metadata_props
    for _ in range(data.draw(st.integers(1, 2))):
        keys = [p.key for p in props]
        key = data.draw(st.sampled_from(keys + ["specc.unknown"]))
        op = data.draw(st.sampled_from(["mutate", "mutate", "text", "delete", "duplicate"]))
        entry = next((p for p in props if p.key == key), None)
        if entry is None:
            entry = props.add()
            entry.key, entry.value = key, "{}"
        if op == "delete":
            props.remove(entry)
        elif op == "duplicate":
            extra = props.add()
            extra.key, extra.value = key, data.draw(st.sampled_from(HOSTILE_TEXTS[:22]))
        elif op == "text":
            entry.value = mutate_bytes(data, entry.value.encode()).decode("utf-8", "replace")
        else:
            try:
                tree = json.loads(entry.value)
                entry.value = _dump_json(mutate_tree(data, tree))
            except (ValueError, RecursionError):  # not JSON, or nested too deep to walk
                entry.value = _dump_json(mutate_tree(data, entry.value))
    if data.draw(st.integers(0, 5)) == 0:  # the graph's own input declaration
        dims = model.graph.input[0].type.tensor_type.shape.dim
        dim = dims[data.draw(st.integers(0, len(dims) - 1))]
        size = data.draw(st.sampled_from([0, 1, 3, 5, 10**5, 10**12, 2**62, -1, None]))
        if size is None:
            dim.dim_param = data.draw(st.sampled_from(["batch", "n", "", "[/x]"]))
        else:
            dim.dim_value = size
    onnx.save(model, str(dst))


def _check_onnx_metadata(data: st.DataObject, base: dict[str, Path]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "m.onnx"
        tamper_metadata(data, base["onnx"], model)
        extra = data.draw(st.sampled_from([[], ["--json"], ["--preprocess"], ["--no-preprocess"]]))
        cli("run", model, "--input", base["row"], *extra, cwd=Path(tmp))


@_fuzz(60)
@given(data=st.data())
def test_tampered_onnx_metadata_exits_0_or_2(data, base):
    _check_onnx_metadata(data, base)


@pytest.mark.slow
@_fuzz(SLOW)
@given(data=st.data())
def test_tampered_onnx_metadata_exits_0_or_2_many(data, base):
    _check_onnx_metadata(data, base)


# -- 5. input files (.npy, .npz, .csv) -------------------------------------------------------------

DTYPES = ["float32", "float64", "float16", "int64", "int8", "uint8", "bool", "complex64", "<U3",
          "object"]
odd_numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                        st.sampled_from([0.0, -1.0, 1e30, 3e8, 2.0**62, -0.0, 1e-45]))
plain_numbers = st.floats(-10, 10, width=32)
numbers = st.one_of(plain_numbers, plain_numbers, plain_numbers, odd_numbers)


@st.composite
def arrays(draw: Any) -> np.ndarray:
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=3)))
    if draw(st.integers(0, 3)):  # mostly shapes the iris model can take, or nearly
        shape = draw(st.sampled_from([(1, 4), (3, 4), (4,), (0, 4), (1, 4, 1), (2, 5), (1, 1)]))
    dtype = draw(st.sampled_from(DTYPES)) if draw(st.booleans()) else "float32"
    n = int(np.prod(shape))
    flat = np.array(draw(st.lists(numbers, min_size=n, max_size=n)), dtype=np.float64)
    if dtype == "object":
        out = np.empty(n, dtype=object)
        out[:] = [float(v) for v in flat]
        return out.reshape(shape)
    with np.errstate(all="ignore"):
        return flat.astype(dtype).reshape(shape)


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=a.dtype == object)
    return buf.getvalue()


@st.composite
def input_files(draw: Any) -> tuple[str, bytes]:
    """(suffix, bytes) of an input file: a real array file, possibly corrupted afterwards."""
    fmt = draw(st.sampled_from(["npy", "npz", "csv", "npy", "npz", "csv", "png"]))
    if fmt == "png":
        from PIL import Image

        mode = draw(st.sampled_from(["L", "RGB", "RGBA", "1", "I;16", "P"]))
        size = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
        buf = io.BytesIO()
        Image.new(mode, size).save(buf, format="PNG")
        blob = buf.getvalue()
        if draw(st.booleans()):  # an IHDR claiming a huge image
            w, h = draw(st.sampled_from([(100_000, 100_000), (1, 10**9), (0, 0), (2**31 - 1, 1)]))
            ihdr = blob[12:29]
            new = ihdr[:4] + struct.pack(">2L", w, h) + ihdr[12:]
            crc = struct.pack(">L", zlib.crc32(new) & 0xFFFFFFFF)
            blob = blob[:12] + new + crc + blob[33:]
    elif fmt == "npy":
        blob = npy_bytes(draw(arrays()))
        if draw(st.booleans()):  # a header claiming another shape
            shape = draw(st.sampled_from(["(10**15,)", "(1000000000000000,)", "(0,)", "()",
                                          "(-1, 4)", "(1, 4, 99999999999)", "(2**70,)"]))
            blob = blob.replace(blob[blob.index(b"'shape': ") + 9:blob.index(b"), }") + 1],
                                shape.encode(), 1)
    elif fmt == "npz":
        buf = io.BytesIO()
        named = draw(st.dictionaries(st.sampled_from(["x", "y", "arr_0", "data", ""]), arrays(),
                                     max_size=3))
        with zipfile.ZipFile(buf, "w") as zf:
            for key, a in named.items():
                zf.writestr(f"{key}.npy", npy_bytes(a))
            if draw(st.booleans()):
                zf.writestr("notes.txt", "not an array")
        blob = buf.getvalue()
    else:
        odd_cell = st.sampled_from(["", "nan", "x", "1e30", "3e8", '"a,b"', "\x00", "setosa",
                                    "9" * 400, "inf", "-0", "1_000", "0x10", " 1 "])
        cell = st.one_of(numbers.map(repr), numbers.map(repr), numbers.map(repr), odd_cell)
        width = draw(st.sampled_from([4, 4, 4, 5, 3, 1, 0]))
        rows = draw(st.lists(st.lists(cell, min_size=width, max_size=width), max_size=5))
        header = ["a,b,c,d"] if draw(st.booleans()) else []
        text = "\n".join(header + [",".join(r) for r in rows])
        if draw(st.integers(0, 7)) == 0 and rows:
            text += "," + "7" * 200_000
        blob = text.encode()
    return fmt, blob


def _check_input_file(data: st.DataObject, base: dict[str, Path]) -> None:
    fmt, blob = data.draw(input_files())
    if data.draw(st.integers(0, 3)) == 0:
        blob = mutate_bytes(data, blob)
    command = data.draw(st.sampled_from(["run", "predict", "train"]))
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / f"input.{fmt}"
        f.write_bytes(blob)
        if command == "run":
            cli("run", base["onnx"], "--input", f, cwd=Path(tmp))
        elif command == "predict":
            cli("predict", base["run"], "--input", f, cwd=Path(tmp))
        else:  # the same file as a dataset
            spec = yaml.safe_load(SPEC)
            if fmt == "png":  # an image folder of two classes, one image each
                for label in ("a", "b"):
                    (Path(tmp) / "images" / label).mkdir(parents=True)
                    shutil.copy(f, Path(tmp) / "images" / label / "0.png")
                size = data.draw(st.sampled_from([None, 2, 0, -1, 100_000, [2, 2]]))
                source = {"dataset": "image_folder", "path": str(Path(tmp) / "images")} | (
                    {} if size is None else {"size": size})
            elif fmt == "csv":
                source = {"dataset": "csv", "path": str(f), "label": -1}
            else:
                source = {"dataset": "npy", "path": str(f)}
            spec["train"]["data"] = source | {"split": {"val": 0.5, "seed": 0}}
            spec["train"]["epochs"] = 1
            path = Path(tmp) / "spec.yaml"
            path.write_text(yaml.safe_dump(spec))
            cli("train", path, "--out", Path(tmp) / "run", "--quiet", cwd=Path(tmp))


@_fuzz(80)
@given(data=st.data())
def test_fuzzed_input_files_exit_0_or_2(data, base):
    _check_input_file(data, base)


@pytest.mark.slow
@_fuzz(SLOW)
@given(data=st.data())
def test_fuzzed_input_files_exit_0_or_2_many(data, base):
    _check_input_file(data, base)


# -- 6. option values and output paths -----------------------------------------------------------

# No NUL: a real command line cannot carry one (click itself refuses it in a path option); no
# lone surrogates but those of bytes that are not UTF-8 (what Python makes of such an argv).
# Output paths a user names are written where named (``-o ../x.png`` is the user's choice).
OPTION_VALUES = st.one_of(st.sampled_from([
    "0", "-1", "1", "2", "5000", "1e3", "99999999999999999999", "abc", "", " ", "nan",
    ".", "..", "a/b/c.png", "missing/p.png", "p.exe", "p.svg", "p.pdf", "p.PNG", "p",
    "x" * 300 + ".png", "notrun", "notrun/keep.txt", "row.csv", "m.onnx", "run", "run/", "[/x]",
    "-", "~", "*", "[", "?" * 100, "dcn", "../../specs/dcn", "specs/../dcn", "iris.yaml",
    "out.npy", "out.npz", "out.txt", "cpu", "cuda", "auto", "CUDAExecutionProvider",
    "val", "test", "train", "best", "last",
    "\udcff.png", "\udcfe.onnx", "\udcfd"]),
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
            max_size=6))
OPTION_TEMPLATES = [
    ["train", "iris.yaml", "--out", "new_run", "--quiet", "--epochs", "1", "--threads", "V"],
    ["train", "iris.yaml", "--out", "new_run", "--quiet", "--epochs", "1", "--seed", "V"],
    ["train", "iris.yaml", "--out", "V", "--quiet", "--epochs", "1"],
    ["train", "iris.yaml", "--out", "V", "--quiet", "--epochs", "1", "--overwrite"],
    ["run", "m.onnx", "--input", "row.csv", "--batch-size", "V"],
    ["run", "m.onnx", "--input", "row.csv", "--save", "V"],
    ["run", "m.onnx", "--input", "row.csv", "--provider", "V"],
    ["run", "V", "--input", "row.csv"],
    ["plot", "run", "-o", "V"], ["export", "run", "-o", "V"],
    ["export", "run", "-o", "new.onnx", "--opset", "V"],
    ["schema", "-o", "V"], ["show", "V"], ["list", "V"], ["layers", "V"],
    ["layers", "describe", "V"], ["build", "iris.yaml", "--out", "V"],
    ["evaluate", "run", "--split", "V"], ["evaluate", "V"], ["predict", "run", "--input", "V"],
    ["validate", "V"], ["predict", "run", "--input", "row.csv", "--checkpoint", "V"],
]


def _check_options(data: st.DataObject, base: dict[str, Path]) -> None:
    template = data.draw(st.sampled_from(OPTION_TEMPLATES))
    value = data.draw(OPTION_VALUES)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "a" / "b"
        work.mkdir(parents=True)
        shutil.copytree(base["run"], work / "run")
        for name in ("spec", "row", "onnx"):
            shutil.copy(base[name], work / {"spec": "iris.yaml", "row": "row.csv",
                                            "onnx": "m.onnx"}[name])
        (work / "notrun").mkdir()
        (work / "notrun" / "keep.txt").write_text("a user's file")
        cli(*[value if a == "V" else a for a in template], cwd=work)
        if template[0] == "train":  # --out never deletes or replaces a folder not a run
            assert (work / "notrun" / "keep.txt").read_text() == "a user's file"
        if ".." not in value:  # nothing lands outside the working folder unless named so
            assert [p.name for p in Path(tmp).iterdir()] == ["a"]
            assert [p.name for p in (Path(tmp) / "a").iterdir()] == ["b"]


@_fuzz(40)
@given(data=st.data())
def test_fuzzed_options_exit_0_or_2(data, base):
    _check_options(data, base)


@pytest.mark.slow
@_fuzz(SLOW)
@given(data=st.data())
def test_fuzzed_options_exit_0_or_2_many(data, base):
    _check_options(data, base)


LONG = "x" * 300  # longer than a file name may be (255 bytes)


@pytest.mark.parametrize("template", [
    ["plot", "run", "-o", LONG + ".png"], ["export", "run", "-o", LONG + ".onnx"],
    ["schema", "-o", LONG + ".json"], ["build", "iris.yaml", "--out", LONG + ".safetensors"],
    ["run", "m.onnx", "--input", "row.csv", "--save", LONG + ".npy"],
    ["train", "iris.yaml", "--epochs", "1", "--quiet", "--out", LONG],
    ["validate", LONG + ".yaml"], ["train", LONG + ".yaml"], ["evaluate", LONG],
    ["predict", "run", "--input", LONG + ".csv"], ["run", "m.onnx", "--input", LONG + ".csv"],
    ["run", LONG + ".onnx", "--input", "row.csv"], ["validate", "loop.yaml"],
    ["run", "m.onnx", "--input", "loop.csv"], ["evaluate", "loop"],
    ["schema", "-o", "loop.json"],
], ids=lambda argv: " ".join(a[:12] for a in argv))
def test_a_path_the_file_system_refuses_exits_2(base, tmp_path, template):
    """Found by the options property: a 300-character file name (ENAMETOOLONG) reached
    Path.exists()/is_symlink() unguarded in several commands; a link loop (ELOOP) likewise."""
    shutil.copytree(base["run"], tmp_path / "run")
    for name in ("spec", "row", "onnx"):
        shutil.copy(base[name], tmp_path / {"spec": "iris.yaml", "row": "row.csv",
                                            "onnx": "m.onnx"}[name])
    for loop in ("loop.yaml", "loop.csv", "loop", "loop.json"):
        (tmp_path / loop).symlink_to(loop)
    res = cli(*template, cwd=tmp_path)
    assert res.exit_code == 2, res.output
    assert "File name too long" in res.output or "loop" in res.output, res.output


def _del_div(pre: dict) -> None:
    del pre["div"]


@pytest.mark.parametrize(("edit", "command"), [
    (lambda pre: pre.update(shift=""), "predict"),  # ValueError, exit 1 (since fixed)
    (_del_div, "export"),  # KeyError 'div' while putting the preprocessing in the graph
    (_del_div, "predict"), (lambda pre: pre.update(div={"a": 1}), "export"),
], ids=["shift-empty-predict", "no-div-export", "no-div-predict", "div-dict-export"])
def test_tampered_preprocessing_found_by_fuzzing_exits_2(base, tmp_path, edit, command):
    run = tmp_path / "run"
    shutil.copytree(base["run"], run)
    doc = json.loads((run / "data.json").read_text())
    edit(doc["preprocess"]["x"])
    (run / "data.json").write_text(json.dumps(doc))
    res = cli(*run_command(command, run, tmp_path, base["row"]), cwd=tmp_path)
    assert res.exit_code == 2 and "data.json" in res.output and "malformed" in res.output, (
        res.output)


def test_file_names_that_are_not_utf8_work(base, tmp_path):
    """Found by the options property: onnxruntime opens UTF-8 paths only (export's parity check
    and ``run`` failed on a name with byte 0xff), and printing the name could fail."""
    shutil.copytree(base["run"], tmp_path / "run")
    name = "\udcff"  # how Python decodes the byte 0xff of a command-line argument
    for argv in (["export", "run", "-o", f"{name}.onnx"], ["run", f"{name}.onnx", "--input",
                 base["row"], "--save", f"{name}.npy"], ["plot", "run", "-o", f"{name}.png"]):
        res = cli(*argv, cwd=tmp_path)
        assert res.exit_code == 0, res.output
    names = {os.fsencode(p.name) for p in tmp_path.iterdir()}
    assert {b"\xff.onnx", b"\xff.npy", b"\xff.png"} <= names


@pytest.mark.parametrize("argv", [
    ["predict", "run", "--input", "~no_such_user_x/a.csv"],
    ["run", "m.onnx", "--input", "~no_such_user_x/a.npy"], ["validate", "~no_such_user_x.yaml"],
], ids=["predict", "run", "validate"])
def test_a_path_of_an_unknown_user_exits_2(base, tmp_path, argv):
    """Found by the options property: ``~name`` for a user that does not exist made pathlib
    raise RuntimeError (exit 1) instead of reporting a missing file."""
    shutil.copytree(base["run"], tmp_path / "run")
    shutil.copy(base["onnx"], tmp_path / "m.onnx")
    res = cli(*argv, cwd=tmp_path)
    assert res.exit_code == 2 and "does not exist" in res.output, res.output


def test_an_empty_losses_table_trains_with_loss(base, tmp_path):
    """Found by the train-section property: ``--set train.losses={}`` beside ``loss:`` passed
    validation (an empty table is no table there) but training used the empty table: no loss,
    AttributeError, exit 1."""
    res = cli("train", base["spec"], "--set", "train.losses={}", "--epochs", "1", "--out",
              tmp_path / "run", "--quiet", cwd=tmp_path)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "run" / "metrics.csv").read_text().count("\n") == 2  # header, epoch 1


@pytest.mark.parametrize("share", [3, 0, 1.5, True, None, [1]])
def test_share_naming_a_number_exits_2(tmp_path, share):
    """Found by the spec property (slow suite): ``share: 0`` reached the 'did you mean' hint as
    an int (AttributeError, exit 1)."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"specc": 1, "name": "s", "inputs": {"x": [4]},
                                "layers": [{"dense": {"units": 4, "share": share}}]}))
    res = cli("validate", path)
    assert res.exit_code == 2 or share is None, res.output


# -- 7. hostile files in a separate process under RLIMIT_AS and a timeout -------------------------

DRIVER = textwrap.dedent("""
    import json, sys, traceback
    from specc.cli import main
    codes = []
    for argv in json.loads(sys.argv[1]):
        print("@@@ case", len(codes), file=sys.stderr, flush=True)
        try:
            main(argv, prog_name="specc")
            codes.append(0)
        except SystemExit as exc:
            codes.append(exc.code if isinstance(exc.code, int) else int(exc.code is not None))
        except BaseException:
            traceback.print_exc()
            codes.append(1)
        sys.stderr.flush()
    print("CODES " + json.dumps(codes))
""")


def bounded_process(argvs: list[list[Any]], cwd: Path, timeout: int = 120) -> list[str]:
    """Run each ``specc ARGV`` one after another in one fresh process whose address space is
    capped at LIMIT_AS; returns a description of every call that did not exit 0 or 2."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))

    argvs = [[str(a) for a in argv] for argv in argvs]
    env = {k: v for k, v in os.environ.items() if k != "SPECC_DEBUG"} | {"SPECC_THREADS": "1"}
    try:
        proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(argvs)], cwd=cwd,
                              env=env, preexec_fn=cap, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else \
            (exc.stderr or "")
        case = err.count("@@@ case") - 1
        raise AssertionError(f"hang: no answer within {timeout} s, in specc "
                             f"{' '.join(argvs[max(case, 0)])}:\n{err[-3000:]}") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("CODES ")]
    outputs = proc.stderr.split("@@@ case ")[1:]
    assert proc.returncode == 0 and lines, (
        f"the driver died (rc {proc.returncode}; a memory blowup?) in specc "
        f"{' '.join(argvs[max(len(outputs) - 1, 0)])}:\n{proc.stderr[-4000:]}")
    codes = json.loads(lines[-1][6:])
    return [f"specc {' '.join(argv)} -> exit {code}:\n{out[-1500:]}"
            for argv, code, out in zip(argvs, codes, outputs, strict=True) if code not in (0, 2)]


def zip_bomb_npz(path: Path, gib: float = 3.5) -> None:
    """An .npz whose one member declares and inflates to ``gib`` GiB of float64 zeros from a
    few MB: repeated deflate blocks of zeros (byte-aligned by full flushes), built without
    ever holding the inflated data."""
    n = int(gib * (1 << 30)) // 8
    header = npy_bytes(np.zeros(0))
    header = header.replace(b"(0,)", f"({n},)".encode().ljust(4), 1)
    pad = (64 - len(header) % 64) % 64
    header = header[:-1] + b" " * pad + b"\n" if pad else header
    chunk_in = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = c.compress(chunk_in) + c.flush(zlib.Z_FULL_FLUSH)
    count = (n * 8) // len(chunk_in)
    stream = first + chunk * count + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    size = len(header) + count * len(chunk_in)
    name = b"x.npy"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, 0, len(stream), size,
                        len(name), 0) + name
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, 0, len(stream),
                          size, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central),
                      len(local) + len(stream), 0)
    path.write_bytes(local + stream + central + end)


def huge_input_onnx(path: Path) -> None:
    """An .onnx model (Identity) whose input declares [batch, 1e5, 1e5, 1e5]."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 10**5, 10**5, 10**5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10**5, 10**5, 10**5])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "huge", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))


def hostile_cases(base: dict[str, Path], tmp: Path) -> list[list[Any]]:
    """One specc command per hostile file, each file in its own copy of the run."""
    import onnx

    cases: list[list[Any]] = []

    def run_with(name: str, rel: str, content: str | bytes, command: str) -> None:
        run = tmp / name
        shutil.copytree(base["run"], run)
        target = run / rel
        target.write_bytes(content.encode() if isinstance(content, str) else content)
        cases.append(run_command(command, run, tmp, base["row"]))

    deep = "[" * 100_000 + "]" * 100_000
    run_with("deep_ckpt", "checkpoints/best.json", '{"state": ' + deep + "}", "evaluate")
    run_with("deep_data", "data.json", deep, "predict")
    run_with("bomb_spec", "spec.resolved.yaml", alias_bomb(), "evaluate")
    run_with("tag_spec", "spec.resolved.yaml",
             "!!python/object/apply:os.system ['touch pwned']\n", "evaluate")
    run_with("list_spec", "spec.resolved.yaml", "[1, 2, 3]\n", "export")
    run_with("big_metrics", "metrics.csv",
             "epoch,step,time,lr,loss\n" + "1,4,0.1,0.01," + "9" * 100_000 + "\n", "resume")
    run_with("bad_plot", "metrics.csv", "epoch,loss\nx,[/x]\n" + "1," * 50_000, "plot")
    run_with("no_state", "checkpoints/last.json", '{"checkpoint": "2:8"}', "resume")
    data_json = json.loads((base["run"] / "data.json").read_text())
    data_json["preprocess"]["x"]["shift"] = ""  # found by the run-folder property
    run_with("bad_shift", "data.json", json.dumps(data_json), "predict")
    data_json["preprocess"]["x"]["shift"], data_json["labels"] = [0.0] * 4, "abc"
    run_with("bad_labels", "data.json", json.dumps(data_json), "evaluate")
    run_with("dangling", "checkpoints/best.json",
             (base["run"] / "checkpoints" / "best.json").read_text().replace(
                 '"epoch": 2', '"epoch": {"__tensor__": "nope"}'), "evaluate")
    npy = tmp / "huge_header.npy"
    blob = npy_bytes(np.zeros((1, 4), np.float32))
    npy.write_bytes(blob.replace(b"'shape': (1, 4)", b"'shape': (250000000000000, 4)", 1))
    cases.append(["predict", base["run"], "--input", npy])
    cases.append(["run", base["onnx"], "--input", npy])
    bomb = tmp / "bomb.npz"
    zip_bomb_npz(bomb)
    cases.append(["run", base["onnx"], "--input", bomb])
    cases.append(["predict", base["run"], "--input", bomb])
    wide = tmp / "wide.csv"
    wide.write_text("5.1,3.5,1.4," + "2" * 200_000 + "\n")
    cases.append(["run", base["onnx"], "--input", wide])
    huge = tmp / "huge.onnx"
    huge_input_onnx(huge)
    cases.append(["run", huge, "--input", base["row"]])
    model = onnx.load(str(base["onnx"]))
    for p in model.metadata_props:
        if p.key == "specc.preprocess":
            p.value = p.value.replace('"shift": [', '"shift": ["x", ', 1)
        if p.key == "specc.inputs":
            p.value = '{"x": {"shape": [null, 100000, 100000, 100000], "dtype": "float32"}}'
    onnx.save(model, str(tmp / "meta.onnx"))
    cases.append(["run", tmp / "meta.onnx", "--input", base["row"]])
    cases.append(["run", base["onnx"], "--input", "/dev/zero"])
    cases.append(["predict", base["run"], "--input", "/dev/urandom"])
    return cases


def test_hostile_files_exit_0_or_2_under_process_bounds(base, tmp_path):
    bad = bounded_process(hostile_cases(base, tmp_path), tmp_path)
    assert not bad, "\n".join(bad)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.slow
@_fuzz(10)
@given(data=st.data())
def test_random_tampering_under_process_bounds(data, base):
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cases: list[list[Any]] = []
        for i in range(6):
            run = tmp / f"run{i}"
            shutil.copytree(base["run"], run)
            tamper_file(data, run / data.draw(st.sampled_from(RUN_FILES)))
            cases.append(run_command(data.draw(st.sampled_from(RUN_COMMANDS)), run, tmp,
                                     base["row"]))
            fmt, blob = data.draw(input_files())
            f = tmp / f"in{i}.{fmt}"
            f.write_bytes(mutate_bytes(data, blob) if data.draw(st.booleans()) else blob)
            cases.append(["run", base["onnx"], "--input", f])
            model = tmp / f"m{i}.onnx"
            tamper_metadata(data, base["onnx"], model)
            cases.append(["run", model, "--input", base["row"]])
        bad = bounded_process(cases, tmp)
        assert not bad, "\n".join(bad)
