"""The spec's held-out data (test, else validation split) as model-ready arrays, for judging a
quantized model by the spec's own metric."""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_SAMPLES = 5000


def held_out_data(loaded: Any) -> tuple[dict[str, np.ndarray], np.ndarray | None, str] | None:
    """(inputs, targets of the first output, split name), or None when the spec has no
    supervised held-out split. Preprocessing is fitted exactly as in training; when the export
    put it into the graph (``loaded.in_graph``), inputs are raw and targets in their units."""
    from ...data.prepare import OutputTarget, prepare

    cfg = loaded.spec.train
    if cfg is None or getattr(cfg, "data", None) is None:
        return None
    graph = loaded.graph
    losses = cfg.output_losses(list(graph.outputs))
    first = graph.outputs[0]
    if first not in losses:
        return None
    outputs = {o: OutputTarget(graph.type_of(o), _loss_name(spec.loss), spec.target or "labels")
               for o, spec in losses.items() if o in graph.outputs}
    prep = prepare(cfg.data, dict(graph.inputs), outputs)
    split = prep.held_out()
    if split is None:
        return None
    part = prep.parts[split]
    keep = slice(0, MAX_SAMPLES)
    inputs = {k: np.ascontiguousarray(v[keep]) for k, v in part.inputs.items()}
    target = part.targets.get(first)
    target = None if target is None else np.asarray(target[keep])
    if getattr(loaded, "in_graph", False):
        inputs, target = _raw(loaded, prep, inputs, target, first)
    return inputs, target, split


def _raw(loaded: Any, prep: Any, inputs: dict[str, np.ndarray], target: np.ndarray | None,
         first: str) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Model inputs before the preprocessing and targets in their own units."""
    from .preprocess import unapply

    types = loaded.graph.inputs
    out = {k: unapply(prep.preprocess[k], v, types[k]) if k in prep.preprocess else v
           for k, v in inputs.items()}
    scale = prep.target_scale.get(first)
    if target is not None and scale and target.dtype.kind == "f":
        target = target * np.asarray(scale["scale"], np.float32) + \
            np.asarray(scale["shift"], np.float32)
    return out, target


def _loss_name(loss: Any) -> str | None:
    return getattr(loss, "name", loss)
