"""Plugin commands: ``specc plugins`` (what is installed and whether it loaded) and
``specc plugin new NAME`` (a ready-to-install plugin package)."""

from __future__ import annotations

from pathlib import Path

import click

from ..registry import PluginInfo
from .app import (
    handle_errors,
    json_option,
    load_plugins,
    main,
    plugin_option,
    print_json,
    print_table,
    say,
)

_STATUS = {"ok": "ok", "partial": "partly loaded", "broken": "broken"}


def _status(info: PluginInfo) -> str:
    if not info.errors:
        return "ok"
    return "partial" if info.provides else "broken"


@main.command()
@plugin_option
@json_option
@handle_errors
def plugins(plugins: tuple[str, ...], as_json: bool) -> None:
    """List installed plugins (built-in specc included): version, what each provides, and
    whether it loaded. A broken plugin is shown with its reason; the exit code stays 0."""
    from ..registry import current

    load_plugins(plugins)
    regs = current()
    regs.ensure_discovered()
    infos = sorted(regs.plugins.values(), key=lambda i: (i.name != "specc", i.name.lower()))
    if as_json:
        print_json([{"name": i.name, "version": i.version, "status": _status(i),
                     "provides": i.provides, "not_loaded": i.broken, "errors": i.errors}
                    for i in infos])
        return
    rows = []
    for info in infos:
        provides = [f"{group}: {', '.join(sorted(names))}"
                    for group, names in sorted(info.provides.items())]
        provides += [f"{group} (not loaded): {', '.join(sorted(names))}"
                     for group, names in sorted(info.broken.items())]
        rows.append((info.name, info.version or "-", "\n".join(provides) or "-",
                     _STATUS[_status(info)]))
    print_table(("plugin", "version", "provides", "status"), rows)
    failed = [i for i in infos if i.errors]
    for info in failed:
        for reason in info.errors:  # literal text: reasons hold ':Name:' and '[...]'
            say((info.name, "red"), f": {reason}")
    if failed:
        say("specs that do not use a broken plugin keep working; a spec that does "
            "gets an error naming it.")


@main.group()
def plugin() -> None:
    """Create plugin packages."""


@plugin.command("new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False),
              help="Where to write the package (default: ./NAME).")
@click.option("--layer", "layer", default="gated_dense", show_default=True,
              help="Name of the example layer kind (snake_case, not a Python keyword, unique "
              "among built-in and installed kinds).")
@handle_errors
def new(name: str, directory: str | None, layer: str) -> None:
    """Write a plugin package NAME: pyproject with a specc.layers entry point, one example
    layer kind, a test using specc.testing, and a README. It installs and passes its tests."""
    from ..plugin_scaffold import write_plugin

    dest = Path(directory) if directory else Path(name)
    written = write_plugin(name, dest, layer)  # refuses an existing non-empty folder
    for path in written:
        say(f"wrote {path}")
    say(f"\nnext:\n  pip install -e {dest}\n  pytest {dest / 'tests'}\n"
        f"  specc layers describe {layer}")
