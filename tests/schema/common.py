"""What the schema tests share: the spec corpora (valid and bad) and the schema itself."""

from __future__ import annotations

import copy
import inspect
import re
import sys
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from specc.registry import current
from specc.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted([*ROOT.glob("specs/*.yaml"), *ROOT.glob("plugins/*/specs/*.yaml")])
DOCS = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("plugins/*/README.md")])
CORPUS = yaml.safe_load((Path(__file__).parent / "bad_specs.yaml").read_text())
BASE = yaml.safe_load(CORPUS["base"])
_YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)
_DOC_BLOCK = re.compile(r"::\n\n((?:[ \t]+.*\n|\n)+)")  # a reST literal block


@cache
def schema() -> dict[str, Any]:
    """The schema of the installed registry (built once per test process)."""
    return json_schema()


def patched(patch: dict[str, Any]) -> dict[str, Any]:
    """BASE with ``patch``: top-level keys replace, ``train`` keys merge, a null removes."""
    data = copy.deepcopy(BASE)
    for key, value in patch.items():
        if key == "train" and isinstance(value, dict):
            data["train"].update(value)
            data["train"] = {k: v for k, v in data["train"].items() if v is not None}
        elif value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _as_spec(data: dict[str, Any]) -> dict[str, Any]:
    """A whole spec from an example: a fragment (no ``specc:``) is completed from BASE (its
    ``train:`` is a whole section)."""
    if "specc" in data:
        return data
    if "nodes" in data or "networks" in data:
        data.setdefault("layers", None)
        if "networks" in data:
            data.setdefault("inputs", None)
            data.setdefault("train", None)
    spec = patched({k: v for k, v in data.items() if k != "train"})
    if "train" in data:
        spec["train"] = data["train"]
    return {k: v for k, v in spec.items() if v is not None}


def docstrings() -> list[tuple[str, str]]:
    """(where, text) of the docstrings of every registered kind, regime and dataset: the
    class, its Params or Config, and its module."""
    out = []
    for group in ("layers", "trainers", "datasets"):
        for name, cls in current()[group].items():
            for obj in (cls, getattr(cls, "Config", None), getattr(cls, "Params", None),
                        sys.modules.get(cls.__module__)):
                doc = inspect.getdoc(obj) if obj is not None else None
                if doc:
                    out.append((f"{group} {name} ({getattr(obj, '__name__', '')})", doc))
    return out


def doc_examples() -> list[tuple[str, dict[str, Any]]]:
    """Every YAML example of the README and docs, and every spec-shaped literal block of a
    registered entry's docstrings, as a whole spec (see :func:`_as_spec`)."""
    out = []
    for path in DOCS:
        text = path.read_text()
        for m in _YAML_BLOCK.finditer(text):
            data = yaml.safe_load(m.group(1))
            if isinstance(data, dict):
                line = text[:m.start()].count("\n") + 2
                out.append((f"{path.relative_to(ROOT)}:{line}", _as_spec(data)))
    for where, doc in docstrings():
        for m in _DOC_BLOCK.finditer(doc + "\n"):
            try:
                data = yaml.safe_load(textwrap.dedent(m.group(1)))
            except yaml.YAMLError:
                continue  # a Python or shell example
            if isinstance(data, dict) and {"train", "layers", "nodes", "inputs"} & set(data):
                out.append((where, _as_spec(data)))
    return out
