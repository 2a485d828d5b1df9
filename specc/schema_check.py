"""``specc schema --check``: a spec checked against the JSON Schema by a standard validator
(``jsonschema``), each problem a located :class:`SpecError` as ``specc validate`` reports them."""

from __future__ import annotations

import copy
from typing import Any

from .errors import SpecError, did_you_mean
from .schema import json_schema
from .schema_values import PARAM_PATTERN


def check(data: Any, schema: dict[str, Any] | None = None) -> list[SpecError]:
    """Problems ``schema`` (default: the registry's) finds in spec ``data``, each with its
    path. Needs the ``jsonschema`` package."""
    try:
        from jsonschema import Draft7Validator
    except ImportError:
        raise SpecError("checking against the schema needs the 'jsonschema' package",
                        hint="pip install jsonschema") from None
    validator = Draft7Validator(schema or json_schema())
    found = {(tuple(e.absolute_path), _message(e)): None
             for top in validator.iter_errors(copy.deepcopy(data)) for e in _leaves(top)}
    return [SpecError(message, path=path)
            for path, message in sorted(found, key=lambda pm: [str(p) for p in pm[0]])]


def _leaves(err: Any) -> list[Any]:
    """The specific errors under an ``anyOf``/``oneOf`` failure: those of the arm that got
    deepest, not the ``$param`` reference's, and of the right type."""
    if not err.context:
        return [err]
    arms: dict[Any, list[Any]] = {}
    for e in err.context:
        arms.setdefault(e.schema_path[0] if e.schema_path else None, []).append(e)

    def rank(es: list[Any]) -> tuple[int, bool, bool]:
        wrong_type = any(e.validator == "type" and e.absolute_path == err.absolute_path
                         for e in es)
        return (max(len(e.absolute_path) for e in es),
                all(e.schema.get("pattern") != PARAM_PATTERN for e in es), not wrong_type)

    return [leaf for e in max(arms.values(), key=rank) for leaf in _leaves(e)]


_TYPES = {"integer": "an integer", "number": "a number", "string": "a string",
          "boolean": "true or false", "array": "a list", "object": "a mapping", "null": "null"}
_BOUNDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}


def _message(err: Any) -> str:
    """The problem in the words ``specc validate`` uses."""
    v, inst, want = err.validator, err.instance, err.validator_value
    shown = f" (received {inst!r})" if not isinstance(inst, dict | list) else ""
    if v == "additionalProperties" and isinstance(inst, dict):
        known = list(err.schema.get("properties", {}))
        extra = [k for k in inst if k not in known]
        field = str(extra[0]) if extra else "?"
        hint = did_you_mean(field, known[::-1])  # a name before its aliases: it wins a tie
        return f"unknown field '{field}'" + (f" ({hint})" if hint else "")
    if v == "enum" and isinstance(inst, str):
        hint = did_you_mean(inst, [str(x) for x in want][::-1])
        return f"unknown value '{inst}'" + (f" ({hint})" if hint else "")
    if v == "enum":
        return "must be " + " or ".join(repr(x) for x in want) + shown
    if v == "type":
        types = [want] if isinstance(want, str) else want
        return "must be " + " or ".join(_TYPES.get(t, t) for t in types) + shown
    if v in _BOUNDS:
        return f"must be {_BOUNDS[v]} {want}{shown}"
    if v == "required":
        return err.message.replace("is a required property", "is required")
    return err.message
