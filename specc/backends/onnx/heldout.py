"""The spec's held-out data (test, else validation split) as model-ready arrays, for judging a
quantized model by the spec's own metric."""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_SAMPLES = 5000


def held_out_data(loaded: Any) -> tuple[dict[str, np.ndarray], np.ndarray | None, str] | None:
    """(inputs, targets of the first output, split name), or None when the spec has no
    supervised held-out split. Preprocessing is fitted exactly as in training."""
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
    return inputs, (None if target is None else np.asarray(target[keep])), split


def _loss_name(loss: Any) -> str | None:
    return getattr(loss, "name", loss)
