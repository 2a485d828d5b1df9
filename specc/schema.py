"""JSON Schema (draft-07) of the spec language as users write it, built from the registry
(plugin kinds, regimes, datasets and entries included).

Editors' YAML language servers use it for completion, hover text and inline errors::

    # yaml-language-server: $schema=specc.schema.json

Descriptions, defaults, enums and bounds come from the same pydantic models that validate a
spec; this module adds the surface forms (``$param`` references wherever substitution applies,
short forms of choices and data, sequential and graph forms, blocks, ``repeat``/``share``/
``trainable``, Keras aliases). What a schema cannot express (shapes, cycles, node names, block
parameters) is left to ``specc validate``. Pure Python: no torch.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from typing import Any

from pydantic import TypeAdapter, create_model

from .assembled import FORMAT_VERSION, MAX_NAME_CHARS, NETWORK_KEYS, TopLevel
from .registry import Registries, current
from .schema_values import PARAM_PATTERN, Generator, draft07, meta, paramify, ref, value

DRAFT = "http://json-schema.org/draft-07/schema#"
CHOICE_GROUPS = ("losses", "metrics", "optimizers", "schedules", "initializers", "activations")
IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
INPUT_KINDS = ("input", "Input", "InputLayer")
DTYPES = ["float32", "int64", "float64", "float16", "bool"]


def _names(reg: Any, name: str) -> list[str]:
    return [name, *reg.aliases_of(name)]


def _all_names(reg: Any) -> list[str]:
    return [n for name in reg.names() for n in _names(reg, name)]


def _summary(obj: Any) -> str:
    """An entry's one-line doc (``doc``, else its docstring's first line)."""
    return getattr(obj, "doc", "") or (inspect.getdoc(obj) or "").split("\n")[0]


def _enum(reg: Any, names: list[str] | None = None) -> dict[str, Any]:
    """``names`` (default: all, aliases included) of registry ``reg`` as an enum, each with its
    summary for the editor's completion list."""
    names = _all_names(reg) if names is None else names
    docs = []
    for n in names:
        canon = reg.canonical(n)
        doc = _summary(reg.get(canon))
        docs.append(doc if n == canon else f"(alias of {canon}) {doc}")
    return {"enum": names, "enumDescriptions": docs}


# -- generic rewrites of pydantic's output ------------------------------------------------------


class _Builder:
    """Builds the schema's ``$defs`` from one registry."""

    def __init__(self, regs: Registries) -> None:
        self.regs = regs
        self.defs: dict[str, Any] = {"ParamRef": {
            "type": "string", "pattern": PARAM_PATTERN,
            # a $comment, not a description: editors show every arm's description on hover
            "$comment": "A parameter reference: `$name`, declared under `params:` (or a "
                        "block's `params:`)."}}

    # pydantic models ------------------------------------------------------------------------
    def models(self) -> None:
        """The pydantic models of every kind, regime, dataset and entry, generated in one pass
        (so their definitions get distinct names); ``self.of[(group, name)]`` is a def name."""
        from .spec.data_section import DataConfig

        r = self.regs
        models = {("layers", n): k.Params for n, k in r.layers.items()}
        models |= {("trainers", n): t.Config for n, t in r.trainers.items()}
        models |= {("datasets", n): d.Params for n, d in r.datasets.items()}
        models |= {(g, n): r[g].get(n).Params for g in CHOICE_GROUPS for n in r[g].names()}
        models[("data", "")] = DataConfig
        fields = {f"m{i}": (cls, ...) for i, cls in enumerate(models.values())}
        out = TypeAdapter(create_model("Models", **fields)).json_schema(
            ref_template="#/$defs/{model}", schema_generator=Generator)
        for name, d in out.get("$defs", {}).items():
            self.defs[name] = paramify(draft07(d))
        self.of = {key: out["properties"][f"m{i}"]["$ref"].rsplit("/", 1)[1]
                   for i, key in enumerate(models)}

    def model(self, group: str, name: str) -> dict[str, Any]:
        """A copy of the generated schema of ``name``'s model in ``group``."""
        return copy.deepcopy(self.defs[self.of[(group, name)]])

    # named entries --------------------------------------------------------------------------
    def choices(self) -> None:
        for g in CHOICE_GROUPS:
            reg = self.regs[g]
            self.defs[f"Name_{g}"] = {"type": "string", **_enum(reg),
                                      "description": f"A {reg.what} name."}
            props = {}
            for n in reg.names():
                doc = reg.get(n).doc or n
                arm = {"title": n, "description": doc,
                       "anyOf": [{"type": "null"}, ref(self.of[(g, n)])]}
                props.update(dict.fromkeys(_names(reg, n), arm))
            self.defs[f"Choice_{g}"] = {
                "description": f"A {reg.what}: a name, or {{name: {{parameters}}}}.",
                "anyOf": [ref(f"Name_{g}"), {"type": "object", "minProperties": 1,
                                              "maxProperties": 1, "properties": props,
                                              "additionalProperties": False}]}

    # layers ---------------------------------------------------------------------------------
    def layers(self) -> None:
        layers = self.regs.layers
        structural = {
            "in": {"description": "Input node(s): names of earlier nodes or inputs.",
                   "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "share": {"type": "string", "description": "Reuse this node's weights (a node of "
                      "the same kind and shapes)."},
            "trainable": value({"type": "boolean", "default": True,
                                 "description": "false freezes the weights."}),
            "repeat": value({"type": "integer", "minimum": 1, "default": 1,
                              "description": "Apply N times in a row (names get .0, .1, ...)."}),
        }
        name = {"type": ["string", "null"], "description": "Node name (default: KIND_N)."}
        bare, kinds_by_name, ifs = [], {}, []
        for kind_name, kind in layers.items():
            d = self.model("layers", kind_name)
            props, required = d.get("properties", {}), d.get("required", [])
            doc = kind.summary() or kind_name
            names = _names(layers, kind_name)
            layer = {"type": "object" if required else ["object", "null"], "title": kind_name,
                     "description": doc,
                     "properties": {**props, "name": name, **structural},
                     "additionalProperties": False}
            if required:
                layer["required"] = required
            else:
                bare.extend(names)
            self.defs[f"Layer_{kind_name}"] = layer
            self.defs[f"Node_{kind_name}"] = {
                "type": "object", "title": kind_name, "description": doc,
                "required": ["op", "in", *required],
                "properties": {"op": {"enum": names, "description": doc}, **props,
                               **structural}, "additionalProperties": False}
            kinds_by_name.update(dict.fromkeys(names, ref(f"Layer_{kind_name}")))
            ifs.append({"if": {"properties": {"op": {"enum": names}}, "required": ["op"]},
                        "then": ref(f"Node_{kind_name}")})
        all_kinds = _all_names(layers)
        input_layer = {"type": "object", "required": ["shape"], "additionalProperties": False,
                       "description": "The input, as the first layer (Keras style).",
                       "properties": {"shape": ref("Shape"), "dtype": {"enum": DTYPES},
                                      "name": {"type": "string", "pattern": IDENT}}}
        kinds_by_name.update(dict.fromkeys(INPUT_KINDS, input_layer))
        one = {"type": "object", "minProperties": 1, "maxProperties": 1,
               "properties": kinds_by_name}
        self.defs["LayerItem"] = {
            "description": "A layer: a kind name, or {kind: {parameters}}.",
            "anyOf": [{"type": "string", **_enum(layers, bare)},
                      {**one, "additionalProperties": False}]}
        block_use = {"type": ["object", "null"], "description": "A block of `blocks:` with "
                     "its parameters.", "properties": {"name": name, **structural}}
        self.defs["LayerItemOrBlock"] = {
            "description": "A layer: a kind or block name, or {name: {parameters}}.",
            "anyOf": [{"type": "string", **_enum(layers, bare)},
                      {"type": "string", "pattern": IDENT, "not": {"enum": all_kinds}},
                      {**one, "additionalProperties": block_use}]}
        op = {"type": "string", "description": "The layer kind (or a block of `blocks:`)."}
        self.defs["NodeKinds"] = {"allOf": ifs}
        self.defs["Node"] = {"type": "object", "required": ["op", "in"],
                             "properties": {"op": {**op, **_enum(layers)},
                                            "in": structural["in"]},
                             "allOf": [ref("NodeKinds")]}
        self.defs["NodeOrBlock"] = {"type": "object", "required": ["op", "in"],
                                    "properties": {"op": op, "in": structural["in"]},
                                    "allOf": [ref("NodeKinds")]}

    # networks -------------------------------------------------------------------------------
    def networks(self) -> None:
        dim = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}, ref("ParamRef")]}
        self.defs["Shape"] = {
            "description": "Per-sample shape, batch axis excluded (null: a dynamic axis).",
            "anyOf": [dim, {"type": "array", "items": dim}]}
        names = {"description": "A node name or a list of them.",
                 "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
        self.defs["Inputs"] = {
            "type": "object", "description": "Input name -> shape.",
            "propertyNames": {"pattern": IDENT},
            "additionalProperties": {"anyOf": [ref("Shape"), {
                "type": "object", "required": ["shape"], "additionalProperties": False,
                "properties": {"shape": ref("Shape"),
                               "dtype": {"enum": DTYPES, "default": "float32"}}}]}}
        self.defs["Layers"] = {"type": "array", "minItems": 1, "items": ref("LayerItemOrBlock"),
                               "description": "Sequential form: each layer takes the previous "
                                              "output."}
        self.defs["Nodes"] = {"type": "object", "minProperties": 1,
                              "additionalProperties": ref("NodeOrBlock"),
                              "description": "Graph form: node name -> {op: KIND, in: ...}."}
        body = {"inputs": ref("Inputs"), "layers": ref("Layers"), "nodes": ref("Nodes"),
                "outputs": names}
        one_form = {"not": {"required": ["layers", "nodes"]},
                    "anyOf": [{"required": ["layers"]}, {"required": ["nodes"]}]}
        self.defs["Network"] = {"type": "object", "additionalProperties": False,
                                "properties": {"description": {"type": "string"}, **body},
                                **one_form}
        self.defs["Block"] = {
            "type": "object", "additionalProperties": False, **one_form,
            "description": "A parameterised sub-graph used like a layer kind.",
            "properties": {"description": {"type": "string"},
                           "params": {"type": "object", "description": "Parameters and "
                                      "defaults ($name inside the block)."},
                           "inputs": names, "layers": ref("Layers"), "nodes": ref("Nodes"),
                           "outputs": names}}
        strict_body = {"properties": {"layers": {"items": ref("LayerItem")},
                                      "nodes": {"additionalProperties": ref("Node")}}}
        self.defs["WithoutBlocks"] = {"properties": {
            **strict_body["properties"], "networks": {"additionalProperties": strict_body}}}
        self.body = body
        self.one_form = one_form

    # train ----------------------------------------------------------------------------------
    def train(self) -> None:
        from .spec.training import TrainConfig

        trainers, datasets = self.regs.trainers, self.regs.datasets
        self.shorthands()
        data = self.model("data", "")
        props = {**data["properties"], "dataset": {**_enum(datasets),
                                                   "description": "The dataset (see `specc "
                                                   "list` specs for examples)."}}
        ifs, bare = [], []  # `data: NAME` for a dataset that needs no parameters
        for n in datasets.names():
            own = self.model("datasets", n)
            then = {"properties": {**dict.fromkeys(props, True), **own.get("properties", {})},
                    "additionalProperties": False}
            if own.get("required"):
                then["required"] = own["required"]
            else:
                bare.extend(_names(datasets, n))
            ifs.append({"if": {"properties": {"dataset": {"enum": _names(datasets, n)}}},
                        "then": then})
        self.defs["Data"] = {
            "description": data.get("description", ""),
            "anyOf": [{"type": "string", **_enum(datasets, bare)},
                      {"type": "object", "required": ["dataset"], "properties": props,
                       "allOf": ifs}]}
        default = TrainConfig.model_fields["regime"].default
        section = {"allOf": [ref("TrainSection")]}
        arms = []
        for n in trainers.names():
            names = _names(trainers, n)
            cfg = self.model("trainers", n)
            cfg["required"] = [r for r in cfg.get("required", []) if r != "data"]  # see Train
            if not cfg["required"]:
                del cfg["required"]
            p = cfg["properties"]
            p["regime"] = {**{k: v for k, v in p["regime"].items() if k != "default"},
                           "enum": names} | ({"default": n} if n == default else {})
            p["data"] = {**meta(p["data"]), "anyOf": [ref("Data"), ref("ParamRef")]}
            if "batch_size" in p:  # a positive integer (checked by a validator)
                p["batch_size"] = value({**meta(p["batch_size"]), "anyOf": [
                    {"type": "integer", "minimum": 1}, {"const": "full"}]})
            if "loss" in p and "losses" in p:  # one of them (an empty table is none)
                given = [{"required": ["loss"], "properties": {"loss": {"not": {"type": "null"}}}},
                         {"required": ["losses"], "properties": {"losses": {"minProperties": 1}}}]
                cfg["not"] = {"allOf": given}
                if trainers.get(n).targets == "loss":  # a regime that descends a loss needs one
                    cfg["anyOf"] = given
            if "phases" in p:  # a composite regime: each phase a section of its own regime
                p["phases"] = value({**meta(p["phases"]), "type": "array", "minItems": 1,
                                      "items": {**section, "required": ["regime"]}})
            if "finetune" in p:
                p["finetune"] = {**meta(p["finetune"]), "anyOf": [section, {"type": "null"}]}
            self.defs[f"Train_{n}"] = {**cfg, "description": inspect.cleandoc(
                trainers.get(n).__doc__ or n)}
            arms.append({"if": {"properties": {"regime": {"enum": names}},
                                "required": ["regime"]}, "then": ref(f"Train_{n}")})
            if n == default:
                arms.append({"if": {"not": {"required": ["regime"]}}, "then": ref(f"Train_{n}")})
        self.defs["TrainSection"] = {
            "type": "object", "allOf": arms, "description": "A regime and its fields.",
            "properties": {"regime": {**_enum(trainers), "default": default,
                                      "description": "The training regime (see `specc "
                                                     "regimes`)."}}}
        # `data` is required at the top; a composite regime's phases inherit it
        self.defs["Train"] = {"description": "How to train: the regime and its fields.",
                              "allOf": [ref("TrainSection")], "required": ["data"]}

    def shorthands(self) -> None:
        """Short spellings that ``Section.shorthand`` methods expand."""
        d = self.defs
        if "SplitConfig" in d:
            d["SplitConfig"]["properties"]["last"] = value({
                "type": "number", "minimum": 0, "description": "Hold out the last N samples "
                "(or fraction) for validation: short for {val: N, order: last}."})
        if "OutputLoss" in d:
            d["OutputLoss"] = {"description": d["OutputLoss"].get("description", ""),
                               "anyOf": [ref("Choice_losses"), d["OutputLoss"]]}
        if "Clip" in d:
            d["Clip"]["minProperties"] = 1

    # top level ------------------------------------------------------------------------------
    def top(self) -> dict[str, Any]:
        out = TypeAdapter(TopLevel).json_schema(ref_template="#/$defs/{model}",
                                                schema_generator=Generator)
        self.defs["Pretrained"] = draft07(out["$defs"]["Pretrained"])
        props = draft07(out["properties"])
        props["specc"] = {**props["specc"], "enum": [FORMAT_VERSION]}
        props["name"] = {**props["name"], "type": ["string", "null"], "maxLength": MAX_NAME_CHARS,
                         "pattern": r"^(?!.*\.\.)[^/\\\x00-\x1f\x7f]*$"}
        props["name"].pop("anyOf", None)
        props.update(self.body)
        props["blocks"] = {"type": "object", "additionalProperties": ref("Block"),
                           "propertyNames": {"not": {"enum": self.regs.layers.names()}},
                           "description": "Named sub-graphs, used in `layers:` or `nodes:` "
                                          "like layer kinds."}
        props["networks"] = {"type": "object", "additionalProperties": ref("Network"),
                             "description": "Several named networks (each with its own "
                                            "inputs and layers)."}
        props["train"] = {"anyOf": [ref("Train"), {"type": "null"}]}
        from .forms.spec import forms_schema
        from .sweep.config import json_schema as sweep_schema

        props["sweep"] = sweep_schema()
        props["forms"] = forms_schema(self.defs)
        with_networks = {"required": ["networks"], "properties": {"networks": {"type": "object"}}}
        return {
            "type": "object", "properties": props, "additionalProperties": False,
            "allOf": [
                {"if": with_networks,
                 "then": {"properties": {k: {"type": "null"} for k in NETWORK_KEYS}},
                 "else": self.one_form},
                {"if": {"required": ["blocks"], "properties": {"blocks": {"minProperties": 1}}},
                 "else": ref("WithoutBlocks")}]}

    def prune(self, root: dict[str, Any]) -> dict[str, Any]:
        """Only the defs reachable from ``root``."""
        seen: set[str] = set()
        todo = [root]
        while todo:
            for name in re.findall(r'"\$ref": "#/\$defs/([^"]+)"', json.dumps(todo.pop())):
                if name not in seen:
                    seen.add(name)
                    todo.append(self.defs[name])
        return {k: self.defs[k] for k in sorted(seen)}


def json_schema(regs: Registries | None = None) -> dict[str, Any]:
    """The whole JSON Schema (draft-07, as the YAML language server reads it best)."""
    b = _Builder(regs or current())
    b.models()
    b.choices()
    b.layers()
    b.networks()
    b.train()
    top = b.top()
    return {"$schema": DRAFT, "title": "specc spec",
            "description": "A specc model spec (see `specc validate` for what a schema cannot "
                           "check: shapes, cycles, node names, block parameters).",
            **top, "$defs": b.prune(top)}
