"""Named choices in ``train:`` sections, parsed with located errors.

A choice is a registry entry written as a bare name (``optimizer: adam``) or a one-key mapping
with parameters (``optimizer: {adam: {lr: 0.01}}``). A config field declares one with
``Annotated[Choice, RegistryChoice("optimizers")]`` (:mod:`specc.entries`); before pydantic
sees a mapping, :func:`parse_choices` parses every such field of a config (nested sections,
lists and tables included), so each problem keeps its own path and a did-you-mean hint.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, model_validator

from ..entries import Choice, RegistryChoice
from ..errors import PathT, SpecError, did_you_mean
from ..strict import Strict
from .pydantic_errors import validate_model


class Problems:
    """Errors collected while validating, reported together."""

    def __init__(self) -> None:
        self.items: list[SpecError] = []

    def add(self, message: str, path: PathT, **kw: Any) -> None:
        self.items.append(SpecError(message, path=path, **kw))

    def extend(self, errs: list[SpecError]) -> None:
        self.items.extend(errs)


class Section(Strict):
    """Base of ``train:`` models: unknown fields refused; ``shorthand`` expands short forms."""

    @classmethod
    def shorthand(cls, raw: Any) -> Any:
        """The long form of a short spelling (identity here)."""
        return raw

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, data: Any) -> Any:
        return cls.shorthand(data)


def entries(group: str) -> Any:
    """The registry group (``losses``, ``optimizers``, ...) of named choices."""
    from ..registry import current

    return current()[group]


def default_choice(group: str, name: str) -> Choice:
    """The choice ``name`` with default parameters (a field default)."""
    return Choice(name, entries(group).get(name).Params())


def metric_mode(name: str) -> str:
    """``max`` for a registered metric that is better when larger, else ``min``."""
    reg = entries("metrics")
    canon = reg.canonical(name)
    return reg.get(canon).mode if canon is not None else "min"


def parse_choice(raw: Any, group: str, path: PathT, errs: Problems) -> Choice | None:
    """``name`` or ``{name: {params}}`` against registry ``group``; errors go to ``errs``."""
    if isinstance(raw, Choice):
        return raw
    reg = entries(group)
    what = reg.what
    if isinstance(raw, str):
        name, params, ppath = raw, {}, path
    elif isinstance(raw, dict) and len(raw) == 1:
        name, params = next(iter(raw.items()))
        ppath = path + (name,)
        params = {} if params is None else params
        if not isinstance(params, dict):
            errs.add(f"parameters of {what} '{name}' must be a mapping", ppath, received=params)
            return None
    else:
        article = "an" if what[0] in "aeiou" else "a"
        errs.add(f"must be {article} {what} name or a mapping {{name: {{parameters}}}}", path,
                 received=raw)
        return None
    canon = reg.canonical(str(name))
    if canon is None:
        errs.add(f"unknown {what} '{name}'", path if isinstance(raw, str) else ppath,
                 hint=did_you_mean(str(name), reg.names())
                 or f"available: {', '.join(reg.names())}")
        return None
    model, perrs = validate_model(reg.get(canon).Params, params, ppath)
    errs.extend(perrs)
    return Choice(canon, model) if model is not None else None


def parse_choices(model: type[BaseModel], data: dict[str, Any], path: PathT,
                  errs: Problems) -> tuple[dict[str, Any], list[PathT]]:
    """``data`` with every choice field of ``model`` parsed; also the paths that failed (their
    pydantic errors would only repeat the problem)."""
    out = dict(model.shorthand(data)) if issubclass(model, Section) else dict(data)
    failed: list[PathT] = []
    for key, value in out.items():
        f = model.model_fields.get(key) if isinstance(key, str) else None
        if f is None or value is None:
            continue
        out[key] = _parse_value(f.annotation, f.metadata, value, path + (key,), errs, failed)
    return out, failed


def _parse_value(ann: Any, metadata: list[Any], value: Any, path: PathT, errs: Problems,
                 failed: list[PathT]) -> Any:
    marker = next((m for m in metadata if isinstance(m, RegistryChoice)), None)
    if marker is not None:
        choice = parse_choice(value, marker.group, path, errs)
        if choice is None:
            failed.append(path)
        return choice if choice is not None else value
    arm = _single_arm(ann)
    if arm is None:
        return value
    origin, args = get_origin(arm), get_args(arm)
    if origin is Annotated:
        return _parse_value(args[0], list(args[1:]), value, path, errs, failed)
    if origin is list and args:
        items = [value] if isinstance(value, str | dict) else value
        if not isinstance(items, list):
            return value
        return [_parse_value(args[0], [], v, path + (i,), errs, failed)
                for i, v in enumerate(items)]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _parse_value(args[1], [], v, path + (k,), errs, failed)
                for k, v in value.items()}
    if isinstance(arm, type) and issubclass(arm, BaseModel):
        value = arm.shorthand(value) if issubclass(arm, Section) else value
        if isinstance(value, dict):
            parsed, sub = parse_choices(arm, value, path, errs)
            failed.extend(sub)
            return parsed
    return value


def _single_arm(ann: Any) -> Any:
    """``ann`` without ``None`` when that leaves one type, else None."""
    if get_origin(ann) in (Union, types.UnionType):
        arms = [a for a in get_args(ann) if a is not type(None)]
        return arms[0] if len(arms) == 1 else None
    return ann
