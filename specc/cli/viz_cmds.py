"""Picture commands: ``specc sample RUN -o grid.png`` and ``specc plot RUN -o curves.png``."""

from __future__ import annotations

import click

from .app import echo, handle_errors, load_plugins, main, plugin_option


@main.command()
@click.argument("run")
@click.option("-o", "--output", default="samples.png", show_default=True,
              type=click.Path(dir_okay=False),
              help="Image file to write (PNG; .svg, .pdf, .jpg also work).")
@click.option("-n", "count", type=click.IntRange(min=1), help="How many samples (default: 64 "
              "drawn samples, 12 reconstructions, 9 traversal steps).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Seed of codes and corruption.")
@click.option("--checkpoint", default="best", show_default=True,
              type=click.Choice(["best", "last"]))
@click.option("--split", type=click.Choice(["val", "test", "train"]),
              help="Samples to reconstruct (default: test if there is one, else val).")
@click.option("--what", help="Which picture, for kinds that draw several (e.g. an RBM's "
              "filters or chains); default: the kind's first.")
@click.option("--traverse", is_flag=True, help="VAEs: a latent traversal, one row per code "
              "dimension (most used first) swept from -3 to 3 around a held-out sample's code "
              "(picked by --seed); -n sets the steps (default 9).")
@plugin_option
@handle_errors
def sample(run: str, output: str, count: int | None, seed: int, checkpoint: str,
           split: str | None, what: str | None, traverse: bool, plugins: tuple[str, ...]) -> None:
    """Draw what a trained run makes: VAE samples from the prior (or a latent traversal with
    --traverse), GAN generator samples, autoencoder reconstructions beside their inputs,
    sparse-autoencoder filters, or the pictures of kinds that draw themselves (RBM filters,
    SOM U-matrix)."""
    from ..viz import sample as draw

    load_plugins(plugins)
    path = draw(run, output, n=count, seed=seed, checkpoint=checkpoint, split=split, what=what,
                traverse=traverse)
    echo(f"wrote {path}", markup=False)


@main.command()
@click.argument("runs", nargs=-1, required=True)
@click.option("-o", "--output", default="curves.png", show_default=True,
              type=click.Path(dir_okay=False),
              help="Image file to write (PNG; .svg, .pdf, .jpg also work).")
@handle_errors
def plot(runs: tuple[str, ...], output: str) -> None:
    """Plot training curves (loss, metrics, learning rate) from the metrics.csv of one or
    more runs; validation curves are dashed."""
    from ..viz import plot_runs

    path = plot_runs(list(runs), output)
    echo(f"wrote {path}", markup=False)
