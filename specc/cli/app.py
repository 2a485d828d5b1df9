"""The click group every command module attaches to, and the shared error handling."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import click

from ..errors import SpecError

EXIT_OK, EXIT_INTERNAL, EXIT_USER, EXIT_INTERRUPTED = 0, 1, 2, 130


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def echo(text: str = "", *, markup: bool = True) -> None:
    """Print to stdout through rich on a terminal; plain text (no rich import) otherwise."""
    if not sys.stdout.isatty():
        click.echo(_MARKUP.sub("", text) if markup else text)
        return
    _console().print(text, markup=markup)


_MARKUP = re.compile(r"\[/?[a-z][a-z ]*\]|\[/\]")


def report_error(err: SpecError) -> None:
    con = _console(stderr=True)
    con.print(err.render(color=con.is_terminal), markup=con.is_terminal)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body: SpecError -> message + exit 2; bug -> short report + exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SpecError as err:
            report_error(err)
            sys.exit(EXIT_USER)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # an internal failure, not the user's
            if os.environ.get("SPECC_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("this is a bug in specc or a plugin; please report it "
                       "(set SPECC_DEBUG=1 for the traceback)", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper


def load_plugins(modules: tuple[str, ...]) -> None:
    """Import the ``--plugin`` modules into the registry in force."""
    if modules:
        from ..registry import current

        for module in modules:
            current().load_module(module)


plugin_option = click.option(
    "--plugin", "plugins", multiple=True, metavar="MODULE",
    help="Import a plugin module that registers layers/trainers/datasets (repeatable).")
set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override a spec value, e.g. --set params.num_classes=5 or train.epochs=3.")


class SpeccGroup(click.Group):
    """Click group whose usage errors exit with code 2 (click's default) and list commands."""


@click.group(cls=SpeccGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="specc")
def main() -> None:
    """specc: compile declarative YAML/JSON network specs into PyTorch and ONNX."""
