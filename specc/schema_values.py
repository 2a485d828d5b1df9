"""pydantic's JSON Schema rewritten for the spec language: draft-07 spellings, registry
choices as references, and value positions that also take a ``$param`` reference (values
are substituted before validation)."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import to_jsonable_python

from .entries import Choice, RegistryChoice, RegistryName

PARAM_PATTERN = r"^\$[A-Za-z_][A-Za-z0-9_]*$"
META = ("title", "description", "default", "examples", "deprecated")
_PLACEHOLDER = "x-specc-def"  # becomes a $ref in draft07()
_FREE = ("enum", "const", "pattern", "format", "minLength", "maxLength")


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def meta(s: dict[str, Any]) -> dict[str, Any]:
    """The title, description, default, ... of schema ``s``."""
    return {k: s[k] for k in META if k in s}


def _any_string(s: Any) -> bool:
    """Whether ``s`` accepts every string (a ``$param`` reference needs no arm of its own)."""
    if not isinstance(s, dict):
        return s is True
    if not (set(s) - set(META)):
        return True
    if s.get("type") == "string" and not any(k in s for k in _FREE):
        return True
    return any(_any_string(a) for a in s.get("anyOf", []))


def value(s: Any) -> Any:
    """A value position: ``s`` or a ``$param`` reference (substituted before validation)."""
    if not isinstance(s, dict):
        return s
    s = paramify(s)
    if _any_string(s):
        return s
    body = {k: v for k, v in s.items() if k not in META}
    arms = body["anyOf"] if list(body) == ["anyOf"] else [body]
    return {**meta(s), "anyOf": [*arms, ref("ParamRef")]}


def paramify(s: dict[str, Any]) -> dict[str, Any]:
    """``s`` with every value below it also accepting a ``$param`` reference."""
    s = dict(s)
    if isinstance(s.get("properties"), dict):
        s["properties"] = {k: value(v) for k, v in s["properties"].items()}
    if isinstance(s.get("additionalProperties"), dict):
        s["additionalProperties"] = value(s["additionalProperties"])
    if isinstance(s.get("items"), dict):
        s["items"] = value(s["items"])
    elif isinstance(s.get("items"), list):
        s["items"] = [value(v) for v in s["items"]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in s:
            s[key] = [paramify(a) if isinstance(a, dict) else a for a in s[key]]
    return s


class Generator(GenerateJsonSchema):
    """pydantic's generator, with a registry name or choice field written as a reference to
    its group's definition (``Name_losses``, ``Choice_optimizers``; defined in :mod:`specc.schema`)
    and defaults encoded directly (pydantic builds a TypeAdapter per default)."""

    def generate_inner(self, schema: Any) -> Any:
        validate = schema.get("function", {}).get("function") \
            if schema.get("type") == "function-plain" else None
        marker = getattr(validate, "__self__", None)
        if isinstance(marker, RegistryName):
            kind = "Choice" if isinstance(marker, RegistryChoice) else "Name"
            return {_PLACEHOLDER: f"{kind}_{marker.group}"}  # pydantic resolves real $refs
        return super().generate_inner(schema)

    def _named_required_fields_schema(self, named_required_fields: Any) -> Any:
        """Also a property per other name of ``AliasChoices`` (``LSTM`` beside ``lstm``)."""
        out = super()._named_required_fields_schema(named_required_fields)
        for name, _, field in named_required_fields:
            aliases = field.get("validation_alias")
            first = self._get_alias_name(field, name)
            if isinstance(aliases, list) and first in out["properties"]:
                for path in aliases:
                    if isinstance(path, list) and len(path) == 1 and path[0] != first:
                        out["properties"].setdefault(path[0], out["properties"][first])
        return out

    def encode_default(self, dft: Any) -> Any:
        return dft.dump() if isinstance(dft, Choice) else to_jsonable_python(dft)


def draft07(s: Any) -> Any:
    """Draft-07 spellings; a list of registry choices also takes one choice."""
    if isinstance(s, list):
        return [draft07(v) for v in s]
    if not isinstance(s, dict):
        return s
    if _PLACEHOLDER in s:
        s = {**{k: v for k, v in s.items() if k != _PLACEHOLDER}, **ref(s[_PLACEHOLDER])}
    s = {k: draft07(v) for k, v in s.items()}
    items = s.get("items")
    if s.get("type") == "array" and isinstance(items, dict) and \
            str(items.get("$ref")).startswith("#/$defs/Choice_"):
        return {k: v for k, v in s.items() if k not in ("type", "items")} | {
            "anyOf": [items, {"type": "array", "items": items}]}
    if "prefixItems" in s:
        s["items"] = s.pop("prefixItems")
    if "$ref" in s and len(s) > 1:  # draft-07 ignores keywords beside $ref
        s = {k: v for k, v in s.items() if k != "$ref"} | {"allOf": [{"$ref": s["$ref"]}]}
    return s
