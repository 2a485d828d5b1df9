"""Training commands: train, evaluate, predict."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import SpecError
from .app import (
    EXIT_INTERRUPTED,
    handle_errors,
    load_plugins,
    main,
    plugin_option,
    print_json,
    print_table,
    say,
    set_option,
)

MAX_NPROC = 64  # worker processes of one machine
MAX_THREADS = max(256, 4 * (os.cpu_count() or 1))  # torch threads; more only thrash
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


@main.command()
@click.argument("spec", required=False)
@set_option
@plugin_option
@click.option("--out", type=click.Path(file_okay=False), help="Run directory (default "
              "runs/<name>/<timestamp>): a new or empty folder, or an earlier run with "
              "--overwrite.")
@click.option("--overwrite", is_flag=True, help="Replace the earlier specc run in --out (a "
              "folder that is not a run is never written into).")
@click.option("--resume", is_flag=False, flag_value="", default=None, metavar="[RUN]",
              help="Continue a run from its last checkpoint: `specc train RUN --resume` or "
              "`specc train --resume RUN`.")
@click.option("--epochs", type=click.IntRange(min=0), help="Override train.epochs.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Override train.seed.")
@click.option("--device", default="auto", show_default=True,
              type=click.Choice(["auto", "cpu", "cuda"]), help="Where to train.")
@click.option("--nproc", default=1, show_default=True, type=click.IntRange(1, MAX_NPROC),
              help="Data-parallel worker processes (torch.distributed; gloo on CPU, NCCL on GPU).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option("--threads", type=click.IntRange(1, MAX_THREADS), envvar="SPECC_THREADS",
              help="CPU threads for torch (env SPECC_THREADS). 1 is much faster for small "
              "models on a busy machine; default: torch's choice.")
@handle_errors
def train(spec: str | None, overrides: tuple[str, ...], plugins: tuple[str, ...], out: str | None,
          overwrite: bool, resume: str | None, epochs: int | None, seed: int | None, device: str,
          nproc: int, quiet: bool, threads: int | None) -> None:
    """Train SPEC (a file or built-in name) and write a run directory.

    Multi-node: on node R of N run `GLOO_SOCKET_IFNAME=IFACE torchrun --nnodes N
    --node-rank R --nproc-per-node P --master-addr NODE0 --master-port PORT -m
    specc.cli.worker SPEC --out DIR` (node 0 writes DIR; see the README).
    """
    from ..train.api import train as train_api
    from ..train.session import Interrupted

    load_plugins(plugins)
    if threads:
        import torch

        torch.set_num_threads(threads)
    if resume is not None:
        target = resume or spec
        if not target:
            raise SpecError("--resume needs a run directory", hint="specc train RUN --resume")
        resume_arg: Any = target
        source = None
    else:
        if not spec:
            raise SpecError("give a spec to train", hint="specc train specs/dcn.yaml")
        resume_arg, source = None, spec
    try:
        run = train_api(source, out=out, overrides=overrides, resume=resume_arg, device=device,
                        quiet=quiet, epochs=epochs, seed=seed, nproc=nproc, overwrite=overwrite)
    except Interrupted as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_INTERRUPTED)
    if quiet:
        return
    logs = {k: v for k, v in run.logs.items() if k not in ("epoch", "step", "time", "lr")}
    from ..train.progress import fmt_logs

    say(("trained", "green"), f" {run.spec.name}: {fmt_logs(logs)}")
    say(f"run directory: {run.dir}")


@main.command()
@click.argument("run")
@click.option("--split", type=click.Choice(["val", "test", "train"]),
              help="Which split (default: test if there is one, else val).")
@click.option("--checkpoint", default="best", show_default=True,
              type=click.Choice(["best", "last"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@plugin_option
@handle_errors
def evaluate(run: str, split: str | None, checkpoint: str, as_json: bool,
             plugins: tuple[str, ...]) -> None:
    """Print the spec's metrics on held-out data (and a confusion matrix for classifiers)."""
    from ..train.api import evaluate as evaluate_api

    load_plugins(plugins)
    result = evaluate_api(run, split=split, checkpoint=checkpoint)
    if as_json:
        print_json(result)
        return
    say(f"{result['split']} split: {result['n']} samples, checkpoint "
        f"{result['checkpoint']} (epoch {result['epoch']})")
    if result.get("note"):  # which split the figures come from, and whether it chose the model
        say(f"figures from the {result['note']}")
    skip = ("split", "n", "checkpoint", "epoch", "confusion", "labels", "selection", "note")
    print_table(("metric", "value"), [(k, f"{v:.6g}" if isinstance(v, float) else str(v))
                                      for k, v in result.items() if k not in skip])
    if "confusion" in result:  # labels are user text: cells are literal, never markup
        labels = [str(label) for label in result["labels"]]
        print_table(("true \\ predicted", *labels),
                    [(name, *map(str, row))
                     for name, row in zip(labels, result["confusion"], strict=True)],
                    title="confusion matrix")


def read_input(path: str, run: str) -> Any:
    """An input file for predict: .npy/.npz, .csv (one sample per row) or an image."""
    import numpy as np

    from ..data import files  # bounded readers: regular files, checked headers and sizes

    p = Path(path)
    suffix = p.suffix.lower()
    try:
        files.regular_file(p, what="input file")
        if suffix == ".npy":
            return files.read_npy(p)
        if suffix == ".npz":
            data = files.read_npz(p)
            return data["x"] if "x" in data else next(iter(data.values()))
        if suffix in (".csv", ".txt"):
            return files.read_table(p, "," if suffix == ".csv" else None).astype(np.float32)
        if suffix in IMAGE_SUFFIXES:
            return _read_image(p, run)
    except SpecError as err:
        raise err.prefixed(("--input",)) from None
    raise SpecError(f"unsupported input file type '{suffix}'", path=("--input",),
                    hint="use .npy, .npz, .csv or an image (.png, .jpg, ...)")


def _read_image(p: Path, run: str) -> Any:
    import numpy as np
    from PIL import Image

    from ..data.files import open_image
    from ..runs.folder import load_spec
    from ..train.api import predict_graph

    t = next(iter(predict_graph(load_spec(run)).inputs.values()))
    with open_image(p) as im:
        if t.rank == 3 and None not in t.shape:
            c, h, w = t.shape
            im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.BILINEAR)
        else:
            im = im.convert("L")
        a = np.asarray(im, dtype=np.float32)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


@main.command()
@click.argument("run")
@click.option("--input", "input_path", required=True, metavar="FILE",
              help="Samples as .npy/.npz, .csv (one per row) or an image file.")
@click.option("--checkpoint", default="best", show_default=True,
              type=click.Choice(["best", "last"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@plugin_option
@handle_errors
def predict(run: str, input_path: str, checkpoint: str, as_json: bool,
            plugins: tuple[str, ...]) -> None:
    """Print predictions of a trained run (class labels with probabilities for classifiers;
    captions, as words, for a run whose spec declares a greedy_decode form)."""
    import numpy as np

    from ..runs.folder import resolve_run
    from ..train.api import predict_values_and_labels
    from ..train.captions import predict_captions

    load_plugins(plugins)
    resolve_run(run)
    x = read_input(input_path, run)
    captions = predict_captions(run, x, checkpoint=checkpoint)
    if captions is not None:  # a decoder (greedy_decode form): its tokens as words
        click.echo(json.dumps(captions) if as_json else "\n".join(
            f"{i}: {c['caption']}" for i, c in enumerate(captions)))
        return
    values, labels = predict_values_and_labels(run, x, checkpoint=checkpoint)
    if isinstance(values, dict):
        out = {k: np.asarray(v).tolist() for k, v in values.items()}
        click.echo(json.dumps(out) if as_json else "\n".join(f"{k}: {v}" for k, v in out.items()))
        return
    is_class = labels.dtype == object
    rows = []
    for i in range(len(values)):
        if is_class:
            lab = labels[i]
            if np.ndim(lab) == 0:
                rows.append({"label": str(lab), "probability": float(np.max(values[i]))})
            else:
                rows.append({"labels": np.asarray(lab).tolist()})
        else:
            rows.append({"value": np.asarray(values[i]).tolist()})
    if as_json:
        click.echo(json.dumps(rows))
        return
    for i, r in enumerate(rows):
        if "label" in r:
            click.echo(f"{i}: {r['label']}  (p={r['probability']:.3f})")
        else:
            click.echo(f"{i}: {next(iter(r.values()))}")
