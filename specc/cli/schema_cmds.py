"""``specc schema``: the JSON Schema of the spec language, and ``--check`` of specs against it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import click

from ..errors import SpecError
from .app import EXIT_USER, handle_errors, load_plugins, main, plugin_option, report_error, say


@main.command()
@plugin_option
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Write to a file.")
@click.option("--check", "checks", multiple=True, metavar="SPEC",
              help="Check a spec file (or built-in name) against the schema instead of "
                   "printing it, as an editor would (repeatable; torch is not imported).")
@handle_errors
def schema(plugins: tuple[str, ...], out: str | None, checks: tuple[str, ...]) -> None:
    """JSON Schema (draft-07) of the spec language (plugins included) for editors."""
    from ..schema import json_schema

    load_plugins(plugins)
    document = cache(json_schema)  # built once, and not for files that are no spec at all
    if out:
        from ..fileio import atomic_write

        atomic_write(out, json.dumps(document(), indent=1), "schema file")
        say(f"wrote {out}")
    elif not checks:
        click.echo(json.dumps(document(), indent=1))
    if checks and not _check_all(checks, document):
        sys.exit(EXIT_USER)


def _check_all(paths: tuple[str, ...], document: Callable[[], dict[str, Any]]) -> bool:
    """Check each spec; report its problems located in its file. True when all pass."""
    from ..schema_check import check
    from ..spec.builtin import builtin_path
    from ..spec.loader import read_source

    ok = True
    for name in paths:
        path = Path(name)
        if not path.exists() and "/" not in name and not path.suffix:
            path = builtin_path(name) or path
        try:
            src = read_source(path)
            if not isinstance(src.data, dict):
                raise SpecError("not a spec: a spec is a YAML or JSON mapping at the top level",
                                file=str(path), received=type(src.data).__name__)
            errors = check(src.data, document())
            if errors:
                located = src.error(SpecError.collect(errors))
                located.issues.sort(key=lambda i: (i.line or 0, i.col or 0))
                raise located
        except SpecError as err:
            ok = False
            report_error(err)
            continue
        say(("ok", "green"), f" {name}: matches the schema")
    return ok
