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
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import to_jsonable_python

from .assembled import FORMAT_VERSION, MAX_NAME_CHARS, NETWORK_KEYS, TopLevel
from .entries import Choice, RegistryChoice, RegistryName
from .registry import Registries, current

DRAFT = "http://json-schema.org/draft-07/schema#"
CHOICE_GROUPS = ("losses", "metrics", "optimizers", "schedules", "initializers", "activations")
IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
PARAM_PATTERN = r"^\$[A-Za-z_][A-Za-z0-9_]*$"
INPUT_KINDS = ("input", "Input", "InputLayer")
DTYPES = ["float32", "int64", "float64", "float16", "bool"]
_META = ("title", "description", "default", "examples", "deprecated")
_PLACEHOLDER = "x-specc-def"  # becomes a $ref in _Builder.fix
_FREE = ("enum", "const", "pattern", "format", "minLength", "maxLength")


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def _meta(s: dict[str, Any]) -> dict[str, Any]:
    """The title, description, default, ... of schema ``s``."""
    return {k: s[k] for k in _META if k in s}


def _names(reg: Any, name: str) -> list[str]:
    return [name, *reg.aliases_of(name)]


def _all_names(reg: Any) -> list[str]:
    return [n for name in reg.names() for n in _names(reg, name)]


# -- generic rewrites of pydantic's output ------------------------------------------------------


def _any_string(s: Any) -> bool:
    """Whether ``s`` accepts every string (a ``$param`` reference needs no arm of its own)."""
    if not isinstance(s, dict):
        return s is True
    if not (set(s) - set(_META)):
        return True
    if s.get("type") == "string" and not any(k in s for k in _FREE):
        return True
    return any(_any_string(a) for a in s.get("anyOf", []))


def _value(s: Any) -> Any:
    """A value position: ``s`` or a ``$param`` reference (substituted before validation)."""
    if not isinstance(s, dict):
        return s
    s = _paramify(s)
    if _any_string(s):
        return s
    body = {k: v for k, v in s.items() if k not in _META}
    arms = body["anyOf"] if list(body) == ["anyOf"] else [body]
    return {**_meta(s), "anyOf": [*arms, ref("ParamRef")]}


def _paramify(s: dict[str, Any]) -> dict[str, Any]:
    """``s`` with every value below it also accepting a ``$param`` reference."""
    s = dict(s)
    if isinstance(s.get("properties"), dict):
        s["properties"] = {k: _value(v) for k, v in s["properties"].items()}
    if isinstance(s.get("additionalProperties"), dict):
        s["additionalProperties"] = _value(s["additionalProperties"])
    if isinstance(s.get("items"), dict):
        s["items"] = _value(s["items"])
    elif isinstance(s.get("items"), list):
        s["items"] = [_value(v) for v in s["items"]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in s:
            s[key] = [_paramify(a) if isinstance(a, dict) else a for a in s[key]]
    return s


class _Generator(GenerateJsonSchema):
    """pydantic's generator, with a registry name or choice field written as a reference to
    its group's definition (``Name_losses``, ``Choice_optimizers``; see :meth:`_Builder.choices`)
    and defaults encoded directly (pydantic builds a TypeAdapter per default)."""

    def generate_inner(self, schema: Any) -> Any:
        validate = schema.get("function", {}).get("function") \
            if schema.get("type") == "function-plain" else None
        marker = getattr(validate, "__self__", None)
        if isinstance(marker, RegistryName):
            kind = "Choice" if isinstance(marker, RegistryChoice) else "Name"
            return {_PLACEHOLDER: f"{kind}_{marker.group}"}  # pydantic resolves real $refs
        return super().generate_inner(schema)

    def encode_default(self, dft: Any) -> Any:
        return dft.dump() if isinstance(dft, Choice) else to_jsonable_python(dft)


class _Builder:
    """Builds the schema's ``$defs`` from one registry."""

    def __init__(self, regs: Registries) -> None:
        self.regs = regs
        self.defs: dict[str, Any] = {"ParamRef": {
            "type": "string", "pattern": PARAM_PATTERN,
            "description": "A parameter reference: `$name`, declared under `params:` (or a "
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
            ref_template="#/$defs/{model}", schema_generator=_Generator)
        for name, d in out.get("$defs", {}).items():
            self.defs[name] = _paramify(self.fix(d))
        self.of = {key: out["properties"][f"m{i}"]["$ref"].rsplit("/", 1)[1]
                   for i, key in enumerate(models)}

    def model(self, group: str, name: str) -> dict[str, Any]:
        """A copy of the generated schema of ``name``'s model in ``group``."""
        return copy.deepcopy(self.defs[self.of[(group, name)]])

    def fix(self, s: Any) -> Any:
        """Draft-07 spellings; a list of registry choices also takes one choice."""
        if isinstance(s, list):
            return [self.fix(v) for v in s]
        if not isinstance(s, dict):
            return s
        if _PLACEHOLDER in s:
            s = {**{k: v for k, v in s.items() if k != _PLACEHOLDER}, **ref(s[_PLACEHOLDER])}
        s = {k: self.fix(v) for k, v in s.items()}
        if s.get("type") == "array" and str(s.get("items", {}).get("$ref")).startswith(
                "#/$defs/Choice_"):
            return {k: v for k, v in s.items() if k not in ("type", "items")} | {
                "anyOf": [s["items"], {"type": "array", "items": s["items"]}]}
        if "prefixItems" in s:
            s["items"] = s.pop("prefixItems")
        if "$ref" in s and len(s) > 1:  # draft-07 ignores keywords beside $ref
            s = {k: v for k, v in s.items() if k != "$ref"} | {"allOf": [{"$ref": s["$ref"]}]}
        return s

    # named entries --------------------------------------------------------------------------
    def choices(self) -> None:
        for g in CHOICE_GROUPS:
            reg = self.regs[g]
            self.defs[f"Name_{g}"] = {"type": "string", "enum": _all_names(reg),
                                      "description": f"A {reg.what} name."}
            props = {}
            for n in reg.names():
                doc = reg.get(n).doc or n
                arm = {"description": doc, "anyOf": [{"type": "null"}, ref(self.of[(g, n)])]}
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
            "trainable": _value({"type": "boolean", "default": True,
                                 "description": "false freezes the weights."}),
            "repeat": _value({"type": "integer", "minimum": 1, "default": 1,
                              "description": "Apply N times in a row (names get .0, .1, ...)."}),
        }
        name = {"type": "string", "description": "Node name (default: KIND_N)."}
        bare, kinds_by_name, ifs = [], {}, []
        for kind_name, kind in layers.items():
            d = self.model("layers", kind_name)
            props, required = d.get("properties", {}), d.get("required", [])
            doc = kind.summary() or kind_name
            names = _names(layers, kind_name)
            layer = {"type": "object" if required else ["object", "null"], "description": doc,
                     "properties": {**props, "name": name, **structural},
                     "additionalProperties": False}
            if required:
                layer["required"] = required
            else:
                bare.extend(names)
            self.defs[f"Layer_{kind_name}"] = layer
            self.defs[f"Node_{kind_name}"] = {
                "type": "object", "description": doc, "required": ["op", "in", *required],
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
            "anyOf": [{"type": "string", "enum": bare}, {**one, "additionalProperties": False}]}
        block_use = {"type": ["object", "null"], "description": "A block of `blocks:` with "
                     "its parameters.", "properties": {"name": name, **structural}}
        self.defs["LayerItemOrBlock"] = {
            "description": "A layer: a kind or block name, or {name: {parameters}}.",
            "anyOf": [{"type": "string", "enum": bare},
                      {"type": "string", "pattern": IDENT, "not": {"enum": all_kinds}},
                      {**one, "additionalProperties": block_use}]}
        op = {"type": "string", "description": "The layer kind (or a block of `blocks:`)."}
        self.defs["NodeKinds"] = {"allOf": ifs}
        self.defs["Node"] = {"type": "object", "required": ["op", "in"],
                             "properties": {"op": {**op, "enum": all_kinds}, "in": structural["in"]},
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
        props = {**data["properties"], "dataset": {"enum": _all_names(datasets),
                                                   "description": "The dataset (see `specc "
                                                   "list` specs for examples)."}}
        ifs = []
        for n in datasets.names():
            own = self.model("datasets", n)
            then = {"properties": {**dict.fromkeys(props, True), **own.get("properties", {})},
                    "additionalProperties": False}
            if own.get("required"):
                then["required"] = own["required"]
            ifs.append({"if": {"properties": {"dataset": {"enum": _names(datasets, n)}}},
                        "then": then})
        self.defs["Data"] = {
            "description": data.get("description", ""),
            "anyOf": [{"type": "string", "enum": _all_names(datasets)},
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
            p["data"] = {**_meta(p["data"]), "anyOf": [ref("Data"), ref("ParamRef")]}
            if "batch_size" in p:  # a positive integer (checked by a validator)
                p["batch_size"] = _value({**_meta(p["batch_size"]), "anyOf": [
                    {"type": "integer", "minimum": 1}, {"const": "full"}]})
            if "loss" in p and "losses" in p:  # one of them (an empty table is none)
                cfg["not"] = {"required": ["loss", "losses"], "properties": {
                    "loss": {"not": {"type": "null"}}, "losses": {"minProperties": 1}}}
            if "phases" in p:  # a composite regime: each phase a section of its own regime
                p["phases"] = _value({**_meta(p["phases"]), "type": "array", "minItems": 1,
                                      "items": {**section, "required": ["regime"]}})
            if "finetune" in p:
                p["finetune"] = {**_meta(p["finetune"]), "anyOf": [section, {"type": "null"}]}
            self.defs[f"Train_{n}"] = {**cfg, "description": inspect.cleandoc(
                trainers.get(n).__doc__ or n)}
            arms.append({"if": {"properties": {"regime": {"enum": names}},
                                "required": ["regime"]}, "then": ref(f"Train_{n}")})
            if n == default:
                arms.append({"if": {"not": {"required": ["regime"]}}, "then": ref(f"Train_{n}")})
        self.defs["TrainSection"] = {
            "type": "object", "allOf": arms, "description": "A regime and its fields.",
            "properties": {"regime": {"enum": _all_names(trainers), "default": default,
                                      "description": "The training regime (see `specc "
                                                     "regimes`)."}}}
        # `data` is required at the top; a composite regime's phases inherit it
        self.defs["Train"] = {"description": "How to train: the regime and its fields.",
                              "allOf": [ref("TrainSection")], "required": ["data"]}

    def shorthands(self) -> None:
        """Short spellings that ``Section.shorthand`` methods expand."""
        d = self.defs
        if "SplitConfig" in d:
            d["SplitConfig"]["properties"]["last"] = _value({
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
                                                schema_generator=_Generator)
        self.defs["Pretrained"] = self.fix(out["$defs"]["Pretrained"])
        props = self.fix(out["properties"])
        props["specc"] = {**props["specc"], "enum": [FORMAT_VERSION]}
        props["name"] = {**props["name"], "type": "string", "maxLength": MAX_NAME_CHARS,
                         "pattern": r"^(?!.*\.\.)[^/\\\x00-\x1f\x7f]*$"}
        props["name"].pop("anyOf", None)
        for key, value in self.body.items():
            props[key] = value
        props["blocks"] = {"type": "object", "additionalProperties": ref("Block"),
                           "propertyNames": {"not": {"enum": self.regs.layers.names()}},
                           "description": "Named sub-graphs, used in `layers:` or `nodes:` "
                                          "like layer kinds."}
        props["networks"] = {"type": "object", "additionalProperties": ref("Network"),
                             "description": "Several named networks (each with its own "
                                            "inputs and layers)."}
        props["train"] = {"anyOf": [ref("Train"), {"type": "null"}]}
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
