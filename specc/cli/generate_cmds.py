"""``specc generate``: sample text from a trained character model (char_rnn)."""

from __future__ import annotations

import click

from ..text_generation import MAX_LENGTH
from .app import handle_errors, load_plugins, main, plugin_option


@main.command()
@click.argument("run")
@click.option("--length", "-n", default=200, show_default=True,
              type=click.IntRange(0, MAX_LENGTH), help=f"Characters to generate (at most "
              f"{MAX_LENGTH:,}).")
@click.option("--temperature", "-t", default=1.0, show_default=True,
              type=click.FloatRange(min=0), help="1 samples the model's distribution, lower is "
              "more conservative, 0 always takes the most likely character.")
@click.option("--prompt", "-p", default="", help="Text to start from (default: a newline).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1),
              help="Seed of the sampler, for a reproducible sample.")
@click.option("--checkpoint", default="best", show_default=True,
              type=click.Choice(["best", "last"]))
@click.option("--context", type=click.IntRange(min=1),
              help="Characters the model sees, re-run for each new one (default: a recurrent "
              "model carries its state over everything so far; others see the training "
              "window).")
@click.option("--windowed", is_flag=True,
              help="Re-run a recurrent model over the last --context characters for each "
              "character instead of carrying its state (the slow way).")
@click.option("--no-prompt", "hide_prompt", is_flag=True,
              help="Print only the generated text, not the prompt before it.")
@plugin_option
@handle_errors
def generate(run: str, length: int, temperature: float, prompt: str, seed: int | None,
             checkpoint: str, context: int | None, windowed: bool, hide_prompt: bool,
             plugins: tuple[str, ...]) -> None:
    """Sample text from RUN, a run of a character-level model (e.g. the char_rnn spec).

    Prints the prompt followed by LENGTH sampled characters.
    """
    from ..text_generation import generate as generate_text

    load_plugins(plugins)
    text = generate_text(run, length=length, temperature=temperature, prompt=prompt, seed=seed,
                         checkpoint=checkpoint, context=context, windowed=windowed)
    click.echo(text if hide_prompt else prompt + text)
