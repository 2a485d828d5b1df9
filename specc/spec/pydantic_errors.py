"""Turn pydantic validation errors into SpecError issues with spec paths and plain words."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..errors import PathT, SpecError, did_you_mean


def validate_model(model: type[BaseModel], data: Any, path: PathT) -> tuple[Any, list[SpecError]]:
    """Validate ``data`` against ``model``; returns (instance or None, errors with paths).
    ``true``/``false`` are refused where a number is expected (pydantic would read 1/0)."""
    bools = bool_errors(model, data, path)
    try:
        instance = model.model_validate(data)
        return (None, bools) if bools else (instance, [])
    except ValidationError as exc:
        from .resolve import Undefined

        taken = {e.issues[0].path for e in bools}
        errs = [convert(e, path, model) for e in exc.errors(include_url=False)
                if not isinstance(e.get("input"), Undefined)]
        return None, bools + [e for e in errs if e.issues[0].path not in taken]


def bool_errors(model: type[BaseModel], data: Any, path: PathT) -> list[SpecError]:
    """Errors for booleans given to number fields (also inside pairs and lists) of ``model``."""
    out: list[SpecError] = []
    if not isinstance(data, dict):
        return out
    for key, value in data.items():
        f = model.model_fields.get(key) if isinstance(key, str) else None
        if f is not None:
            _bools([f.annotation], value, path + (key,), out)
    return out


def _bools(anns: list[Any], value: Any, loc: PathT, out: list[SpecError]) -> None:
    anns = [a for ann in anns for a in _arms(ann)]
    if isinstance(value, bool):
        if anns and all(_numeric(a) for a in anns):
            what = "an integer" if all(_numeric(a, int) for a in anns) else "a number"
            out.append(SpecError(f"must be {what}, not {str(value).lower()}", path=loc,
                                 received=value))
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value[:1000]):
            items = [t for a in anns for t in _items(a, i)]
            if items:
                _bools(items, item, loc + (i,), out)


def _arms(ann: Any) -> list[Any]:
    """``ann`` without ``Annotated``, a union split into its members (None left out)."""
    if get_origin(ann) is Annotated:
        return _arms(get_args(ann)[0])
    if get_origin(ann) in (Union, types.UnionType):
        return [a for arm in get_args(ann) if arm is not type(None) for a in _arms(arm)]
    return [ann]


def _items(ann: Any, i: int) -> list[Any]:
    """Annotations item ``i`` of a list/tuple typed ``ann`` may have."""
    origin, args = get_origin(ann), get_args(ann)
    if origin is list and args:
        return [args[0]]
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return [args[0]]
        return [args[i]] if i < len(args) else []
    return []


def _numeric(ann: Any, kind: type | None = None) -> bool:
    """Whether ``ann`` takes only numbers (``kind``: only that one), never a boolean; a pair
    type counts by its items (a bare number is widened to a pair)."""
    kinds = (kind,) if kind is not None else (int, float)
    if ann in kinds:
        return True
    if ann is bool or ann is Any or ann is object or get_origin(ann) is Literal:
        return False
    if get_origin(ann) in (list, tuple):
        items = [a for a in get_args(ann) if a is not Ellipsis]
        return bool(items) and all(_numeric(x, kind) for i in items for x in _arms(i))
    return False




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
