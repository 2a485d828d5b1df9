"""The JSON Schema agrees with ``specc validate`` both ways, in a standard validator
(``jsonschema``, the draft the schema declares): every spec that validates is accepted, and
every mistake a schema can express is rejected (``bad_specs.yaml`` gives each verdict)."""

from __future__ import annotations

import pytest
import yaml

import specc
from specc.errors import SpecError
from specc.registry import current
from specc.schema_check import check

from .common import CORPUS, SPECS, doc_examples, patched, schema

jsonschema = pytest.importorskip("jsonschema")


def test_the_schema_is_a_valid_draft7_schema():
    s = schema()
    assert s["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(s)


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_builtin_and_plugin_spec_is_accepted(path):
    data = yaml.safe_load(path.read_text())
    assert [e.issues[0].message for e in check(data, schema())] == []


def test_every_docs_example_is_accepted():
    """README, docs and docstring examples. Fragments are completed from the corpus's base
    spec, so a shape error there is no concern of the schema; a plugin's example whose kinds
    are not installed is skipped."""
    checked = 0
    for where, data in doc_examples():
        try:
            specc.load(data, origin=where, check_requires=False)
        except SpecError as err:
            if any(i.message.startswith("unknown") for i in err.issues):
                continue
        checked += 1
        problems = [f"{e.issues[0].path}: {e.issues[0].message}" for e in check(data, schema())]
        assert problems == [], where
    assert checked >= 4


def test_every_kinds_example_layer_is_accepted():
    validator = jsonschema.Draft7Validator({**schema(), "$ref": "#/$defs/LayerItem"})
    for name, kind in current().layers.items():
        for example in kind.examples:
            item = yaml.safe_load(example.layer)
            assert list(validator.iter_errors(item)) == [], (name, example.layer)


@pytest.mark.parametrize("case", CORPUS["cases"], ids=[c["id"] for c in CORPUS["cases"]])
def test_bad_spec_gets_its_verdict(case):
    data = patched(case["patch"])
    with pytest.raises(SpecError):
        specc.load(data, origin=case["id"])
    errors = check(data, schema())
    assert ("reject" if errors else "accept") == case["verdict"], \
        [(e.issues[0].path, e.issues[0].message) for e in errors]


def test_the_base_of_the_corpus_is_valid():
    data = patched({})
    specc.load(data, origin="base")
    assert check(data, schema()) == []


def test_errors_name_the_field_and_suggest():
    errs = check(patched({"layers": [{"dense": {"unit": 3}}]}), schema())
    assert [(e.issues[0].path, e.issues[0].message) for e in errs] == [
        (("layers", 0, "dense"), "unknown field 'unit' (did you mean 'units'?)"),
        (("layers", 0, "dense"), "'units' is required")]
    errs = check(patched({"train": {"loss": "cross_entropyy"}}), schema())
    assert [e.issues[0].path for e in errs] == [("train", "loss")]
    assert "did you mean 'cross_entropy'" in errs[0].issues[0].message


SURFACE_FORMS = [
    """\
    specc: 1
    name: forms
    params: {width: 8, act: relu}
    networks:
      encoder:
        layers:
          - input: {shape: [4], name: x}
          - Dense: {units: $width, activation: $act, name: h}
          - dense: {units: $width, trainable: false, kernel_initializer: {normal: {std: 0.1}}}
          - Dense: {units: 3, activation: softmax, name: out}
      tied:
        inputs: {a: [4], b: {shape: [4], dtype: float32}}
        nodes:
          l: {op: dense, in: a, units: 4}
          r: {op: Dense, in: b, units: 4, share: l}
          s: {op: add, in: [l, r]}
          t: {op: Dense, in: s, units: 2, repeat: 2}
        outputs: t.1
    """,
    """\
    specc: 1
    params: {lr: 0.05, epochs: 3}
    inputs: {x: [4]}
    layers:
      - dense: {units: 3, activation: softmax}
    train:
      data: {dataset: iris, split: {last: 30}, scale: standard}
      losses: {dense_1: cross_entropy}
      optimizer: {SGD: {lr: $lr, momentum: 0.9}}
      schedule: {step: {step_size: 2}}
      metrics: acc
      epochs: $epochs
      batch_size: full
      early_stopping: {patience: 2}
    """,
    """\
    specc: 1
    inputs: {seq: [null, 3]}
    layers:
      - Bidirectional: {layer: {LSTM: {units: 4}}, merge_mode: sum}
      - dense: {units: 2}
    """,
]


@pytest.mark.parametrize("text", SURFACE_FORMS,
                         ids=["networks_aliases_share", "train_short", "alias_choices"])
def test_surface_forms_validate_and_are_accepted(text):
    """Keras aliases (of kinds, and of fields: ``LSTM`` in a bidirectional layer), `- input:`,
    $param references, share, trainable, repeat, networks; the short forms of data, losses,
    optimizers, schedules and metrics."""
    import textwrap

    data = yaml.safe_load(textwrap.dedent(text))
    specc.load(data, origin="forms")
    assert check(data, schema()) == []


def test_hover_text_comes_from_the_models():
    defs = schema()["$defs"]
    units = defs["Layer_dense"]["properties"]["units"]
    assert units["anyOf"][0] == {"type": "integer", "exclusiveMinimum": 0}
    assert units["description"] and defs["Layer_dense"]["description"]
    epochs = defs["Train_backprop"]["properties"]["epochs"]
    assert epochs["default"] == 10 and epochs["description"] == "Passes over the training split."
    assert "ridge" in defs["Train_least_squares"]["properties"]
    assert "Conv2D" in defs["Node_conv2d"]["properties"]["op"]["enum"]
    assert "adam" in defs["Name_optimizers"]["enum"] and "Adam" in defs["Name_optimizers"]["enum"]
    assert "iris" in defs["Data"]["anyOf"][0]["enum"]
    assert "csv" not in defs["Data"]["anyOf"][0]["enum"]  # it needs a path
    assert set(current().datasets.names()) <= set(
        defs["Data"]["anyOf"][1]["properties"]["dataset"]["enum"])


def test_a_composite_regimes_phases_are_sections_of_their_own_regime():
    from .common import ROOT

    dbn = yaml.safe_load((ROOT / "specs" / "dbn.yaml").read_text())
    train = dbn["train"]
    phases = {"regime": "greedy_layerwise", "data": train["data"], "phases": [
        {"regime": "contrastive_divergence", "node": "rbm1", "epochs": 1},
        {"regime": "contrastive_divergence", "node": "rbm2", "epochs": 1},
        {"regime": "backprop", "loss": "cross_entropy", "epochs": 1}]}
    for section in (train, phases):
        good = {**dbn, "train": section}
        specc.load(good, origin="dbn")
        assert check(good, schema()) == []
    bad_finetune = {**dbn, "train": {**train, "finetune": {**train["finetune"], "epochz": 3}}}
    bad_phase = {**dbn, "train": {**phases, "phases": [
        *phases["phases"][:2], {"regime": "backprop", "loss": "cross_entropyy"}]}}
    for bad, path in [(bad_finetune, ("train", "finetune")),
                      (bad_phase, ("train", "phases", 2, "loss"))]:
        with pytest.raises(SpecError):
            specc.load(bad, origin="dbn")
        assert [e.issues[0].path for e in check(bad, schema())] == [path]


def test_every_default_the_schema_states_is_accepted_by_its_field():
    """A default that its own field rejects shows a form validation reads that the schema
    does not describe (zero_padding2d's `padding: 1` was one)."""
    s = schema()
    found = []

    def walk(node):
        if isinstance(node, dict):
            for name, field in (node.get("properties") or {}).items():
                if isinstance(field, dict) and "default" in field:
                    validator = jsonschema.Draft7Validator({**field, "$defs": s["$defs"]})
                    if not validator.is_valid(field["default"]):
                        found.append((name, field["default"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(s)
    assert found == []
