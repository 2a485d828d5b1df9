"""Captions of a trained decoder run: ``specc predict`` on a run whose spec declares a
``greedy_decode`` form decodes each sample and prints the tokens as words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError


def decode_form(spec: Any, graph: Any) -> Any:
    """The first ``greedy_decode`` form the spec declares for ``graph``, or None."""
    for form in spec.forms.values():
        if form.kind == "greedy_decode" and form.cfg.network in (None, graph.name):
            return form
    return None


def words(tokens: Any, vocab: list[str] | None, end: int | None) -> str:
    """The caption of one token sequence: its words up to the end token (token ids where
    the run has no vocabulary)."""
    out = []
    for t in np.asarray(tokens).reshape(-1).tolist():
        if t == end:
            break
        out.append(vocab[t] if vocab and 0 <= t < len(vocab) else str(t))
    return " ".join(out)


def predict_captions(run: str | Path, inputs: Any, *,
                     checkpoint: str = "best") -> list[dict[str, Any]] | None:
    """``{"tokens", "caption"}`` per sample of raw ``inputs`` (the network's inputs other
    than the decoded tokens: one array, or a dict by input name), decoded greedily as the
    spec's ``greedy_decode`` form says; None for a run whose spec declares no such form."""
    import torch

    from ..forms import greedy_decode
    from ..runs.folder import load_spec, read_data_record, resolve_run
    from .api import input_tensors, load_regime, predict_graph
    from .regime import unwrap

    run = resolve_run(run)
    run_spec = load_spec(run)
    graph = predict_graph(run_spec)
    form = decode_form(run_spec, graph)
    if form is None:
        return None
    spec, regime, _ = load_regime(run, checkpoint=checkpoint)
    cfg = form.cfg
    others = [n for n in graph.inputs if n != cfg.input]
    arrays = dict(inputs) if isinstance(inputs, dict) else {others[0]: inputs} if others else {}
    missing = [n for n in others if n not in arrays]
    if missing or not others:
        raise SpecError(f"form '{form.name}' decodes from input(s) {', '.join(others) or '-'}; "
                        "the input file does not give them", path=("--input",),
                        hint="an .npz with arrays named " + ", ".join(others or graph.inputs))
    first = np.asarray(arrays[others[0]])
    n = 1 if first.size == graph.inputs[others[0]].numel() else len(first)  # one sample
    arrays[cfg.input] = np.full((n, 1), cfg.start, np.int64)  # the decoder's first token
    record = read_data_record(run)
    tensors = input_tensors(run, spec, record, arrays)
    with torch.no_grad():
        tokens = greedy_decode(unwrap(regime.models[graph.name]), graph, cfg,
                               {k: tensors[k] for k in others}).numpy()
    vocab = record.get("vocab")
    return [{"tokens": t.tolist(), "caption": words(t, vocab, cfg.end)} for t in tokens]
