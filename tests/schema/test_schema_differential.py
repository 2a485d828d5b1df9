"""Differential check of the schema against ``specc validate``: every layer parameter and
``train:`` field of the built-in specs (the small ones) set to values of every type; a spec
that validates must match the schema, except where validation converts between types (0/1
for a boolean, true for a number: pydantic's lax mode, listed in the README)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

import specc
from specc.errors import SpecError
from specc.schema_check import check

from .common import SPECS, schema

pytest.importorskip("jsonschema")

BIG = {"resnet50", "vgg16", "mobilenet", "resnet18", "resnet", "char_rnn", "transformer_classifier"}
VALUES = [0, 1, 3, -1, 0.5, 1.5, "same", "relu", "full", "auto", True, False, None, [], {},
          [2, 2], "accuracy", {"val": 0.2}, "$p", "x"]


def variants(data: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], Any, dict[str, Any]]]:
    """(where, value, spec) for every layer parameter and train field set to each value."""
    places: list[tuple[Any, ...]] = []
    for i, item in enumerate(data.get("layers") or []):
        if isinstance(item, dict) and isinstance(next(iter(item.values())), dict):
            kind, params = next(iter(item.items()))
            places += [("layers", i, kind, key) for key in params]
    train = data.get("train")
    if isinstance(train, dict):
        places += [("train", key) for key in train]
        if isinstance(train.get("data"), dict):
            places += [("train", "data", key) for key in train["data"]]
    for where in places:
        for value in VALUES:
            spec = copy.deepcopy(data)
            node = spec
            for key in where[:-1]:
                node = node[key]
            node[where[-1]] = value
            yield where, value, spec


def converted(value: Any, message: str) -> bool:
    """A value validation converts to the field's type (pydantic's lax mode)."""
    if message.startswith("must be true or false"):
        return value in (0, 1) and not isinstance(value, bool)
    return isinstance(value, bool) and message.startswith(("must be a number",
                                                           "must be an integer",
                                                           "must be a string"))


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in SPECS if p.stem not in BIG],
                         ids=[p.stem for p in SPECS if p.stem not in BIG])
def test_a_spec_that_validates_matches_the_schema(path):
    data = yaml.safe_load(path.read_text())
    data["params"] = {**(data.get("params") or {}), "p": 3}
    disagree = []
    for where, value, spec in variants(data):
        try:
            specc.load(spec, origin="variant", check_requires=False)
        except SpecError:
            continue
        problems = [e.issues[0].message for e in check(spec, schema())]
        if problems and not all(converted(value, m) for m in problems):
            disagree.append((where, value, problems))
    assert disagree == []
