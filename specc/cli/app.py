"""The click group every command module attaches to, and the shared error handling."""

from __future__ import annotations

import errno
import functools
import importlib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from ..errors import SpecError

EXIT_OK, EXIT_INTERNAL, EXIT_USER, EXIT_INTERRUPTED = 0, 1, 2, 130
_PATH_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.ELOOP, errno.EACCES, errno.EPERM,
                          errno.EROFS, errno.ENOSPC, errno.EDQUOT})


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def echo(text: str = "", *, markup: bool = True) -> None:
    """Print to stdout through rich on a terminal; plain text (no rich import) otherwise.

    ``markup`` is for text written here only: user text goes through :func:`say`, never into
    markup (rich would read ``[/x]`` in a name as a tag and fail)."""
    if not sys.stdout.isatty():
        click.echo(_MARKUP.sub("", text) if markup else text)
        return
    _console().print(text, markup=markup)


_MARKUP = re.compile(r"\[/?[a-z][a-z ]*\]|\[/\]")

Part = str | tuple[str, str]


def say(*parts: Part) -> None:
    """Print one line made of literal parts, each a string or ``(text, style)``: styled on a
    terminal, plain when piped. Nothing in a part is read as markup. Styles of a bold/dim word
    and one colour are written by click (importing rich takes longer than a ``validate``)."""
    if not sys.stdout.isatty():
        click.echo("".join(p if isinstance(p, str) else p[0] for p in parts))
        return
    texts = [p if isinstance(p, str) else _ansi(*p) for p in parts]
    if None not in texts:
        click.echo("".join(t or "" for t in texts), color=True)
        return
    from rich.text import Text

    _console().print(Text.assemble(*parts))


_COLOURS = frozenset({"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"})


def _ansi(text: str, style: str) -> str | None:
    """``text`` in a simple rich ``style`` ("green", "bold red", "dim") as ANSI codes, as rich
    would print it (no colour with NO_COLOR, nothing on a dumb terminal); None for others."""
    words = style.split()
    flags = {w: True for w in words if w in ("bold", "dim")}
    colours = [w for w in words if w not in flags]
    if len(colours) > 1 or not set(colours) <= _COLOURS:
        return None
    if os.environ.get("TERM") == "dumb":
        return text
    fg = None if os.environ.get("NO_COLOR") else next(iter(colours), None)
    return click.style(text, fg=fg, **flags) if fg or flags else text


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]], *,
                title: str | None = None) -> None:
    """A table of literal cells (never markup). On a terminal a rich table whose cells fold
    rather than end in '...'; piped, aligned plain columns with every cell whole (newlines
    in a cell become '; '), so ``| grep NAME`` finds every identifier."""
    cells = [[str(c) for c in row] for row in rows]
    if not sys.stdout.isatty():
        table = [list(headers), *[[c.replace("\n", "; ") for c in row] for row in cells]]
        widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
        if title:
            click.echo(title)
        for row in table:
            click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        return
    from rich.table import Table
    from rich.text import Text

    grid = Table(box=None, title=Text(title) if title else None)
    for i, head in enumerate(headers):
        longest = max((len(r[i]) for r in cells), default=0)
        grid.add_column(Text(head), overflow="fold",
                        min_width=min(longest, 40) if i == 0 else None)
    for row in cells:
        grid.add_row(*[Text(c) for c in row])
    _console().print(grid)


def print_json(data: Any) -> None:
    """``data`` as strict JSON on stdout: NaN and infinities become null, numpy scalars and
    tuples plain values."""
    click.echo(json.dumps(_jsonable(data), indent=2, allow_nan=False))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    return str(value)


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Machine-readable JSON on stdout (see README).")


def report_error(err: SpecError) -> None:
    """The error on stderr, coloured on a terminal. Styles wrap the lines as literal text,
    never markup: the message quotes user text (``[/x]``, ``a\\[b]``, ``:smile:``) that must
    show as it is."""
    text = err.render(color=False)
    if not sys.stderr.isatty():
        click.echo(text, err=True)
        return
    heads = {issue.text() for issue in err.issues}
    lines = []
    for line in text.split("\n"):
        style = ("bold red" if line in heads else "cyan" if line.startswith("  hint: ")
                 else "red" if _CARET.match(line) else "")
        lines.append(_ansi(line, style) or line)
    click.echo("\n".join(lines), err=True, color=True)


_CARET = re.compile(r"^ +\| +\^$")


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
        except BrokenPipeError:  # `specc ... | head` stopped reading: not an error
            _quiet_stdout()
            sys.exit(EXIT_OK)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # an internal failure, not the user's
            if isinstance(exc, OSError) and exc.errno in _PATH_ERRNOS and exc.filename:
                # the file system refused a path (too long, a link loop, no permission, full
                # disk): about the user's path or machine, wherever in specc it was met
                report_error(SpecError(f"cannot use '{exc.filename}': {exc.strerror}",
                                       hint="check the path, its permissions and free space"))
                sys.exit(EXIT_USER)
            if os.environ.get("SPECC_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("this is a bug in specc or a plugin; please report it "
                       "(set SPECC_DEBUG=1 for the traceback)", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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


#: The module of :mod:`specc.cli` that defines each command; the module is imported when its
#: command is first wanted (``specc validate`` imports the core commands only).
COMMAND_MODULES = {
    **dict.fromkeys(("validate", "build", "list", "show", "layers"), "core_cmds"),
    "schema": "schema_cmds",
    "draw": "draw_cmds", "generate": "generate_cmds", "export": "onnx_cmds", "run": "onnx_cmds",
    "plugins": "plugin_cmds", "plugin": "plugin_cmds", "regimes": "regime_cmds",
    **dict.fromkeys(("train", "evaluate", "predict"), "train_cmds"),
    "sample": "viz_cmds", "plot": "viz_cmds",
    **dict.fromkeys(("sweep", "sweep-worker"), "sweep_cmds"),
}


class SpeccGroup(click.Group):
    """Click group whose usage errors exit with code 2 (click's default) and list commands;
    each command module is imported on first use (see :data:`COMMAND_MODULES`)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"{__package__}.{module}")
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_commands()
        return super().list_commands(ctx)


def load_commands() -> None:
    """Import every command module (help, completion and tests that walk the commands)."""
    for module in sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"{__package__}.{module}")


@click.group(cls=SpeccGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="specc")
def main() -> None:
    """specc: compile declarative YAML/JSON network specs into PyTorch and ONNX."""
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints as its bytes
        try:
            stream.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            pass
