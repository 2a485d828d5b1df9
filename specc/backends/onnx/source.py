"""What an export starts from: a spec (fresh or given weights) or a trained run directory."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import __version__
from ...errors import SpecError
from . import metadata as meta


@dataclass
class Loaded:
    """A built network ready to export, with where its weights came from."""

    spec: Any
    network: str
    graph: Any
    module: Any
    weights: str
    run_dir: Path | None = None
    data_record: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    in_graph: bool = False  # the export put the preprocessing into the graph

    @property
    def multi(self) -> bool:
        return len(self.spec.networks) > 1

    @property
    def labels(self) -> list[str] | None:
        labels = self.spec.labels or (self.data_record or {}).get("labels")
        if not labels:
            return None
        out = self.graph.output_types[self.graph.outputs[0]]
        classes = out.features
        if classes == len(labels) or (classes == 1 and len(labels) == 2):
            return [str(x) for x in labels]
        return None

    @property
    def preprocess(self) -> dict[str, dict[str, Any]]:
        """The run's input preprocessing records for this network's inputs (none for specs)."""
        pre = (self.data_record or {}).get("preprocess") or {}
        return {k: v for k, v in pre.items() if k in self.graph.inputs and isinstance(v, dict)}

    @property
    def target_scale(self) -> dict[str, dict[str, Any]]:
        """The run's target scaling for this network's outputs (none for specs)."""
        ts = (self.data_record or {}).get("target_scale") or {}
        return {k: v for k, v in ts.items() if k in self.graph.outputs and isinstance(v, dict)}

    def metadata(self, in_graph: bool = False) -> dict[str, str]:
        """The ``specc.*`` entries; ``in_graph``: the preprocessing and target scaling are
        ops of the exported graph (else the caller applies them)."""
        from ..torch.build import final_activation

        props = meta.build(
            inputs=self.graph.inputs, outputs=self.graph.output_types, version=__version__,
            spec_hash=self.spec.hash, name=self.spec.name, family=self.spec.family,
            network=self.network if self.multi else None, labels=self.labels,
            activation=final_activation(self.graph))
        record = self.data_record or {}
        if self.preprocess:
            props[meta.PREFIX + "preprocess"] = json.dumps(self.preprocess)
        classes = (record.get("classes") or {}).get(self.graph.outputs[0])
        if classes:
            props[meta.PREFIX + "classes"] = str(classes)
        if self.target_scale:
            props[meta.PREFIX + "target_scale"] = json.dumps(self.target_scale)
        if self.preprocess or self.target_scale:
            props[meta.PREFIX + "preprocess_in_graph"] = "true" if in_graph else "false"
        props[meta.PREFIX + "weights"] = self.weights
        return props


def load_source(source: Any, *, network: str | None = None, weights: str | Path | None = None,
                overrides: Sequence[str] = (), seed: int = 0) -> Loaded:
    """Load and build ``source``: a Spec, a dict, a spec file or built-in name, or a run dir."""
    from ...assembled import Spec, load

    run_dir: Path | None = None
    state: dict[str, Any] | None = None
    weights_from = f"fresh initialisation (seed {seed})"
    record = None
    if isinstance(source, Spec):
        if overrides:
            raise SpecError("overrides apply when loading a spec file, not to a loaded Spec",
                            hint="pass the file, or load it with specc.load(path, overrides)")
        spec = source
    elif isinstance(source, (str, Path)) and Path(source).is_dir():
        run_dir = Path(source)
        spec, state, weights_from, record = _load_run(run_dir, overrides)
    else:
        spec = load(source, overrides)
    name = network or default_network(spec)
    if name is None:
        raise SpecError(f"spec '{spec.name}' has several networks "
                        f"({', '.join(spec.networks)}); say which to export",
                        hint=f"--network {next(iter(spec.networks))}")
    graph = spec.network(name)
    from ..torch import build_module

    fresh = weights is None and run_dir is None
    module = build_module(graph, seed=seed, pretrained=spec.pretrained_for(name) if fresh else None)
    notes = []
    if weights is not None:
        if run_dir is not None:
            notes.append(f"weights from {weights} instead of the run's checkpoint")
        from ...runs.checkpoint import load_weights

        load_weights(module, weights)
        weights_from = str(weights)
    elif state is not None:
        _load_state(module, state, name, weights_from)
    return Loaded(spec, name, graph, module, weights_from, run_dir, record, notes)


def default_network(spec: Any) -> str | None:
    """The network exported when none is named: the only one, or a GAN's generator."""
    if len(spec.networks) == 1:
        return next(iter(spec.networks))
    cfg = spec.train
    return cfg.generator if getattr(cfg, "regime", None) == "adversarial" else None


def _load_run(run_dir: Path, overrides: Sequence[str]) -> tuple[Any, dict[str, Any], str,
                                                                dict[str, Any] | None]:
    """(spec, state dict, checkpoint description, data record) of a run directory."""
    from ...runs.folder import load_run

    spec, state, info = load_run(run_dir, overrides=tuple(overrides))
    where = f"{info['dir']}/checkpoints/{info['checkpoint']} (epoch {info.get('epoch')})"
    return spec, state, where, info.get("data") or None


def _load_state(module: Any, state: dict[str, Any], network: str, where: str) -> None:
    prefix = f"{network}."
    own = set(module.state_dict())
    if not (own & set(state)) and any(k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    from ...runs.checkpoint import load_into

    load_into(module, state, where, hint="the checkpoint was changed, or --set overrides "
              "changed the architecture")
