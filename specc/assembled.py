"""The top level of a spec file and the loaded :class:`Spec` object."""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from . import __version__
from .errors import SpecError
from .graph.construct import compile_net
from .graph.ir import LayerGraph
from .registry import current
from .spec.loader import Source, data_source, read_source
from .spec.pydantic_errors import validate_model
from .spec.resolve import Resolver, apply_overrides, substitute
from .strict import Strict

FORMAT_VERSION = 1
NETWORK_KEYS = ("inputs", "layers", "nodes", "outputs")
MAX_NAME_CHARS = 100


def check_name(name: str) -> str:
    """A spec ``name`` is used for run folders and file names: short, one line, no path."""
    if not name.strip():
        raise ValueError("the name must not be empty")
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"the name is too long ({len(name)} characters; limit "
                         f"{MAX_NAME_CHARS})")
    bad = next((c for c in name if c in "/\\" or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise ValueError(f"the name must not contain {bad!r} (it names folders and files)")
    if name.strip(".") == "" or ".." in name:
        raise ValueError("the name must not contain '..' (it names folders and files)")
    return name


class BlockDef(Strict):
    """A parameterised sub-graph used like a layer kind."""

    description: str | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters and defaults.")
    inputs: list[str] | str = Field(default_factory=lambda: ["x"])
    layers: list[Any] | None = None
    nodes: dict[str, Any] | None = None
    outputs: list[str] | str | None = None


class NetworkDef(Strict):
    """One network of a multi-network spec."""

    description: str | None = None
    inputs: dict[str, Any] | None = None
    layers: list[Any] | None = None
    nodes: dict[str, Any] | None = None
    outputs: list[str] | str | None = None


class Pretrained(Strict):
    """Weights for part of a network, loaded from a safetensors file after it is built
    (transfer learning; see specc/backends/torch/pretrained.py)."""

    file: str = Field(description="safetensors file; a relative path is read from the spec "
                      "file's folder.")
    nodes: list[str] | None = Field(None, description="Node names or globs to load (a block "
                                    "instance's name selects its nodes); default: all.")
    strict: bool = Field(True, description="Missing or unexpected keys are errors (else "
                         "reported).")
    prefix: str = Field("", description="Leading part of the file's keys to strip, e.g. "
                        "'discriminator.'.")
    network: str | None = Field(None, description="The network to load into (multi-network "
                                "specs).")


class TopLevel(Strict):
    """Fields allowed at the top of a spec (network bodies and blocks are checked later)."""

    specc: int = Field(FORMAT_VERSION, description="Spec format version.")
    name: str | None = Field(None, description="Name of the model (run directories use it).")
    family: str | None = Field(None, description="Network family, e.g. deep-convolutional-network.")
    description: str | None = None
    seed: str | None = Field(None, description="Course-notes file the spec follows.")
    bar: str | None = Field(None, description="Quality bar the built-in spec is held to.")
    tags: list[str] = Field(default_factory=list)
    requires: list[str] = Field(default_factory=list, description="Plugins needed, e.g. "
                                "['specc-attention>=0.1'].")
    params: dict[str, Any] = Field(default_factory=dict, description="Values referenced as $name.")
    labels: list[str] | None = Field(None, description="Class labels for classifier outputs.")
    inputs: dict[str, Any] | None = None
    layers: list[Any] | None = None
    nodes: dict[str, Any] | None = None
    outputs: list[str] | str | None = None
    blocks: dict[str, BlockDef] = Field(default_factory=dict)
    networks: dict[str, NetworkDef] | None = None
    train: dict[str, Any] | None = None
    pretrained: Pretrained | None = Field(None, description="Load weights for part of the "
                                          "network from a safetensors file.")
    forms: dict[str, Any] | None = Field(None, description="Named inference forms, NAME: "
                                         "{step | greedy_decode | free_run | cut: {...}}; "
                                         "'specc export RUN --form NAME' writes one.")
    sweep: dict[str, Any] | None = Field(None, description="A hyperparameter search run by "
                                         "'specc sweep SPEC' (metric, trials, space); "
                                         "'specc train' ignores it.")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str | None) -> str | None:
        return None if v is None else check_name(v)


@dataclass
class Spec:
    """A loaded, validated and shape-checked spec."""

    name: str
    networks: dict[str, LayerGraph]
    top: TopLevel
    resolved: dict[str, Any]
    source: Source
    train: Any = None  # TrainConfig when the spec has a train section
    pretrained: dict[str, Pretrained] = field(default_factory=dict)  # network -> its weights
    forms: dict[str, Any] = field(default_factory=dict)  # name -> specc.forms.Form

    @property
    def family(self) -> str | None:
        return self.top.family

    @property
    def description(self) -> str | None:
        return self.top.description

    @property
    def labels(self) -> list[str] | None:
        return self.top.labels

    @property
    def path(self) -> Path | None:
        f = self.source.file
        return Path(f) if f and not f.startswith("<") else None

    @property
    def version(self) -> str:
        return __version__

    @property
    def graph(self) -> LayerGraph:
        """The network, for single-network specs."""
        if len(self.networks) != 1:
            raise SpecError(f"spec '{self.name}' has several networks "
                            f"({', '.join(self.networks)}); name one",
                            hint="e.g. network='generator'")
        return next(iter(self.networks.values()))

    def pretrained_for(self, network: str | None = None) -> Pretrained | None:
        """The ``pretrained:`` weights to load into ``network`` when it is built fresh (its
        file made absolute), or None."""
        graph = self.network(network)
        return next((cfg for name, cfg in self.pretrained.items()
                     if self.networks[name] is graph), None)

    def network(self, name: str | None = None) -> LayerGraph:
        if name is None:
            return self.graph
        if name not in self.networks:
            from .errors import did_you_mean

            raise SpecError(f"spec '{self.name}' has no network '{name}'",
                            hint=did_you_mean(name, self.networks)
                            or f"networks: {', '.join(self.networks)}")
        return self.networks[name]

    @property
    def hash(self) -> str:
        """Content hash of the resolved spec (stable key order)."""
        text = json.dumps(self.resolved, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def param_counts(self) -> tuple[int, int]:
        t = sum(g.param_counts[0] for g in self.networks.values())
        f = sum(g.param_counts[1] for g in self.networks.values())
        return t, f


def load(source: str | Path | dict[str, Any] | Source,
         overrides: list[str] | tuple[str, ...] = (), *, check_requires: bool = True,
         origin: str | None = None) -> Spec:
    """Load, resolve, validate and shape-check a spec file (YAML/JSON), a built-in spec name,
    or a dict (``origin`` names where a dict came from in error messages). Raises
    :class:`SpecError` listing every problem with file:line:col."""
    src = _read(source, origin)
    try:
        return _load(src, overrides, check_requires)
    except SpecError as err:
        located = src.error(err)
        unique = {(i.path, i.message, i.line): i for i in located.issues}  # blocks repeat errors
        located.issues = list(unique.values())
        located.issues.sort(key=lambda i: (i.line is None, i.line or 0, i.col or 0))
        raise located from None


def _read(source: str | Path | dict[str, Any] | Source, origin: str | None = None) -> Source:
    if isinstance(source, Source):  # already parsed (a run's spec.resolved.yaml)
        return source
    if isinstance(source, dict):
        return data_source(source, origin or "<dict>")
    path = Path(source)
    if not path.exists() and isinstance(source, str) and "/" not in source and \
            not path.suffix:
        from .spec.builtin import builtin_path

        found = builtin_path(source)
        if found is not None:
            path = found
    return read_source(path)


def _load(src: Source, overrides: list[str] | tuple[str, ...], check_requires: bool) -> Spec:
    if not isinstance(src.data, dict):
        raise SpecError("a spec must be a mapping at the top level",
                        received=type(src.data).__name__, path=())
    data = apply_overrides(src.data, overrides)
    regs = current()
    layers = regs.layers  # listed before pydantic's first validator: it then skips its own scan
    top, errs = validate_model(TopLevel, data, ())
    if top is None:
        raise SpecError.collect(errs)
    if top.specc != FORMAT_VERSION:
        raise SpecError(f"unsupported spec format version (this specc reads {FORMAT_VERSION})",
                        path=("specc",), received=top.specc)
    if check_requires and top.requires:
        from .spec.requires import check_requirements

        check_requirements(top.requires)
    if data.get("networks") is not None and any(data.get(k) is not None for k in NETWORK_KEYS):
        raise SpecError("a spec with 'networks' declares inputs and layers inside each network",
                        path=("networks",))
    resolver = Resolver(data, layers)
    raws = resolver.networks()
    errors = list(resolver.errors)
    networks: dict[str, LayerGraph] = {}
    if not any(i.message.startswith("block") or "network" in i.message
               for e in errors for i in e.issues):
        for raw in raws:
            try:
                networks[raw.name] = compile_net(raw, regs.layers)
            except SpecError as err:
                errors.append(err)
    train = None
    train_errors: list[SpecError] = []
    if top.train is not None:
        train_raw = substitute(top.train, top.params, ("train",), train_errors)
        if not train_errors:
            train = _validate_train(train_raw, train_errors)
    errors.extend(train_errors)
    if train is not None:
        from .spec.training import check_regime_support

        errors.extend(check_regime_support(train, networks, regs.layers))
        errors.extend(e.prefixed(("train",)) for e in train.check_networks(networks, regs.layers))
    if top.labels is not None and not errors:
        from .spec.training import check_labels

        errors.extend(check_labels(top.labels, train, networks))
    pretrained = {}
    if top.pretrained is not None and not errors:
        pretrained = _pretrained(top.pretrained, networks, src, errors)
    forms, forms_raw = _forms(top, networks, errors)
    if errors:
        raise SpecError.collect(errors)
    name = top.name or (src.file and Path(src.file).stem) or "model"
    resolved = _resolved(data, top, networks, train)
    if forms_raw is not None:
        resolved["forms"] = forms_raw
    return Spec(name=name, networks=networks, top=top, resolved=resolved, source=src, train=train,
                pretrained=pretrained, forms=forms)


def _forms(top: TopLevel, networks: dict[str, LayerGraph],
           errors: list[SpecError]) -> tuple[dict[str, Any], Any]:
    """The ``forms:`` section checked against the networks: (forms, substituted section)."""
    if top.forms is None or errors:
        return {}, None
    from .forms.spec import validate_forms

    raw = substitute(top.forms, top.params, ("forms",), errors)
    forms, form_errors = validate_forms(raw, networks)
    errors.extend(form_errors)
    return forms, raw


def _pretrained(cfg: Pretrained, networks: dict[str, LayerGraph], src: Source,
                errors: list[SpecError]) -> dict[str, Pretrained]:
    """``pretrained`` (its file made absolute) by network name, for :meth:`Spec.pretrained_for`.
    It is left out of the resolved spec: a run's checkpoints hold the loaded weights, so
    rebuilding a run never reads the file again."""
    name = cfg.network or (next(iter(networks)) if len(networks) == 1 else None)
    if name not in networks:
        from .errors import did_you_mean

        errors.append(SpecError("say which network the pretrained weights are for"
                                if name is None else f"no network '{name}'",
                                path=("pretrained", "network"), received=cfg.network,
                                hint=did_you_mean(str(name), networks)
                                or "networks: " + ", ".join(networks)))
        return {}
    names = list(networks[name].nodes)
    prefixes = {n.rsplit(".", i)[0] for n in names for i in range(n.count(".") + 1)}
    for i, pattern in enumerate(cfg.nodes or ()):
        if not any(node_selected(n, [pattern]) for n in names):
            from .errors import did_you_mean

            errors.append(SpecError(f"no node matches '{pattern}'",
                                    path=("pretrained", "nodes", i),
                                    hint=did_you_mean(pattern, sorted(prefixes))
                                    or "nodes: " + ", ".join(names[:8])))
    from .fileio import expand_user

    path = expand_user(cfg.file)
    if not path.is_absolute() and src.file and not src.file.startswith("<"):
        path = Path(src.file).resolve().parent / path
    return {name: cfg.model_copy(update={"file": str(path)})}


def node_selected(name: str, patterns: list[str] | None) -> bool:
    """Whether node ``name`` matches one of ``patterns`` (None: all): globs over node names,
    where a block instance's name (``layer1``) also selects the nodes inside it."""
    if patterns is None:
        return True
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(name, p + ".*")
               for p in patterns)


def _validate_train(raw: dict[str, Any], errors: list[SpecError]) -> Any:
    try:
        from .spec.training import validate_train
    except ImportError:
        return raw
    try:
        return validate_train(raw)
    except SpecError as err:
        errors.append(err.prefixed(("train",)))
        return None


def _resolved(data: dict[str, Any], top: TopLevel, networks: dict[str, LayerGraph],
              train: Any) -> dict[str, Any]:
    """A fully expanded spec: graph form, parameters substituted, blocks expanded."""
    out: dict[str, Any] = {"specc": FORMAT_VERSION, "specc_version": __version__}
    for key in ("name", "family", "description", "seed", "bar", "labels", "requires"):
        v = getattr(top, key)
        if v:
            out[key] = v
    if top.params:
        out["params"] = top.params
    nets = {name: graph_to_dict(g) for name, g in networks.items()}
    if data.get("networks") is not None:
        out["networks"] = nets
    else:
        out.update(next(iter(nets.values())))
    if top.train is not None:
        dump = getattr(train, "model_dump", None)
        out["train"] = dump(mode="json", exclude_defaults=True) if dump else top.train
    return out


def graph_to_dict(g: LayerGraph) -> dict[str, Any]:
    """The graph form of a network (round-trips through :func:`load`)."""
    inputs: dict[str, Any] = {}
    for name, t in g.inputs.items():
        shape = list(t.shape)
        inputs[name] = shape if t.dtype == "float32" else {"shape": shape, "dtype": t.dtype}
    nodes: dict[str, Any] = {}
    for n, node in g.nodes.items():
        body: dict[str, Any] = {"op": node.kind,
                                "in": node.inputs[0] if len(node.inputs) == 1 else node.inputs}
        body.update(node.params.model_dump(mode="json", exclude_defaults=True))
        if node.share:
            body["share"] = node.share
        if not node.trainable:
            body["trainable"] = False
        nodes[n.replace(".", "__")] = body
    rename = {n: n.replace(".", "__") for n in g.nodes}
    for body in nodes.values():
        ins = body["in"]
        body["in"] = rename.get(ins, ins) if isinstance(ins, str) else [rename.get(i, i) for i in ins]
        if "share" in body:
            body["share"] = rename.get(body["share"], body["share"])
    return {"inputs": inputs, "nodes": nodes, "outputs": [rename.get(o, o) for o in g.outputs]}
