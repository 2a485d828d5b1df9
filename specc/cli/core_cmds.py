"""Core commands: validate, build, list, show, layers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import SpecError
from .app import (
    EXIT_USER,
    echo,
    handle_errors,
    json_option,
    load_plugins,
    main,
    plugin_option,
    print_json,
    print_table,
    report_error,
    say,
    set_option,
)


@main.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@set_option
@plugin_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable errors on stdout.")
@handle_errors
def validate(specs: tuple[str, ...], overrides: tuple[str, ...], plugins: tuple[str, ...],
             as_json: bool) -> None:
    """Check specs: syntax, fields, graph and every tensor shape (torch is not imported)."""
    from ..assembled import load

    load_plugins(plugins)
    results = []
    failed = False
    for path in specs:
        try:
            spec = load(path, overrides)
        except SpecError as err:
            failed = True
            if as_json:
                results.append({"spec": path, "ok": False, "errors": err.as_json()})
            else:
                report_error(err)
            continue
        t, f = spec.param_counts
        if as_json:
            results.append({"spec": path, "ok": True, "name": spec.name,
                            "networks": list(spec.networks), "params": t + f})
        else:
            nets = ", ".join(spec.networks)
            say(("ok", "green"), f" {path}: {spec.name} ({nets}; {t + f:,} parameters)")
    if as_json:
        click.echo(json.dumps(results, indent=2))
    if failed:
        sys.exit(EXIT_USER)


@main.command()
@click.argument("spec")
@set_option
@plugin_option
@click.option("--network", help="Only this network of a multi-network spec.")
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Write the initial weights as safetensors.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Initialisation seed.")
@json_option
@handle_errors
def build(spec: str, overrides: tuple[str, ...], plugins: tuple[str, ...], network: str | None,
          out: str | None, seed: int, as_json: bool) -> None:
    """Compile a spec and print a Keras-style summary; optionally save initial weights."""
    from ..assembled import load

    load_plugins(plugins)
    s = load(spec, overrides)
    if network is not None:
        s.network(network)
        s.networks = {network: s.networks[network]}
    written = _write_weights(s, out, seed) if out else []
    if as_json:
        print_json({"name": s.name, "networks": {name: _graph_json(graph)
                                                 for name, graph in s.networks.items()},
                    "weights": [str(p) for p in written]})
        return
    from ..summarize import summary_text

    echo(summary_text(s), markup=False)
    for target in written:
        say(f"wrote {target}")


def _graph_json(graph: Any) -> dict[str, Any]:
    """One network for ``build --json``: inputs, nodes in order, outputs, parameter totals."""

    def tensor(t: Any) -> dict[str, Any]:
        return {"shape": list(t.shape), "dtype": t.dtype}

    return {
        "inputs": {name: tensor(t) for name, t in graph.inputs.items()},
        "nodes": [{"name": name, "kind": node.kind, "activation": node.activation,
                   "inputs": list(node.inputs), "output": tensor(node.type),
                   "params": node.n_trainable + node.n_frozen,
                   "trainable_params": node.n_trainable, "shares": node.share,
                   "trainable": node.trainable} for name, node in graph.nodes.items()],
        "outputs": {name: tensor(t) for name, t in graph.output_types.items()},
        "params": {"total": sum(graph.param_counts), "trainable": graph.param_counts[0],
                   "non_trainable": graph.param_counts[1]},
    }


def _write_weights(s: Any, out: str, seed: int) -> list[Path]:
    """Initial weights of every network as safetensors; the paths written."""
    from ..api import build as build_module
    from ..api import save_weights
    from ..backends.torch import count_torch_params

    written = []
    for i, (name, graph) in enumerate(s.networks.items()):
        module = build_module(s, name, seed=seed + i)
        got = count_torch_params(module)
        if got != graph.param_counts:  # shape inference and torch must agree
            raise RuntimeError(f"parameter count mismatch for {name}: inferred "
                               f"{graph.param_counts}, torch {got}")
        target = Path(out) if len(s.networks) == 1 else \
            Path(out).with_name(f"{Path(out).stem}.{name}{Path(out).suffix}")
        save_weights(module, target)
        written.append(target)
    return written


@main.command(name="list")
@click.argument("pattern", required=False)
@json_option
@handle_errors
def list_specs(pattern: str | None, as_json: bool) -> None:
    """List built-in specs (optionally matching a glob such as 'res*')."""
    from ..spec.builtin import builtin_names, builtin_path
    from ..spec.loader import read_source

    names = builtin_names(pattern)
    if not names:
        raise SpecError("no built-in spec matches", received=pattern)
    rows = []
    for name in names:
        data = read_source(builtin_path(name)).data  # type: ignore[arg-type]
        rows.append({"name": name, "family": str(data.get("family", "")),
                     "bar": str(data.get("bar", ""))})
    if as_json:
        print_json(rows)
    else:
        print_table(("name", "family", "bar"), [tuple(r.values()) for r in rows])


@main.command()
@click.argument("name")
@json_option
@handle_errors
def show(name: str, as_json: bool) -> None:
    """Print a built-in spec's YAML (NAME as listed by 'specc list'; not a file path).

    With --json: the spec's content as one JSON object."""
    from ..errors import did_you_mean
    from ..spec.builtin import builtin_names, builtin_path, is_builtin_name

    if not is_builtin_name(name):
        raise SpecError("show takes the name of a built-in spec, not a path", received=name,
                        hint="see 'specc list'; to print a file of your own, use cat")
    path = builtin_path(name)
    if path is None:
        raise SpecError(f"no built-in spec '{name}'",
                        hint=did_you_mean(name, builtin_names()) or "see 'specc list'")
    if as_json:
        from ..spec.loader import read_source

        print_json(read_source(path).data)
    else:
        click.echo(path.read_text(), nl=False)


@main.command()
@click.argument("args", nargs=-1, metavar="[PATTERN] | describe NAME")
@plugin_option
@json_option
@handle_errors
def layers(args: tuple[str, ...], plugins: tuple[str, ...], as_json: bool) -> None:
    """List layer kinds, or describe one: parameters, shapes and an example."""
    load_plugins(plugins)
    if args and args[0] == "describe":
        if len(args) != 2:
            raise SpecError("usage: specc layers describe NAME")
        if as_json:
            print_json(_describe_json(args[1]))
        else:
            _describe(args[1])
        return
    if len(args) > 1:
        raise SpecError("usage: specc layers [PATTERN] | specc layers describe NAME")
    _list_layers(args[0] if args else None, as_json)


def _list_layers(pattern: str | None, as_json: bool) -> None:
    import fnmatch

    from ..registry import current

    reg = current().layers
    rows = [{"name": name, "aliases": reg.aliases_of(name), "provider": reg.provider(name),
             "summary": kind.summary()}
            for name, kind in reg.items() if not pattern or fnmatch.fnmatch(name, pattern)]
    if not rows:
        raise SpecError("no layer kind matches", received=pattern)
    if as_json:
        print_json(rows)
        return
    print_table(("kind", "aliases", "from", "summary"),
                [(r["name"], ", ".join(r["aliases"]), r["provider"] or "", r["summary"])
                 for r in rows])


def _describe_json(name: str) -> dict[str, Any]:
    """``layers describe NAME --json``: the facts the text form shows, as stable keys."""
    import inspect

    from ..registry import current

    reg = current().layers
    kind = reg.get(name)
    canon = reg.canonical(name)
    params = []
    for fname, f in kind.Params.model_fields.items():
        params.append({"name": fname, "type": _type_text(f.annotation, f.metadata),
                       "required": f.is_required(),
                       "default": None if f.is_required() else f.get_default(),
                       "constraints": _constraints(f.metadata) or None,
                       "description": f.description})
    return {"name": canon, "class": f"{kind.__module__}.{kind.__qualname__}",
            "aliases": reg.aliases_of(canon), "provider": reg.provider(canon),
            "summary": kind.summary(),
            "inputs": {"min": kind.min_inputs, "max": kind.max_inputs},
            "parameters": params,
            "doc": inspect.cleandoc(kind.__doc__) if kind.__doc__ else "",
            "export_note": kind.export_note or None}


def _describe(name: str) -> None:
    from ..registry import current

    reg = current().layers
    kind = reg.get(name)
    canon = reg.canonical(name)
    lines = [f"{canon}  ({kind.__module__}.{kind.__qualname__})"]
    aliases = reg.aliases_of(canon)
    if aliases:
        lines.append(f"aliases: {', '.join(aliases)}")
    hi = "any" if kind.max_inputs is None else kind.max_inputs
    lines.append(f"inputs: {kind.min_inputs}" + ("" if hi == kind.min_inputs else f"..{hi}"))
    lines.append("")
    lines.append("parameters:")
    for fname, f in kind.Params.model_fields.items():
        ann = _type_text(f.annotation, f.metadata)
        default = "required" if f.is_required() else f"default {f.get_default()!r}"
        cons = _constraints(f.metadata)
        lines.append(f"  {fname}: {ann} ({default}{'; ' + cons if cons else ''})")
        if f.description:
            lines.append(f"      {f.description}")
    if not kind.Params.model_fields:
        lines.append("  (none)")
    lines.append("")
    doc = (kind.__doc__ or "").strip()
    if doc:
        import inspect

        lines.append(inspect.cleandoc(kind.__doc__))
    if kind.export_note:
        lines.append(f"\nONNX: {kind.export_note}")
    say((lines[0], "bold"))
    echo("\n".join(lines[1:]), markup=False)


def _type_text(annotation: object, metadata: Any = ()) -> str:
    """``int | tuple[int, int]``, ``one of relu, tanh`` ... for describe output."""
    import typing

    from ..entries import RegistryChoice, RegistryName
    from ..registry import current

    marker = next((m for m in metadata if isinstance(m, RegistryName)), None)
    if marker is not None:  # a registry entry's name: the names registered now
        reg = current()[marker.group]
        text = f"one of {', '.join(reg.names())}"
        return text + ", or {name: {parameters}}" if isinstance(marker, RegistryChoice) else text
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_text(args[0], args[1:])
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [_type_text(a) for a in args if a is not type(None)]
        text = " | ".join(parts)
        return text + " | null" if type(None) in args else text
    if origin is not None:
        return f"{getattr(origin, '__name__', origin)}[{', '.join(_type_text(a) for a in args)}]"
    return getattr(annotation, "__name__", str(annotation))


def _constraints(metadata: list[object]) -> str:
    ops = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "min_length": "min length",
           "max_length": "max length"}
    out = []
    for m in metadata:
        for attr, sym in ops.items():
            v = getattr(m, attr, None)
            if v is not None:
                out.append(f"{sym} {v}")
    return ", ".join(out)
