"""The ``forms:`` section of a spec: named inference forms beside the default forward.

Each entry is ``NAME: {KIND: {fields}}`` with KIND one of ``step``, ``greedy_decode``,
``free_run`` or ``cut``. Forms are checked against the network when the spec loads (no torch
here), so a form that cannot be built is a located error at its field, not an export failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from ..errors import Shown, SpecError, did_you_mean
from ..graph.ir import LayerGraph
from ..strict import Strict
from .stepping import check_steppable, sequence_inputs

MAX_STEPS = 100_000  # unrolled steps of one form
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


class _FormBase(Strict):
    network: str | None = Field(None, description="The network (multi-network specs).")


class StepForm(_FormBase):
    """One time step: each sequence input at one step and every stateful node's state in;
    the outputs at that step and the next states out."""


class GreedyDecodeForm(_FormBase):
    """An autoregressive decoder unrolled for ``max_length`` steps: start from ``[start]``,
    append the most likely token at the last position each step."""

    input: str = Field(description="The network input holding the token sequence.")
    output: str | None = Field(None, description="The output giving one probability per "
                               "token (default: the first output).")
    start: int = Field(ge=0, description="The token every sequence starts from.")
    end: int | None = Field(None, ge=0, description="The end token: every token after it is "
                            "this token.")
    max_length: int = Field(gt=0, le=MAX_STEPS, description="Tokens generated.")


class FreeRunForm(_FormBase):
    """A closed loop: read ``warmup`` steps of the input, then feed each prediction back as
    the next input for ``horizon`` predictions."""

    horizon: int = Field(gt=0, le=MAX_STEPS, description="Predictions made in closed loop.")
    warmup: int = Field(1, gt=0, le=10_000_000, description="Input steps read first.")
    input: str | None = Field(None, description="The sequence input (default: the only one).")
    output: str | None = Field(None, description="The output fed back (default: the first).")


class CutForm(_FormBase):
    """A sub-graph: ``inputs`` (nodes or inputs fed from outside) to ``outputs``."""

    inputs: list[str] | None = Field(None, description="Nodes whose values are inputs "
                                     "(default: the network's inputs).")
    outputs: list[str] | None = Field(None, description="Nodes computed (default: the "
                                      "network's outputs).")


MODELS: dict[str, type[_FormBase]] = {"step": StepForm, "greedy_decode": GreedyDecodeForm,
                                      "free_run": FreeRunForm, "cut": CutForm}


@dataclass(frozen=True)
class Form:
    """One declared form: its name, kind and validated fields."""

    name: str
    kind: str
    cfg: Any

    @property
    def path(self) -> tuple[str, ...]:
        return ("forms", self.name, self.kind)


def validate_forms(raw: Any, networks: dict[str, LayerGraph]) -> tuple[dict[str, Form],
                                                                         list[SpecError]]:
    """The ``forms:`` section checked against the networks: (forms, located errors)."""
    from ..spec.pydantic_errors import validate_model

    if not isinstance(raw, dict):
        return {}, [SpecError("forms must be a mapping of name: {kind: {fields}}",
                              path=("forms",), received=type(raw).__name__)]
    forms: dict[str, Form] = {}
    errors: list[SpecError] = []
    for name, body in raw.items():
        where = ("forms", name)
        if not isinstance(name, str) or not _NAME.match(name):
            errors.append(SpecError("a form name is a file name: letters, digits, '_', '.' "
                                    "and '-', up to 64 characters", path=where, received=name))
            continue
        if not isinstance(body, dict) or len(body) != 1:
            errors.append(SpecError("a form is one kind with its fields, e.g. {step: {}}",
                                    path=where, received=body, hint="kinds: " + ", ".join(MODELS)))
            continue
        (kind, fields), = body.items()
        if kind not in MODELS:
            errors.append(SpecError(f"unknown form kind '{kind}'", path=where + (kind,),
                                    hint=did_you_mean(kind, MODELS) or
                                    "kinds: " + ", ".join(MODELS)))
            continue
        cfg, errs = validate_model(MODELS[kind], {} if fields is None else fields,
                                   where + (kind,))
        errors.extend(errs)
        if cfg is None:
            continue
        form = Form(name, kind, cfg)
        try:
            check_form(form, form_graph(form, networks))
        except SpecError as err:
            errors.append(err)
            continue
        forms[name] = form
    return forms, errors


def form_graph(form: Form, networks: dict[str, LayerGraph]) -> LayerGraph:
    """The network a form applies to (its ``network``, or the spec's only one)."""
    name = form.cfg.network
    if name is None:
        if len(networks) == 1:
            return next(iter(networks.values()))
        raise SpecError("say which network this form is for", path=form.path + ("network",),
                        hint="networks: " + ", ".join(networks))
    if name not in networks:
        raise SpecError(f"no network '{name}'", path=form.path + ("network",),
                        hint=did_you_mean(name, networks) or "networks: " + ", ".join(networks))
    return networks[name]


def check_form(form: Form, graph: LayerGraph) -> None:
    """Raise a located SpecError when ``form`` cannot be built on ``graph``."""
    cfg, path = form.cfg, form.path
    if form.kind == "cut":
        for field in ("inputs", "outputs"):
            for i, node in enumerate(getattr(cfg, field) or ()):
                known(graph, node, path + (field, i))
        return
    if form.kind == "greedy_decode":
        _check_decode(cfg, graph, path)
        return
    check_steppable(graph, path)
    if form.kind == "free_run":
        free_run_ends(cfg, graph, path)


def known(graph: LayerGraph, name: str, path: tuple[Any, ...]) -> None:
    """A node or input of ``graph`` called ``name``, else a did-you-mean SpecError."""
    if name not in graph.nodes and name not in graph.inputs:
        names = [*graph.inputs, *graph.nodes]
        raise SpecError(f"no node or input '{name}' in network '{graph.name}'", path=path,
                        received=name, hint=did_you_mean(name, names)
                        or "nodes: " + ", ".join(names[:12]))


def output_of(graph: LayerGraph, name: str | None, path: tuple[Any, ...]) -> str:
    """``name`` checked to be a node or input, or the network's first output."""
    if name is None:
        return graph.outputs[0]
    known(graph, name, path)
    return name


def _check_decode(cfg: GreedyDecodeForm, graph: LayerGraph, path: tuple[Any, ...]) -> None:
    if cfg.input not in graph.inputs:
        raise SpecError(f"no input '{cfg.input}' in network '{graph.name}'",
                        path=path + ("input",), received=cfg.input,
                        hint=did_you_mean(cfg.input, graph.inputs)
                        or "inputs: " + ", ".join(graph.inputs))
    t = graph.inputs[cfg.input]
    if not t.dtype.startswith("int") or t.rank != 1:
        raise SpecError("the decoded input must be an integer sequence of token ids (shape "
                        "[length])", path=path + ("input",),
                        received=Shown(f"{t.dtype} of shape {list(t.shape)}"))
    if t.shape[0] is not None and cfg.max_length > t.shape[0]:
        raise SpecError(f"input '{cfg.input}' holds {t.shape[0]} tokens, so at most "
                        f"{t.shape[0]} can be decoded", path=path + ("max_length",),
                        received=cfg.max_length)
    out = output_of(graph, cfg.output, path + ("output",))
    ot = graph.type_of(out)
    vocab = ot.shape[-1] if ot.rank in (1, 2) else None
    if not ot.dtype.startswith("float") or vocab is None:
        raise SpecError("the decoded output must give one score per token (shape [tokens] or "
                        "[length, tokens])", path=path + ("output",),
                        received=Shown(f"{out}: {ot.dtype} of shape {list(ot.shape)}"))
    for field in ("start", "end"):
        token = getattr(cfg, field)
        if token is not None and token >= vocab:
            raise SpecError(f"the {field} token must be below the output's {vocab} tokens",
                            path=path + (field,), received=token)


def free_run_ends(cfg: FreeRunForm, graph: LayerGraph,
                  path: tuple[Any, ...] = ("free_run",)) -> tuple[str, str]:
    """(input, output) of a free run: the output per step must fit the input per step."""
    seqs = sequence_inputs(graph)
    if cfg.input is None:
        if len(seqs) != 1:
            raise SpecError("say which sequence input the predictions are fed back into",
                            path=path + ("input",), hint="sequence inputs: " + ", ".join(seqs))
        name = seqs[0]
    else:
        name = cfg.input
        if name not in seqs:
            raise SpecError(f"'{name}' is not a sequence input feeding a stateful layer",
                            path=path + ("input",), received=name,
                            hint=did_you_mean(name, seqs) or "sequence inputs: "
                            + ", ".join(seqs))
    out = output_of(graph, cfg.output, path + ("output",))
    it, ot = graph.inputs[name], graph.type_of(out)
    if ot.shape[1:] != it.shape[1:] or ot.dtype != it.dtype or ot.rank != it.rank:
        raise SpecError(f"output '{out}' cannot be fed back into input '{name}': a step of the "
                        f"output is {ot.dtype} {list(ot.shape[1:])}, a step of the input "
                        f"{it.dtype} {list(it.shape[1:])}", path=path + ("output",),
                        received=out)
    return name, out


def forms_schema(defs: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of the ``forms:`` section; each kind's fields go into ``defs``."""
    from ..schema_values import draft07, ref

    arms = []
    for kind, model in MODELS.items():
        name = "Form_" + kind
        defs[name] = draft07(model.model_json_schema())
        arms.append({"type": "object", "properties": {kind: {"anyOf": [ref(name),
                                                                         {"type": "null"}]}},
                     "required": [kind], "additionalProperties": False})
    return {"type": ["object", "null"], "propertyNames": {"pattern": _NAME.pattern},
            "additionalProperties": {"oneOf": arms},
            "description": "Named inference forms, NAME: {step | greedy_decode | free_run | "
                           "cut: {fields}}; 'specc export RUN --form NAME' writes one."}
