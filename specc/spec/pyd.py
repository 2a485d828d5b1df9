"""Turn pydantic validation errors into SpecError issues with spec paths and plain words."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import PathT, SpecError, did_you_mean


def validate_model(model: type[BaseModel], data: Any, path: PathT) -> tuple[Any, list[SpecError]]:
    """Validate ``data`` against ``model``; returns (instance or None, errors with paths)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        from .resolve import Undefined

        return None, [convert(e, path, model) for e in exc.errors(include_url=False)
                      if not isinstance(e.get("input"), Undefined)]


def convert(e: dict[str, Any], path: PathT, model: type[BaseModel] | None = None) -> SpecError:
    loc: tuple[Any, ...] = tuple(x for x in e["loc"] if not _is_union_tag(x))
    typ = e["type"]
    ctx = e.get("ctx") or {}
    received = e.get("input")
    hint = None
    if typ == "extra_forbidden":
        field = str(loc[-1]) if loc else "?"
        allowed = _fields_at(model, loc[:-1])
        hint = did_you_mean(field, allowed) if allowed else None
        if hint is None and allowed:
            hint = "allowed: " + ", ".join(allowed)
        return SpecError(f"unknown field '{field}'", path=path + loc, hint=hint)
    if typ == "missing":
        return SpecError("missing required field", path=path + loc)
    messages = {
        "greater_than": "must be > {gt}",
        "greater_than_equal": "must be >= {ge}",
        "less_than": "must be < {lt}",
        "less_than_equal": "must be <= {le}",
        "int_type": "must be an integer",
        "int_parsing": "must be an integer",
        "int_from_float": "must be a whole number",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "string_type": "must be a string",
        "list_type": "must be a list",
        "tuple_type": "must be a list",
        "dict_type": "must be a mapping",
        "model_type": "must be a mapping",
        "too_short": "must have at least {min_length} item(s)",
        "too_long": "must have at most {max_length} item(s)",
    }
    if typ == "literal_error":
        expected = ctx.get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",")]
        options = [o for o in options if o]
        msg = "must be one of " + ", ".join(options)
        if isinstance(received, str):
            hint = did_you_mean(received, options)
        return SpecError(msg, path=path + loc, received=received, hint=hint)
    if typ in messages:
        try:
            msg = messages[typ].format(**ctx)
        except KeyError:
            msg = e["msg"]
        return SpecError(msg, path=path + loc, received=received)
    msg = e["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, "):]
    else:
        msg = msg[0].lower() + msg[1:]
    return SpecError(msg, path=path + loc, received=received)


def _is_union_tag(x: Any) -> bool:
    # pydantic puts union member names like 'int' or 'tuple[int, int]' into loc
    return isinstance(x, str) and (x in ("int", "str", "float", "bool", "list", "dict")
                                   or "[" in x or x.startswith("function-"))


def _fields_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc``."""
    m: Any = model
    for part in loc:
        if isinstance(part, int) or m is None:
            continue
        f = getattr(m, "model_fields", {}).get(part)
        if f is None:
            return []
        m = _model_of(f.annotation)
    return list(getattr(m, "model_fields", {})) if m is not None else []


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None
