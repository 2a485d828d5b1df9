"""ONNX commands: ``specc export`` (checked export, parity table, int8) and ``specc run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import SpecError
from .app import echo, handle_errors, load_plugins, main, plugin_option, say, set_option

MAX_ROWS = 20


@main.command()
@click.argument("source", metavar="RUN_OR_SPEC")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The .onnx file to write [default: model.onnx in a run directory, else "
                   "NAME.onnx].")
@click.option("--weights", type=click.Path(dir_okay=False),
              help="Weights (.safetensors) instead of a fresh initialisation or the run's "
                   "best checkpoint.")
@click.option("--network", help="Which network of a multi-network spec (e.g. generator).")
@click.option("--opset", type=int, default=None, help="ONNX opset [default: 18].")
@click.option("--exporter", type=click.Choice(["auto", "dynamo", "torchscript"]),
              default="auto", show_default=True,
              help="auto: torch's TorchScript exporter, its dynamo exporter where that fails.")
@click.option("--quantize", type=click.Choice(["int8"]),
              help="Also write NAME.int8.onnx (dynamic quantization) and compare it.")
@click.option("--int8-weights", type=click.Choice(["auto", "signed", "unsigned"]),
              default="auto", show_default=True,
              help="auto: unsigned on x86 CPUs without VNNI (signed ones saturate there), "
                   "else signed.")
@click.option("--bare", "--no-preprocess", "bare", is_flag=True,
              help="Export the network alone, without the run's input preprocessing and "
                   "target scaling (by default they are ops of the graph, so the model takes "
                   "raw inputs as 'specc predict' does).")
@click.option("--keep-failed", is_flag=True, help="Keep a model that fails the parity check.")
@click.option("--form", help="Export this inference form the spec declares (forms:), e.g. "
              "step, to NAME.onnx in the run directory.")
@click.option("--inputs", "cut_inputs", metavar="A,B", default="",
              help="Export the sub-graph fed at these nodes (comma-separated).")
@click.option("--outputs", "cut_outputs", metavar="C,D", default="",
              help="Export the sub-graph up to these nodes (comma-separated).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Initialisation seed (specs).")
@set_option
@plugin_option
@handle_errors
def export(source: str, output: str | None, weights: str | None, network: str | None,
           opset: int | None, exporter: str, quantize: str | None, int8_weights: str,
           bare: bool, keep_failed: bool, form: str | None, cut_inputs: str, cut_outputs: str,
           seed: int, overrides: tuple[str, ...], plugins: tuple[str, ...]) -> None:
    """Export a spec or a trained run to ONNX, check it and compare it with PyTorch.

    With --form NAME, export one of the spec's inference forms instead (step, greedy_decode,
    free_run, cut); with --inputs/--outputs, the sub-graph between those nodes."""
    from ..backends.onnx import DEFAULT_OPSET
    from ..backends.onnx import export as do_export

    load_plugins(plugins)
    try:
        result = do_export(source, output, network=network, weights=weights,
                           opset=opset or DEFAULT_OPSET, exporter=exporter, quantize=quantize,
                           int8_weights=int8_weights, keep_failed=keep_failed,
                           overrides=overrides, seed=seed, preprocess=not bare, form=form,
                           inputs=_names(cut_inputs), outputs=_names(cut_outputs))
    except SpecError as err:
        parity = getattr(err, "parity", None)
        if parity is not None:
            _print(parity.table())
        raise
    for note in result.notes:
        say((f"note: {note}", "dim"))
    secs = sum(result.seconds.values())
    say(("exported", "green"), f" {result.path} ({result.exporter} exporter, opset "
        f"{result.opset}, {_size(result.size_bytes)}) in {secs:.1f} s")
    if result.parity is not None:
        _print(result.parity.table())
        p = result.parity
        say(("parity ok", "green"), f": max |diff| {p.max_abs_diff:.2e} <= {p.tolerance:g} "
            f"over {len(p.cases)} cases; written to {result.parity_path}")
    if result.quantized is not None:
        for line in result.quantized.lines():
            echo(line, markup=False)


@main.command()
@click.argument("model", type=click.Path(dir_okay=False), metavar="MODEL.onnx")
@click.option("-i", "--input", "input_path", required=True, type=click.Path(),
              help="Input file: .npy, .npz (one array per input), .csv (one sample per row) "
                   "or an image.")
@click.option("--provider", default="auto", show_default=True,
              help="auto (CUDA when it works, else CPU), cpu or cuda.")
@click.option("--batch-size", type=int, default=None, help="Samples per onnxruntime call.")
@click.option("--preprocess/--no-preprocess", default=None,
              help="For a model exported with --bare: apply the preprocessing recorded at "
                   "training (scaling) to the input [default: image files only]. Other "
                   "models apply it themselves.")
@click.option("--save", type=click.Path(dir_okay=False),
              help="Write the raw outputs to this .npy (or .npz for several outputs).")
@handle_errors
def run(model: str, input_path: str, provider: str, batch_size: int | None,
        preprocess: bool | None, save: str | None) -> None:
    """Run an exported model in onnxruntime and print its predictions."""
    import numpy as np

    from ..backends.onnx import InferenceSession
    from ..backends.onnx.inputs import read_inputs

    if batch_size is not None and batch_size < 1:
        raise SpecError("--batch-size must be positive", received=batch_size)
    session = InferenceSession(model, provider=provider)
    where = f"provider: {session.providers[0]}"
    if session.provider_note:
        where += f" ({session.provider_note})"
    say((where, "dim"))
    feeds, notes = read_inputs(input_path, session, preprocess=preprocess)
    for note in notes:
        say((note, "dim"))
    out = session.run(feeds, batch_size=batch_size)
    outputs = out if isinstance(out, dict) else {session.output_names[0]: out}
    if save:
        from ..fileio import atomic_output

        ext = ".npy" if len(outputs) == 1 else ".npz"  # numpy's own naming
        path = Path(save) if save.endswith(ext) else Path(save + ext)
        with atomic_output(path, "--save file") as tmp, open(tmp, "wb") as fh:
            if len(outputs) == 1:
                np.save(fh, next(iter(outputs.values())))
            else:
                np.savez(fh, **outputs)
        say((f"outputs written to {path}", "dim"))
    first = next(iter(outputs.values()))
    if session.is_classifier:
        _print_classes(session, first)
    else:
        for name, value in outputs.items():
            _print_array(name, session.target_units(value, name))


def _print_classes(session: Any, probs: Any) -> None:
    import numpy as np

    idx = session.classes(probs)
    labels = session.labels
    flat = probs.reshape(len(probs), -1) if probs.ndim > 2 else probs
    for row in range(min(len(idx), MAX_ROWS)):
        k = idx[row]
        if np.ndim(k):  # e.g. per-pixel classes: show the array
            _print_array(f"sample {row}", k)
            continue
        score = float(flat[row, 0] if flat.shape[-1] == 1 else flat[row, int(k)])
        if flat.shape[-1] == 1 and int(k) == 0:
            score = 1 - score
        name = labels[int(k)] if labels and int(k) < len(labels) else str(int(k))
        echo(f"{row}: {name}  (p={score:.4f})", markup=False)
    if len(idx) > MAX_ROWS:
        echo(f"... {len(idx) - MAX_ROWS} more (use --save to keep all outputs)", markup=False)


def _print_array(name: str, value: Any) -> None:
    import numpy as np

    echo(f"{name}: shape {tuple(value.shape)} {value.dtype}", markup=False)
    echo(np.array2string(value[:MAX_ROWS], precision=4, suppress_small=True, threshold=200),
         markup=False)
    if len(value) > MAX_ROWS:
        echo(f"... {len(value) - MAX_ROWS} more rows (use --save to keep all outputs)",
             markup=False)


def _print(renderable: Any) -> None:
    """A rich table: 110 columns on a terminal; piped, as wide as it needs (names whole)."""
    import sys

    from rich.console import Console

    width = 110 if sys.stdout.isatty() else 1000
    Console(highlight=False, soft_wrap=False, emoji=False, width=width).print(renderable)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 2**20 else f"{n / 2**20:.1f} MiB"
