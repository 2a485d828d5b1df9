"""Transfer learning: load weights for part of a network from a safetensors file.

A spec asks for it at the top level::

    pretrained: {file: vgg16_base.safetensors, nodes: ["block*"], strict: false}

:func:`apply_pretrained` runs right after :func:`~specc.backends.torch.build_module` builds and
freezes the network (so ``trainable: false`` nodes keep exactly the loaded values through
training). Keys in the file are the state-dict keys of a specc module (what ``specc build
--out``, :func:`specc.save_weights` and run checkpoints write: ``block1_conv1.weight``,
``layer1__0__c1.weight``) or the same with dotted node names (``layer1.0.c1.weight``);
``prefix`` strips a leading part first (``discriminator.`` for one network of a GAN run).

Every file key is *matched* (loaded), *skipped* (it belongs to a node not selected by
``nodes``) or *unexpected* (no such weight in the network: e.g. the original classifier of a
base whose head was replaced); selected weights the file lacks are *missing*. A shape mismatch
is always a :class:`SpecError`; missing weights are an error when ``strict`` (the default) and
a warning otherwise. The whole report is logged (logger ``specc.pretrained``) and kept as
``module.pretrained_report``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...assembled import node_selected
from ...errors import Issue, SpecError
from ...graph.ir import LayerGraph
from .build import attr_name

log = logging.getLogger("specc.pretrained")
PATH = ("pretrained",)
SHOWN = 8  # keys listed per category in messages


@dataclass
class PretrainedReport:
    """What a load did, key by key (model keys for matched/missing, file keys otherwise)."""

    file: str
    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"pretrained: loaded {len(self.matched)} tensors into {len(self.nodes)} nodes "
                 f"from {self.file}"]
        for what, keys in (("missing (kept their initial values)", self.missing),
                           ("unexpected (not in the network)", self.unexpected),
                           ("skipped (nodes not selected)", self.skipped)):
            if keys:
                lines.append(f"  {what}: {len(keys)}: {_listing(keys)}")
        return "\n".join(lines)


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:SHOWN])
    return shown + (f", ... ({len(keys) - SHOWN} more)" if len(keys) > SHOWN else "")


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A safetensors file as a dict of tensors (never unpickles; a pickle, FIFO or device is
    refused with a clear error)."""
    from ...fileio import read_safetensors

    p = Path(path)
    if not (p.exists() or p.is_symlink()):
        raise SpecError(f"pretrained weights file '{p}' does not exist", path=PATH + ("file",),
                        hint="relative paths are read from the spec file's folder")
    try:
        return read_safetensors(p, "pretrained weights file")
    except SpecError as err:
        raise err.prefixed(PATH + ("file",)) from None


def apply_pretrained(module: nn.Module, graph: LayerGraph, cfg: Any) -> PretrainedReport:
    """Copy the weights ``cfg`` (the spec's ``pretrained`` section, its ``file`` already
    resolved) names into ``module``; returns the report and stores it as
    ``module.pretrained_report``."""
    owners = {attr_name(n): n for n, node in graph.nodes.items() if node.share is None}
    patterns = list(cfg.nodes) if cfg.nodes is not None else None  # checked by load()
    state = module.state_dict()
    dotted = {}
    for key in state:
        attr, _, rest = key.partition(".")
        if attr in owners:
            dotted[f"{owners[attr]}.{rest}"] = key
    selected = {k for k in state if (a := k.partition(".")[0]) in owners
                and node_selected(owners[a], patterns)}
    report = PretrainedReport(str(cfg.file))
    loads: dict[str, torch.Tensor] = {}
    bad: list[Issue] = []
    for file_key, tensor in read_weights(cfg.file).items():
        if cfg.prefix:
            if not file_key.startswith(cfg.prefix):
                report.unexpected.append(file_key)
                continue
            file_key = file_key[len(cfg.prefix):]
        key = file_key if file_key in state else dotted.get(file_key)
        if key is None:
            report.unexpected.append(file_key)
        elif key not in selected:
            report.skipped.append(file_key)
        elif tuple(tensor.shape) != tuple(state[key].shape):
            bad.append(Issue(f"weight '{file_key}' has shape {list(tensor.shape)} in the file "
                             f"but {list(state[key].shape)} in the network", path=PATH,
                             hint="select only nodes whose layers match (pretrained.nodes), "
                             "or change the layer to the pretrained one's size"))
        else:
            loads[key] = tensor
    if bad:
        raise SpecError(issues=bad)
    report.missing = sorted(k for k in selected - set(loads)
                            if not k.endswith("num_batches_tracked"))
    if cfg.strict and report.missing:
        raise SpecError(f"the weights in '{cfg.file}' lack {len(report.missing)} weights of the "
                        "selected nodes: " + str(report).split("\n", 1)[-1].strip(), path=PATH,
                        hint="select fewer nodes (pretrained.nodes), fix the key prefix "
                        "(pretrained.prefix) or set strict: false to load what matches")
    with torch.no_grad():
        for key, tensor in loads.items():
            state[key].copy_(tensor.to(dtype=state[key].dtype))
    report.matched = sorted(loads)
    report.nodes = sorted({owners[k.partition(".")[0]] for k in loads})
    module.pretrained_report = report  # type: ignore[assignment]
    log.info("%s", report)
    if report.missing:
        warnings.warn(str(report), stacklevel=2)
    return report

