"""The torch module of each form kind, with the types of its inputs and outputs.

A form module's ``forward`` takes one tensor per entry of ``input_types`` (in order) and
returns one tensor per entry of ``output_types``, so it exports and checks like a network.
Loops have a fixed length and unroll.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..graph.ir import LayerGraph
from ..types import TensorType
from .runner import runner_class
from .spec import CutForm, Form, FreeRunForm, GreedyDecodeForm, free_run_ends, output_of
from .stepping import graph_inputs_needed, independent_inputs, sequence_inputs

NEXT = ".next"  # suffix of a step form's next-state outputs: ONNX names are assigned once


@dataclass
class FormModule:
    """A form ready to run or export."""

    module: Any  # torch.nn.Module
    input_types: dict[str, TensorType]
    output_types: dict[str, TensorType]


def build_form(net: Any, graph: LayerGraph, form: Form) -> FormModule:
    """The torch module of ``form`` over ``net``, the compiled ``graph`` (weights shared)."""
    runner = runner_class()(net, graph)
    builder = {"step": _step, "greedy_decode": _decode, "free_run": _free_run,
               "cut": _cut}[form.kind]
    return builder(runner, graph, form.cfg)


def greedy_decode(module: Any, graph: LayerGraph, form_cfg: GreedyDecodeForm,
                  inputs: dict[str, Any]) -> Any:
    """Greedy tokens (N, max_length) int64 of a decoder in PyTorch: ``inputs`` holds the
    network's other inputs by name (e.g. ``image``); without any, ``start`` (N, 1) ids."""
    import torch

    fm = _decode(runner_class()(module, graph), graph, form_cfg)
    was = module.training
    module.eval()
    try:
        with torch.inference_mode():
            return fm.module(*(inputs[n] for n in fm.input_types))
    finally:
        module.train(was)


def _nn() -> Any:
    from torch import nn

    return nn


def _step(runner: Any, graph: LayerGraph, cfg: Any) -> FormModule:
    seqs = sequence_inputs(graph)
    shapes = runner.state_shapes()
    keys = [(node, k) for node in runner.stateful for k in shapes[node]]

    class StepModule(_nn().Module):
        def __init__(self) -> None:
            super().__init__()
            self.runner = runner

        def forward(self, *args: Any) -> tuple[Any, ...]:
            env = {n: (a[:, None] if n in seqs else a)
                   for n, a in zip(graph.inputs, args[:len(graph.inputs)], strict=True)}
            rest = args[len(graph.inputs):]
            state: dict[str, dict[str, Any]] = {node: {} for node in runner.stateful}
            for (node, k), value in zip(keys, rest, strict=True):
                state[node][k] = value
            env = runner.evaluate(env, list(graph.outputs), "step", state)
            outs = [env[o][:, 0] if o in runner.timed else env[o] for o in graph.outputs]
            return (*outs, *(state[node][k] for node, k in keys))

    ins = {n: _per_step(t) if n in seqs else t for n, t in graph.inputs.items()}
    states = {f"{node}.{k}": TensorType(tuple(shapes[node][k])) for node, k in keys}
    outs = {o: _per_step(t) if o in runner.timed else t for o, t in graph.output_types.items()}
    outs.update({name + NEXT: t for name, t in states.items()})
    return FormModule(StepModule(), {**ins, **states}, outs)


def _per_step(t: TensorType) -> TensorType:
    return TensorType(t.shape[1:], t.dtype)


def _decode(runner: Any, graph: LayerGraph, cfg: GreedyDecodeForm) -> FormModule:
    import torch

    out = output_of(graph, cfg.output, ())
    per_step = graph.type_of(out).rank == 2
    fixed = graph.inputs[cfg.input].shape[0]
    others = [n for n in graph.inputs if n != cfg.input]
    pad = cfg.start if cfg.end is None else cfg.end
    fixed_part = independent_inputs(graph, cfg.input, out)  # computed once, not every step

    class GreedyDecode(_nn().Module):
        def __init__(self) -> None:
            super().__init__()
            self.runner = runner

        def forward(self, *args: Any) -> Any:
            if others:
                env = runner.evaluate(dict(zip(others, args, strict=True)), fixed_part)
                first = args[0]
                start = torch.full((first.shape[0], 1), cfg.start, dtype=torch.int64,
                                   device=first.device)
            else:
                env, start = {}, args[0]
            tokens, done, steps = start, None, []
            for i in range(cfg.max_length):
                feed = tokens if fixed is None else torch.cat(
                    [tokens, torch.full((tokens.shape[0], fixed - tokens.shape[1]), pad,
                                        dtype=torch.int64, device=tokens.device)], 1)
                values = runner.evaluate({**env, cfg.input: feed}, [out])
                scores = values[out]
                if per_step:
                    scores = scores[:, i if fixed is not None else -1]
                nxt = scores.argmax(-1)
                if cfg.end is not None:
                    if done is not None:
                        nxt = torch.where(done, torch.full_like(nxt, cfg.end), nxt)
                    done = nxt == cfg.end if done is None else done | (nxt == cfg.end)
                steps.append(nxt)
                if i + 1 < cfg.max_length:
                    tokens = torch.cat([tokens, nxt[:, None]], 1)
            return torch.stack(steps, 1)

    ins = {n: graph.inputs[n] for n in others} or {"start": TensorType((1,), "int64")}
    return FormModule(GreedyDecode(), ins, {"tokens": TensorType((cfg.max_length,), "int64")})


def _free_run(runner: Any, graph: LayerGraph, cfg: FreeRunForm) -> FormModule:
    import torch

    name, out = free_run_ends(cfg, graph)
    ins = {n: (TensorType((cfg.warmup, *t.shape[1:]), t.dtype, t.feature_axis)
               if n == name else t) for n, t in graph.inputs.items()}
    t = graph.type_of(out)

    class FreeRun(_nn().Module):
        def __init__(self) -> None:
            super().__init__()
            self.runner = runner

        def forward(self, *args: Any) -> Any:
            env = dict(zip(graph.inputs, args, strict=True))
            state = runner.initial_state(env[name].shape[0])
            y = runner.evaluate(env, [out], "run", state)[out][:, -1:]
            preds = [y]
            for _ in range(cfg.horizon - 1):
                env = {**{k: v for k, v in env.items() if k in graph.inputs}, name: y}
                y = runner.evaluate(env, [out], "step", state)[out]
                preds.append(y)
            return torch.cat(preds, 1)

    return FormModule(FreeRun(), ins, {out: TensorType((cfg.horizon, *t.shape[1:]), t.dtype,
                                                       t.feature_axis)})


def _cut(runner: Any, graph: LayerGraph, cfg: CutForm) -> FormModule:
    outputs = list(cfg.outputs or graph.outputs)
    given = list(cfg.inputs or ())
    names = [*given, *(n for n in graph_inputs_needed(graph, outputs, given) if n not in given)]

    class Cut(_nn().Module):
        def __init__(self) -> None:
            super().__init__()
            self.runner = runner

        def forward(self, *args: Any) -> Any:
            env = runner.evaluate(dict(zip(names, args, strict=True)), outputs)
            return tuple(env[o] for o in outputs) if len(outputs) > 1 else env[outputs[0]]

    return FormModule(Cut(), {n: graph.type_of(n) for n in names},
                      {o: graph.type_of(o) for o in outputs})
