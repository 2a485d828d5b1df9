"""What the schema tests share: the spec corpora (valid and bad) and the schema itself."""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from specc.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted([*ROOT.glob("specs/*.yaml"), *ROOT.glob("plugins/*/specs/*.yaml")])
DOCS = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("plugins/*/README.md")])
CORPUS = yaml.safe_load((Path(__file__).parent / "bad_specs.yaml").read_text())
BASE = yaml.safe_load(CORPUS["base"])
_YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)


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


def doc_examples() -> list[tuple[str, dict[str, Any]]]:
    """Every YAML example of the README and docs as a whole spec: a fragment (no ``specc:``)
    is completed from BASE (its keys replace BASE's, a ``train:`` fragment merges)."""
    out = []
    for path in DOCS:
        text = path.read_text()
        for m in _YAML_BLOCK.finditer(text):
            data = yaml.safe_load(m.group(1))
            if not isinstance(data, dict):
                continue
            line = text[:m.start()].count("\n") + 2
            if "specc" not in data:
                if "nodes" in data or "networks" in data:
                    data.setdefault("layers", None)
                    if "networks" in data:
                        data.setdefault("inputs", None)
                        data.setdefault("train", None)
                data = patched(data)
            out.append((f"{path.relative_to(ROOT)}:{line}", data))
    return out
