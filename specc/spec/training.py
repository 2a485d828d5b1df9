"""The ``train:`` section of a spec: typed configs per regime and :func:`validate_train`.

Every regime owns a config class (``Regime.Config``): the fields all regimes share live in
:class:`TrainConfig`, epoch loops add :class:`EpochConfig`'s, gradient regimes
:class:`GradientConfig`'s, accumulate-then-solve regimes start from :class:`FitConfig`. The
whole ``train:`` mapping is validated against the chosen regime's class, so a field the regime
does not read is an error naming the regime. Named choices (loss, optimizer, schedule, metrics)
are registry entries written as a bare name (``optimizer: adam``) or a one-key mapping with
parameters (``optimizer: {adam: {lr: 0.01}}``). Every problem is reported at once, each with
its path inside ``train``. Pure Python (no torch).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from ..entries import Choice, RegistryChoice
from ..errors import PathT, SpecError, did_you_mean
from .choices import Problems, Section, default_choice, parse_choices
from .data_section import MAX_SEED, DataConfig, SplitConfig, check_data
from .pydantic_errors import validate_model

LossChoice = Annotated[Choice, RegistryChoice("losses")]
OptimizerChoice = Annotated[Choice, RegistryChoice("optimizers")]
ScheduleChoice = Annotated[Choice, RegistryChoice("schedules")]
MetricChoice = Annotated[Choice, RegistryChoice("metrics")]


class OutputLoss(Section):
    """The loss of one graph output."""

    loss: LossChoice
    weight: float = Field(1.0, ge=0, description="Weight of this loss in the total.")
    target: str | None = Field(None, description="'input' (reconstruction) or a dataset array.")
    mask: str | None = Field(None, description="A dataset array marking the elements the loss "
                             "counts (averaged over those only), e.g. the copy task's mask.")

    @classmethod
    def shorthand(cls, raw: Any) -> Any:
        """``out: mse`` or ``out: {huber: {delta: 2}}`` is short for ``out: {loss: ...}``."""
        return {"loss": raw} if not isinstance(raw, dict) or "loss" not in raw else raw


class EarlyStopping(Section):
    monitor: str = Field("val_loss", description="Log key to watch (loss, a metric, or one "
                         "of the regime's own metrics; val_ for the validation value).")
    patience: int = Field(5, ge=0, description="Epochs without improvement before stopping.")
    min_delta: float = Field(0.0, ge=0, description="Smallest change that counts.")
    mode: Literal["auto", "min", "max"] = "auto"
    restore_best: bool = Field(False, description="Load the best weights when training stops.")


class CheckpointPolicy(Section):
    every: int = Field(1, ge=1, description="Save `last` every N epochs.")
    every_steps: int = Field(0, ge=0, description="Also save `last` every N steps (0 = off).")
    best: bool = Field(True, description="Keep `best` by the monitored value.")
    monitor: str | None = Field(None, description="Default: early_stopping.monitor, else "
                                "val_loss when there is validation data, else loss.")
    mode: Literal["auto", "min", "max"] = "auto"


class Clip(Section):
    norm: float | None = Field(None, gt=0, description="Clip the global gradient norm.")
    value: float | None = Field(None, gt=0, description="Clip each gradient element to +-value.")


# -- the configs --------------------------------------------------------------------------------


class TrainConfig(Section):
    """Fields every regime shares."""

    regime: str = Field("backprop", description="The training regime (see 'specc regimes').")
    data: DataConfig = Field(description="Dataset, split, view and preprocessing.")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed of initialisation, order and "
                      "augmentation (0 to 2**32-1, the range numpy and torch accept).")
    deterministic: bool = Field(False, description="Use deterministic kernels only.")
    checkpoint: CheckpointPolicy = Field(default_factory=CheckpointPolicy,
                                         description="When to save `last` and `best`.")
    metrics: list[MetricChoice] = Field(default_factory=list,
                                        description="Metrics logged on every split.")
    batch_size: int | Literal["full"] = Field(32, description="Samples per step (or per "
                                              "accumulated batch), or 'full' (the whole split).")
    target: str = Field("labels", description="'labels', 'input' (autoencoders) or an array name.")

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch(cls, v: Any) -> Any:
        if v == "full" or (isinstance(v, int) and not isinstance(v, bool) and v > 0):
            return v
        raise ValueError("must be a positive integer or 'full'")

    def monitors(self) -> list[tuple[str, PathT]]:
        """Every monitored log key the section names, with its path."""
        return [(self.checkpoint.monitor, ("checkpoint", "monitor"))] if self.checkpoint.monitor \
            else []

    def default_monitor(self, has_val: bool) -> tuple[str, str]:
        return ("val_loss" if has_val else "loss"), "auto"

    def monitor(self, has_val: bool) -> tuple[str, str]:
        """(log key, mode) of the value that picks `best`."""
        name, mode = (self.checkpoint.monitor, self.checkpoint.mode) if self.checkpoint.monitor \
            else self.default_monitor(has_val)
        return monitor_key(name), resolve_mode(name, mode, self.log_modes())

    def own_metrics(self) -> dict[str, str]:
        """The chosen regime's own metrics (log key -> mode)."""
        from ..registry import current

        trainers = current().trainers
        return dict(trainers.get(self.regime).own_metrics) if self.regime in trainers else {}

    def log_modes(self) -> dict[str, str]:
        """Log key -> ``min``/``max`` of the configured metrics and the regime's own."""
        from .choices import entries

        metrics = entries("metrics")
        modes = {metrics.get(m.name).key(m.params): metrics.get(m.name).mode for m in self.metrics}
        return modes | self.own_metrics()

    def regimes_used(self) -> set[str]:
        """Regimes that train the networks (a composite regime adds its phases')."""
        return {self.regime}

    def cross_check(self) -> list[SpecError]:
        """Problems between fields, each with its path."""
        return check_data(self.data)

    def check_networks(self, networks: dict[str, Any], layers: Any) -> list[SpecError]:
        """Problems between the section and the compiled networks (a node it names), each
        with its path inside ``train``."""
        return []


class EpochConfig(TrainConfig):
    """Regimes trained in epochs of steps."""

    epochs: int = Field(10, ge=0, description="Passes over the training split.")
    early_stopping: EarlyStopping | None = Field(None, description="Stop when the monitored "
                                                 "value stops improving.")

    def monitors(self) -> list[tuple[str, PathT]]:
        es = [(self.early_stopping.monitor, ("early_stopping", "monitor"))] \
            if self.early_stopping else []
        return super().monitors() + es

    def default_monitor(self, has_val: bool) -> tuple[str, str]:
        if self.early_stopping is not None:
            return self.early_stopping.monitor, self.early_stopping.mode
        return super().default_monitor(has_val)


class GradientConfig(EpochConfig):
    """Regimes that descend the gradient of a loss."""

    loss: LossChoice | None = Field(None, description="Loss of every output.")
    losses: dict[str, OutputLoss] | None = Field(None, description="Loss per graph output "
                                                 "(instead of `loss`).")
    optimizer: OptimizerChoice = Field(
        default_factory=lambda: default_choice("optimizers", "adam"),
        description="The optimizer and its parameters (e.g. {sgd: {lr: 0.1, momentum: 0.9}}).")
    schedule: ScheduleChoice | None = Field(None, description="Learning-rate schedule.")
    clip: Clip | None = Field(None, description="Gradient clipping.")
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32", description="Arithmetic of the training forward pass: fp32, bf16 autocast (CPU "
        "and CUDA) or fp16 autocast with dynamic loss scaling (CUDA only).")
    accumulate: int = Field(1, ge=1, description="Add the gradients of this many batches of "
                            "batch_size before each optimizer step (batch 16 with accumulate 4 "
                            "updates as batch 64 does).")
    compile: bool | Literal["auto"] = Field(
        False, description="torch.compile the network for training: true, false, or auto (on "
        "only when a short measurement at start-up shows a gain; cached per spec and machine).")

    @field_validator("compile", mode="before")
    @classmethod
    def _compile(cls, v: Any) -> Any:
        if isinstance(v, bool) or v == "auto":
            return v
        raise ValueError("must be true, false or auto")

    def monitors(self) -> list[tuple[str, PathT]]:
        from .choices import entries

        watched = None
        if self.schedule is not None:  # a schedule that steps on a logged value names it
            watched = entries("schedules").get(self.schedule.name).monitor(self.schedule.params)
        schedule = [(watched[0], ("schedule", self.schedule.name, "monitor"))] if watched else []
        return super().monitors() + schedule

    def cross_check(self) -> list[SpecError]:
        errs = super().cross_check()
        if self.loss is not None and self.losses:
            errs.append(SpecError("give either 'loss' or per-output 'losses', not both",
                                  path=("losses",)))
        if self.clip is not None and self.clip.norm is None and self.clip.value is None:
            errs.append(SpecError("give 'norm' or 'value'", path=("clip",)))
        return errs

    def output_losses(self, outputs: list[str]) -> dict[str, OutputLoss]:
        """Loss per graph output: the per-output table, or ``loss`` on every output (an empty
        ``losses: {}`` is no table)."""
        if self.losses:
            return self.losses
        if self.loss is None:
            return {}
        return {o: OutputLoss(loss=self.loss, target=self.target) for o in outputs}


class FitConfig(TrainConfig):
    """Accumulate-then-solve regimes: one pass over the training split, no epochs."""


# -- monitors ---------------------------------------------------------------------------------


def monitor_key(monitor: str) -> str:
    """The log key of a monitored value: ``val_acc`` -> ``val_accuracy``."""
    from .choices import entries

    prefix = "val_" if monitor.startswith("val_") else ""
    base = monitor.removeprefix("val_")
    return prefix + (entries("metrics").canonical(base) or base)


def resolve_mode(monitor: str, mode: str, modes: dict[str, str] | None = None) -> str:
    """``min`` or ``max`` for a monitored key; ``auto`` reads ``modes`` (log key -> mode,
    :meth:`TrainConfig.log_modes`), else the registered metric's."""
    from .choices import metric_mode

    if mode != "auto":
        return mode
    base = monitor.removeprefix("val_")
    if modes and base in modes:
        return modes[base]
    return metric_mode(base)


def _check_monitors(cfg: TrainConfig, errs: Problems) -> None:
    from .choices import entries

    metrics = entries("metrics")
    own = cfg.own_metrics()
    keys = [metrics.get(m.name).key(m.params) for m in cfg.metrics]  # log columns
    names = {"loss", *own, *keys} | {m.name for m in cfg.metrics}
    choices = [p + n for n in ["loss", *keys, *own] for p in ("", "val_")]
    for monitor, path in cfg.monitors():
        base = monitor.removeprefix("val_")
        if base in names or metrics.canonical(base) in names:
            continue
        mine = f" or an own metric of regime '{cfg.regime}'" if own else ""
        errs.add(f"cannot monitor '{monitor}': it is not the loss, one of the metrics{mine}", path,
                 hint=did_you_mean(monitor, choices) or "monitor one of: " + ", ".join(choices))


# -- validation ---------------------------------------------------------------------------------


def validate_train(raw: dict[str, Any]) -> TrainConfig:
    """Validate a ``train:`` mapping against its regime's config; every problem is one issue
    with a path inside ``train``."""
    from ..registry import current

    if isinstance(raw, TrainConfig):
        return raw
    if not isinstance(raw, dict):
        raise SpecError("'train' must be a mapping", received=raw)
    regs = current()
    errs = Problems()
    data = dict(raw)
    regime = data.get("regime", "backprop")
    regime_cls = None
    if not isinstance(regime, str):
        errs.add("must be a regime name", ("regime",), received=regime)
    elif regime not in regs.trainers:
        err = regs.trainers.unknown(regime)
        errs.add(err.issues[0].message, ("regime",), hint=err.issues[0].hint)
    else:
        regime_cls = regs.trainers.get(regime)
        data["regime"] = regs.trainers.canonical(regime)
    model = regime_cls.Config if regime_cls is not None else TrainConfig
    if regime_cls is None:  # still check the fields every regime shares
        data = {k: v for k, v in data.items() if k in TrainConfig.model_fields and k != "regime"}
    for key in [k for k in data if k not in model.model_fields]:
        fields = [f for f in model.model_fields if f != "regime"]
        errs.add(f"regime '{data['regime']}' has no field '{key}'", (key,),
                 hint=did_you_mean(str(key), fields)
                 or f"its fields: {', '.join(fields)} (see 'specc regimes describe "
                    f"{data['regime']}')")
        del data[key]
    if isinstance(data.get("data"), str):
        data["data"] = {"dataset": data["data"]}
    data_raw = data.get("data")
    if isinstance(data_raw, dict) and isinstance(data_raw.get("split"), dict):
        _, serrs = validate_model(SplitConfig, data_raw["split"], ("data", "split"))
        if serrs:  # reported once, without the other members of the union
            errs.extend(serrs)
            data["data"] = data_raw = {k: v for k, v in data_raw.items() if k != "split"}
    data, failed = parse_choices(model, data, (), errs)
    config, verrs = validate_model(model, data, ())
    errs.extend([e for e in verrs if not any(e.issues[0].path[:len(f)] == f for f in failed)])
    if isinstance(data_raw, dict) and isinstance(data_raw.get("dataset"), str):
        _check_dataset(data_raw, regs, errs)
    if config is not None:
        errs.extend(config.cross_check())
        _check_monitors(config, errs)
        if regime_cls is not None and regime_cls.targets == "loss" and \
                isinstance(config, GradientConfig) and config.loss is None and not config.losses:
            errs.add(f"regime '{config.regime}' needs a loss", ("loss",),
                     hint="e.g. loss: cross_entropy (classification) or loss: mse")
    if errs.items:
        raise SpecError.collect(errs.items)
    assert config is not None
    return config


def _check_dataset(data_raw: dict[str, Any], regs: Any, errs: Problems) -> None:
    name = data_raw["dataset"]
    if name not in regs.datasets:
        err = regs.datasets.unknown(name)
        errs.add(err.issues[0].message, ("data", "dataset"), hint=err.issues[0].hint)
        return
    ds = regs.datasets.get(name)
    generic = set(DataConfig.model_fields)
    own = {k: v for k, v in data_raw.items() if k not in generic}
    _, perrs = validate_model(ds.Params, own, ("data",))
    for e in perrs:
        issue = e.issues[0]
        if issue.message.startswith("unknown field"):
            field = str(issue.path[-1])
            allowed = sorted(set(ds.Params.model_fields) | generic)
            hint = did_you_mean(field, allowed) or "allowed: " + ", ".join(allowed)
            errs.add(f"unknown field '{field}' for dataset '{ds.name}'", issue.path, hint=hint)
        else:
            errs.extend([e])


def check_regime_support(cfg: TrainConfig, networks: dict[str, Any],
                         layers: Any) -> list[SpecError]:
    """A node whose kind declares the regimes it supports (``LayerKind.regimes``) and the
    spec's regime is not one of them is an error at the node."""
    used = cfg.regimes_used()
    errs = []
    for graph in networks.values():
        for node in graph.nodes.values():
            supported = layers.get(node.kind).regimes
            if supported is None or used & set(supported):
                continue
            errs.append(SpecError(
                f"node '{node.name}': layer '{node.kind}' is not trained by regime "
                f"'{cfg.regime}'", path=node.src, received=cfg.regime,
                hint=f"'{node.kind}' is trained by: {', '.join(supported)} (train.regime)"))
    return errs


def check_labels(labels: list[str], cfg: TrainConfig | None,
                 networks: dict[str, Any]) -> list[SpecError]:
    """The spec's ``labels`` must name every class of each classifier output, no more. The
    classifier outputs are those trained with a class loss; without a loss, the only output
    of a single-output network."""
    errs = Problems()
    if len(set(labels)) != len(labels):
        dup = next(x for x in labels if labels.count(x) > 1)
        errs.add("class labels must be distinct", ("labels",), received=dup)
    if len(networks) != 1:
        return errs.items
    graph = next(iter(networks.values()))
    hint = "in class-index order (with --set: labels=[...] or labels=null)"
    if not isinstance(cfg, GradientConfig):
        if len(graph.outputs) == 1:
            out = graph.outputs[0]
            classes = graph.type_of(out).features
            if classes is not None and classes > 1 and len(labels) != classes:
                errs.add(f"labels lists {len(labels)} class names but output '{out}' has "
                         f"{classes} units", ("labels",), received=len(labels),
                         hint=f"give exactly {classes} names, {hint}")
        return errs.items
    from .choices import entries

    for out, spec in cfg.output_losses(list(graph.outputs)).items():
        targets = entries("losses").get(spec.loss.name).targets
        if out not in graph.outputs or targets not in ("classes", "signs"):
            continue
        classes = graph.type_of(out).features or 1
        if targets == "signs" and classes < 2:  # one unit: a +-1 score, two classes
            continue
        if len(labels) != classes:
            errs.add(f"labels lists {len(labels)} class names but output '{out}' has "
                     f"{classes} classes", ("labels",), received=len(labels),
                     hint=f"give exactly {classes} names, {hint}")
    return errs.items
