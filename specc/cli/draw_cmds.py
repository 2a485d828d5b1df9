"""``specc draw SPEC -o model.svg|model.html``: the network as a diagram (torch not imported)."""

from __future__ import annotations

import click

from .app import echo, handle_errors, load_plugins, main, plugin_option, set_option


@main.command()
@click.argument("spec")
@click.option("-o", "--output", default="model.svg", show_default=True,
              type=click.Path(dir_okay=False),
              help="File to write: .svg (a picture) or .html (a page: pan, zoom, open blocks).")
@set_option
@plugin_option
@click.option("--direction", type=click.Choice(["TB", "LR"], case_sensitive=False),
              default="TB", show_default=True, help="Top to bottom or left to right.")
@click.option("--expand", is_flag=True, help="Draw every block instance open (default: one "
              "box per instance, with its in/out shapes).")
@click.option("--network", help="Only this network of a multi-network spec.")
@handle_errors
def draw(spec: str, output: str, overrides: tuple[str, ...], plugins: tuple[str, ...],
         direction: str, expand: bool, network: str | None) -> None:
    """Draw a spec (file, built-in name or run folder) with every inferred shape: boxes show
    kind, key parameters, output shape and parameter count; edges carry tensor shapes."""
    from ..diagram import check_output
    from ..diagram import draw as draw_spec

    check_output(output)  # before the spec is loaded: a wrong name fails fast
    load_plugins(plugins)
    path = draw_spec(spec, output, overrides=overrides, direction=direction.upper(),
                     expand=expand, network=network)
    echo(f"wrote {path}", markup=False)
