"""``specc regimes``: list the training regimes, or describe one with its ``train:`` fields."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Sequence
from typing import Any

import click

from ..errors import SpecError
from .app import (
    echo,
    handle_errors,
    json_option,
    load_plugins,
    main,
    plugin_option,
    print_json,
    print_table,
    say,
)


@main.command()
@click.argument("args", nargs=-1, metavar="[PATTERN] | describe NAME")
@plugin_option
@json_option
@handle_errors
def regimes(args: tuple[str, ...], plugins: tuple[str, ...], as_json: bool) -> None:
    """List training regimes, or describe one: its train: fields with types and defaults."""
    load_plugins(plugins)
    if args and args[0] == "describe":
        if len(args) != 2:
            raise SpecError("usage: specc regimes describe NAME")
        info = describe(args[1])
        if as_json:
            print_json(info)
        else:
            _print_describe(info)
        return
    if len(args) > 1:
        raise SpecError("usage: specc regimes [PATTERN] | specc regimes describe NAME")
    rows = listing(args[0] if args else None)
    if as_json:
        print_json(rows)
        return
    print_table(("regime", "aliases", "from", "targets", "summary"),
                [(r["name"], ", ".join(r["aliases"]), r["provider"] or "", r["targets"],
                  r["summary"]) for r in rows])


def _summary(cls: Any) -> str:
    return inspect.cleandoc(cls.__doc__).splitlines()[0] if cls.__doc__ else ""


def listing(pattern: str | None) -> list[dict[str, Any]]:
    """One row per registered regime (matching the glob ``pattern``)."""
    import fnmatch

    from ..registry import current

    reg = current().trainers
    rows = [{"name": name, "aliases": reg.aliases_of(name), "provider": reg.provider(name),
             "targets": cls.targets, "multiprocess": cls.multiprocess,
             "own_metrics": dict(cls.own_metrics), "summary": _summary(cls)}
            for name, cls in reg.items() if not pattern or fnmatch.fnmatch(name, pattern)]
    if not rows:
        raise SpecError("no regime matches", received=pattern)
    return rows


def describe(name: str) -> dict[str, Any]:
    """The facts ``regimes describe`` shows, as stable keys."""
    from ..registry import current

    reg = current().trainers
    cls = reg.get(name)
    canon = reg.canonical(name)
    return {"name": canon, "class": f"{cls.__module__}.{cls.__qualname__}",
            "aliases": reg.aliases_of(canon), "provider": reg.provider(canon),
            "summary": _summary(cls), "targets": cls.targets, "multiprocess": cls.multiprocess,
            "own_metrics": dict(cls.own_metrics),
            "config": f"{cls.Config.__module__}.{cls.Config.__qualname__}",
            "fields": fields_of(cls.Config),
            "doc": inspect.cleandoc(cls.__doc__) if cls.__doc__ else ""}


def fields_of(model: Any) -> list[dict[str, Any]]:
    """Each field of a ``train:`` model: name, type, required, default, description, the
    config class that declares it (``declared_by``) and the fields of a nested section."""
    from pydantic import BaseModel

    out = []
    for fname, f in model.model_fields.items():
        if fname == "regime":
            continue
        row: dict[str, Any] = {"name": fname, "type": type_text(f.annotation, f.metadata),
                               "required": f.is_required(),
                               "default": None if f.is_required() else _default(f),
                               "description": f.description,
                               "declared_by": next(c.__name__ for c in reversed(model.__mro__)
                                                   if fname in c.__dict__.get("__annotations__",
                                                                              {}))}
        nested = _section(f.annotation)
        if nested is not None and issubclass(nested, BaseModel) and nested.model_fields:
            row["fields"] = fields_of(nested)
        out.append(row)
    return out


def _default(f: Any) -> Any:
    from pydantic import BaseModel

    value = f.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    return value.dump() if hasattr(value, "dump") else value


def _section(ann: Any) -> Any:
    """The model class of a section-typed field (``EarlyStopping | None``), else None."""
    arms = [a for a in (typing.get_args(ann) or (ann,)) if a is not type(None)]
    if typing.get_origin(ann) is dict:
        arms = [typing.get_args(ann)[1]]
    return arms[0] if len(arms) == 1 and isinstance(arms[0], type) else None


def type_text(ann: Any, metadata: Sequence[Any] = ()) -> str:
    """``int | 'full'``, ``optimizer (name or {name: {params}})``, ``EarlyStopping | null``..."""
    from ..entries import RegistryChoice, RegistryName
    from ..registry import current

    marker = next((m for m in metadata if isinstance(m, RegistryName)), None)
    if marker is not None:
        what = current()[marker.group].what
        return f"{what} (name or {{name: {{params}}}})" if isinstance(marker, RegistryChoice) \
            else f"{what} name"
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Annotated:
        return type_text(args[0], list(args[1:]))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        text = " | ".join(type_text(a) for a in args if a is not type(None))
        return text + " | null" if type(None) in args else text
    if origin is not None:
        return f"{getattr(origin, '__name__', origin)}[{', '.join(type_text(a) for a in args)}]"
    return getattr(ann, "__name__", str(ann))


def _print_describe(info: dict[str, Any]) -> None:
    lines = [f"aliases: {', '.join(info['aliases'])}"] if info["aliases"] else []
    lines.append(f"targets: {info['targets']}; several processes: "
                 f"{'yes' if info['multiprocess'] else 'no'}")
    if info["own_metrics"]:
        lines.append("own metrics: " + ", ".join(f"{k} ({m})"
                                                 for k, m in info["own_metrics"].items()))
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in reversed(info["fields"]):  # the regime's own fields first, the shared ones last
        groups.setdefault(f["declared_by"], []).insert(0, f)
    for cls, fields in groups.items():
        lines += ["", f"train: fields from {cls}" + (" (every regime)" if cls == "TrainConfig"
                                                      else "") + ":"]
        lines += _field_lines(fields, "  ")
    lines.append("\n(train.data is described in the README; 'specc regimes describe NAME --json' "
                 "lists its fields too)")
    if info["doc"]:
        lines += ["", info["doc"]]
    say((f"{info['name']}  ({info['class']})", "bold"))
    echo("\n".join(lines), markup=False)


def _field_lines(fields: list[dict[str, Any]], indent: str) -> list[str]:
    out = []
    for f in fields:
        default = "required" if f["required"] else f"default {f['default']!r}"
        out.append(f"{indent}{f['name']}: {f['type']} ({default})")
        if f["description"]:
            out.append(f"{indent}    {f['description']}")
        if f["name"] != "data":
            out += _field_lines(f.get("fields", []), indent + "    ")
    return out
