"""Pictures of trained runs: samples and reconstructions (:func:`sample`), training curves
(:func:`plot_runs`). Headless: matplotlib with the Agg backend, imported on first use.

What :func:`sample` draws depends on the network:

- a ``gaussian_sample`` layer (VAE): decodes codes drawn from the prior N(0, I), or with
  ``traverse`` sweeps one code dimension a row from a held-out sample's code;
- an ``activity_sparsity`` layer (sparse autoencoder): the filters (weights) of the layer whose
  activations it penalises, one image per hidden unit;
- ``train.target: input`` (autoencoders): held-out inputs above their reconstructions, with
  the corrupted inputs between them when the network has a noise layer (denoising);
- an adversarial run (GAN): its (EMA) generator's samples from random codes;
- a node whose kind defines :meth:`~specc.layers.base.LayerKind.draw` (an RBM's filters, a
  SOM's U-matrix): what that kind draws, given a :class:`DrawContext`. Kinds are asked first,
  in graph order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SpecError
from .figures import image_format, image_shape, pyplot, save_figure, save_grid

NOISE_KINDS = ("gaussian_noise", "masking_noise")
ACTIVATION_KINDS = ("activation", "relu", "leaky_relu", "sigmoid", "tanh", "softmax")


# -- running parts of a network -----------------------------------------------------------------


def run_from(model: Any, graph: Any, given: dict[str, Any]) -> dict[str, Any]:
    """Values of every node computable from ``given`` (node or input name -> tensor), e.g. a
    VAE's decoder from its code: nodes that need anything else are left out."""
    import torch

    from .backends.torch.build import apply_activation, attr_name

    env = dict(given)
    with torch.no_grad():
        for name, node in graph.nodes.items():
            if name in env or not all(i in env for i in node.inputs):
                continue
            value = model.get_submodule(attr_name(node.share or name))(
                *[env[i] for i in node.inputs])
            env[name] = apply_activation(model, graph, name, value)
    return env


def held_out_inputs(spec: Any, split: str | None = None) -> np.ndarray:
    """Held-out samples of a one-input spec, preprocessed as in training."""
    from .data.prepare import prepare

    graph = spec.graph
    if spec.train is None:
        raise SpecError(f"spec '{spec.name}' has no train section to take samples from")
    prep = prepare(spec.train.data, graph.inputs, {})
    split = split or prep.held_out() or "train"
    if split not in prep.parts:
        raise SpecError(f"the run has no '{split}' split", hint="splits: " + ", ".join(prep.parts))
    return prep.parts[split].inputs[next(iter(graph.inputs))]


# -- sample -------------------------------------------------------------------------------------


def sample(run: str | Path, output: str | Path, *, n: int | None = None, seed: int = 0,
           checkpoint: str = "best", split: str | None = None, what: str | None = None,
           traverse: bool = False) -> Path:
    """Draw what a trained generative or reconstructing network makes (see the module doc).
    ``what`` picks one of the pictures a kind offers (e.g. an RBM's ``filters`` or
    ``chains``); None draws the kind's default. ``traverse``: a VAE's latent traversal grid
    (:func:`specc.viz_traverse.traverse_grid`)."""
    import torch

    from .runs.folder import load_run
    from .train.api import load_model

    image_format(output)  # before any work
    spec, _, info = load_run(run, checkpoint)
    tag = info["checkpoint"]
    title = f"{spec.name} ({tag} checkpoint, epoch {info['epoch']})"
    if traverse:
        from .viz_traverse import code_node, traverse_grid

        if what is not None:
            raise SpecError("--what and --traverse do not go together", path=("--what",),
                            received=what, hint="a traversal is one picture; leave --what out")
        network = code_node(spec)[0].name
        return traverse_grid(spec, load_model(run, network, tag), output, title, n=n, seed=seed,
                             split=split)
    gen = torch.Generator().manual_seed(seed)
    if spec.train is not None and spec.train.regime == "adversarial":
        from .train.gan_samples import sample_run

        return sample_run(run, output, n=n, seed=seed, checkpoint=tag)
    graph = spec.graph
    model = load_model(run, checkpoint=tag)
    by_kind = {node.kind: name for name, node in graph.nodes.items()}
    drawn = _draw_by_kind(DrawContext(spec=spec, graph=graph, model=model, node="",
                                      output=Path(output), n=n, seed=seed, split=split,
                                      what=what, title=title, run=Path(run)))
    if drawn is not None:
        return drawn
    if "gaussian_sample" in by_kind:
        from .viz_traverse import decode

        code = by_kind["gaussian_sample"]
        z = torch.randn((n or 64,) + tuple(graph.type_of(code).shape), generator=gen)
        imgs = decode(model, graph, code, z)
        return save_grid([("", imgs)], output, f"{title}: samples from the prior N(0, I)", cols=8)
    if "activity_sparsity" in by_kind:
        weights = _filters(model, graph, by_kind["activity_sparsity"])
        shape = image_shape(next(iter(graph.inputs.values())).shape)
        imgs = weights.reshape((len(weights),) + shape)
        cols = math.ceil(math.sqrt(len(imgs)))
        return save_grid([("", imgs)], output, f"{title}: learned filters", cols=cols,
                         normalize=True)
    if spec.train is not None and spec.train.target == "input":
        x = held_out_inputs(spec, split)[: n or 12]
        shape = image_shape(next(iter(graph.inputs.values())).shape)
        rows = [("input", x.reshape((len(x),) + shape))]
        noise = next((node for node in graph.nodes.values() if node.kind in NOISE_KINDS), None)
        if noise is not None:
            x = _corrupt(x, noise, np.random.default_rng(seed))
            rows.append((f"corrupted ({noise.kind})", x.reshape((len(x),) + shape)))
        with torch.no_grad():
            out = model(torch.from_numpy(np.ascontiguousarray(x)))
        out = out[0] if isinstance(out, tuple) else out
        rows.append(("reconstruction", out.numpy().reshape((len(x),) + shape)))
        return save_grid(rows, output, f"{title}: held-out reconstructions")
    raise SpecError(f"nothing to sample from spec '{spec.name}'",
                    hint="sample draws VAE and GAN samples, autoencoder reconstructions and "
                    "sparse-autoencoder filters; for classifiers use specc evaluate")


@dataclass
class DrawContext:
    """What a kind's :meth:`~specc.layers.base.LayerKind.draw` gets: the trained run and the
    request of ``specc sample`` (``node`` is the node being asked)."""

    spec: Any
    graph: Any
    model: Any
    node: str
    output: Path
    n: int | None
    seed: int
    split: str | None
    what: str | None
    title: str
    run: Path

    def module(self, node: str | None = None) -> Any:
        """The torch module of ``node`` (default: the node being asked)."""
        from .backends.torch.build import attr_name

        name = node or self.node
        return self.model.get_submodule(attr_name(self.graph.nodes[name].share or name))

    def arriving(self, split: str | None = None) -> np.ndarray:
        """Activations arriving at the node over a held-out split (default: the request's
        split, else test, else val), as a NumPy array."""
        import torch

        x = held_out_inputs(self.spec, split or self.split)
        inp = next(iter(self.graph.inputs))
        source = self.graph.nodes[self.node].inputs[0]
        if source == inp:
            return x
        env = run_from(self.model, self.graph, {inp: torch.from_numpy(np.ascontiguousarray(x))})
        return env[source].detach().cpu().numpy()

    def refuse(self, offered: tuple[str, ...]) -> None:
        """Raise the error for a ``--what`` this kind does not draw."""
        raise SpecError(f"'{self.graph.nodes[self.node].kind}' draws no '{self.what}'",
                        path=("--what",), received=self.what,
                        hint="one of: " + ", ".join(offered))

    def save_grid(self, rows: list[tuple[str, np.ndarray]], title: str,
                  cols: int | None = None, normalize: bool = False) -> Path:
        return save_grid(rows, self.output, f"{self.title}: {title}", cols=cols,
                         normalize=normalize)

    def pyplot(self) -> Any:
        """matplotlib.pyplot (headless)."""
        return pyplot()

    def save(self, fig: Any, title: str) -> Path:
        """Write a matplotlib figure to the output (atomically) and close it."""
        return save_figure(fig, f"{self.title}: {title}", self.output)


def _draw_by_kind(ctx: DrawContext) -> Path | None:
    from .layers.base import LayerKind
    from .registry import current

    kinds = current().layers
    for name, node in ctx.graph.nodes.items():
        kind = kinds.get(node.kind)
        if getattr(kind.draw, "__func__", None) is LayerKind.draw.__func__:
            continue
        ctx.node = name
        drawn = kind.draw(node.params, ctx.module(name), ctx)
        if drawn is not None:
            return Path(drawn)
    if ctx.what is not None:
        raise SpecError(f"nothing in spec '{ctx.spec.name}' draws '{ctx.what}'",
                        path=("--what",), received=ctx.what,
                        hint="leave --what out for the default picture")
    return None


def _as_images(out: Any, shape: tuple[int | None, ...]) -> np.ndarray:
    out = out[0] if isinstance(out, tuple) else out
    arr = out.detach().cpu().numpy()
    return arr.reshape((len(arr),) + image_shape(shape))


def _corrupt(x: np.ndarray, node: Any, rng: np.random.Generator) -> np.ndarray:
    if node.kind == "gaussian_noise":
        return (x + rng.normal(0.0, node.params.stddev, x.shape)).astype(np.float32)
    return (x * (rng.random(x.shape) >= node.params.rate)).astype(np.float32)


def _filters(model: Any, graph: Any, sparsity: str) -> np.ndarray:
    """Weights (units, inputs) of the dense layer whose activations ``sparsity`` penalises."""
    from .backends.torch.build import attr_name

    name = graph.nodes[sparsity].inputs[0]
    while name in graph.nodes and graph.nodes[name].kind in ACTIVATION_KINDS:
        name = graph.nodes[name].inputs[0]
    node = graph.nodes.get(name)
    if node is None or node.kind != "dense":
        raise SpecError("filters are drawn for a dense layer feeding activity_sparsity",
                        received=node.kind if node is not None else name)
    weight = model.get_submodule(attr_name(node.share or name)).weight
    return weight.detach().cpu().numpy()


# -- training curves ----------------------------------------------------------------------------


SKIP_COLUMNS = ("epoch", "step", "time")
MAX_PANELS = 48


def plot_runs(runs: list[str | Path], output: str | Path) -> Path:
    """Training curves from the runs' metrics.csv: one panel per quantity (loss, each metric,
    the learning rate when it changes), training solid and validation dashed."""
    from .runs.folder import read_metrics, resolve_run

    image_format(output)  # before any work
    plt = pyplot()
    tables = []
    for run in runs:
        path = resolve_run(run)
        rows = read_metrics(path)
        if not rows:
            raise SpecError(f"run '{run}' has no metrics.csv rows yet",
                            hint="it is written at the end of each epoch")
        tables.append((path, rows))
    names = [_spec_name(path) for path, _ in tables]
    tables = [(("" if len(tables) == 1 else f"{name} " if names.count(name) == 1 else
                f"{name} ({path.name}) "), rows) for name, (path, rows) in zip(names, tables,
                                                                            strict=True)]
    panels: list[str] = []
    for _, rows in tables:
        for col in rows[0]:
            base = col.removeprefix("val_")
            if col not in SKIP_COLUMNS and base not in panels and _numeric(rows, col):
                panels.append(base)
    if "lr" in panels and all(len({r.get("lr") for r in rows}) <= 1 for _, rows in tables):
        panels.remove("lr")
    panels.sort(key=lambda p: (p != "loss", p == "lr"))  # loss first, learning rate last
    if not panels:
        raise SpecError("metrics.csv has no numeric column to plot",
                        hint="was the file changed by hand?")
    if len(panels) > MAX_PANELS:
        raise SpecError(f"metrics.csv has {len(panels)} numeric columns to plot (at most "
                        f"{MAX_PANELS})", hint="was the file changed by hand?")
    cols = min(len(panels), 3) or 1
    nrows = -(-len(panels) // cols)
    fig, axes = plt.subplots(nrows, cols, squeeze=False, figsize=(4.2 * cols, 3.2 * nrows))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, base in enumerate(panels):
        ax = axes[i // cols][i % cols]
        for j, (label, rows) in enumerate(tables):
            epochs = [r["epoch"] for r in rows]
            for col, style in ((base, "-"), (f"val_{base}", "--")):
                if col in rows[0] and _numeric(rows, col):
                    what = "val" if col.startswith("val_") else ("train" if base != "lr" else "lr")
                    pts = [(e, r[col]) for e, r in zip(epochs, rows, strict=True)
                           if _is_num(r[col])]  # a hand-edited cell is left out
                    ax.plot([e for e, _ in pts], [v for _, v in pts], style,
                            color=colors[j % len(colors)], label=f"{label}{what}",
                            marker="." if len(epochs) < 30 else None)
        values = [r[c] for _, rows in tables for r in rows for c in (base, f"val_{base}")
                  if _is_num(r.get(c)) and math.isfinite(r[c]) and r[c] > 0]
        if base in ("loss", "lr") and values and max(values) / min(values) > 30:
            ax.set_yscale("log")
        ax.set_title(base)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for k in range(len(panels), nrows * cols):
        axes[k // cols][k % cols].axis("off")
    title = "training curves" + (f" of {names[0]}" if len(names) == 1 else "")
    return save_figure(fig, title, output)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _numeric(rows: list[dict[str, Any]], col: str) -> bool:
    return any(_is_num(r.get(col)) for r in rows)


def _spec_name(path: Path) -> str:
    from .runs.folder import read_resolved

    name = read_resolved(path).data.get("name")
    return str(name) if isinstance(name, str) and name else path.name
