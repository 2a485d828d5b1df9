"""The ``train:`` section of a spec: pydantic models and :func:`validate_train`.

Pure Python (no torch): ``specc validate`` checks a training setup without importing torch.
Named choices (loss, optimizer, schedule, metrics) are written either as a bare name
(``optimizer: adam``) or as a one-key mapping with parameters (``optimizer: {adam: {lr: 0.01}}``).
Every problem in the section is reported at once, each with its path inside ``train``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_serializer,
    model_validator,
)

from ..errors import PathT, SpecError, did_you_mean
from ..train.names import LOSSES, METRICS, OPTIMIZERS, SCHEDULES, Table
from .pydantic_errors import validate_model

MAX_SEED = 2**32 - 1  # numpy's seed range (torch accepts more)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoParams(Strict):
    """A choice without parameters."""


class Choice(BaseModel):
    """A named entry of a table (loss, optimizer, schedule, metric) with validated params."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    params: Any = None

    @model_serializer
    def _dump(self) -> Any:
        p = self.params.model_dump(mode="json", exclude_defaults=True) if self.params else {}
        return {self.name: p} if p else self.name

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self.params, key, default)


# -- data -----------------------------------------------------------------------------------


class SplitConfig(Strict):
    """How samples are held out. Fractions (0-1) or counts of samples."""

    val: float = Field(0.0, ge=0, allow_inf_nan=False,
                       description="Validation fraction (<1) or sample count (>=1).")
    test: float = Field(0.0, ge=0, allow_inf_nan=False,
                        description="Test fraction or count: held out from training and model "
                        "selection, reported by evaluate.")
    order: Literal["random", "last"] = Field(
        "random", description="random: shuffled with seed (as scikit-learn's train_test_split); "
        "last: the held-out samples are the last ones in dataset order.")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed of random splits.")
    stratify: bool = Field(False, description="Keep class proportions in random splits.")

    @model_validator(mode="before")
    @classmethod
    def _last(cls, data: Any) -> Any:
        """``{last: N}`` is short for ``{val: N, order: last}``."""
        if isinstance(data, dict) and "last" in data:
            data = dict(data)
            data.setdefault("val", data.pop("last"))
            data["order"] = "last"
        return data


class WindowConfig(Strict):
    """Sliding windows over a series: ``size`` steps in, the value ``horizon`` steps later out."""

    size: int = Field(gt=0)
    horizon: int = Field(1, gt=0)
    stride: int = Field(1, gt=0)
    target: Literal["next", "sequence"] = Field(
        "next", description="next: the value `horizon` steps after the window; sequence: the "
        "window shifted by `horizon` (sequence-to-sequence).")


class Normalize(Strict):
    mean: list[float] | float
    std: list[float] | float


class AugmentConfig(Strict):
    """Random augmentation of training samples (never applied to validation or test data)."""

    rotation: float = Field(0.0, ge=0, le=180, description="Max rotation in degrees (+-).")
    width_shift: float = Field(0.0, ge=0, lt=1, description="Max horizontal shift, fraction of width.")
    height_shift: float = Field(0.0, ge=0, lt=1, description="Max vertical shift, fraction of height.")
    shear: float = Field(0.0, ge=0, lt=90, description="Max shear angle in degrees (Keras shear_range).")
    zoom: float | tuple[float, float] = Field(
        0.0, description="Zoom range: z gives [1-z, 1+z]; or [low, high].")
    horizontal_flip: bool = False
    vertical_flip: bool = False
    fill: Literal["nearest", "constant", "reflect"] = "nearest"
    gaussian_noise: float = Field(0.0, ge=0, description="Std of additive Gaussian noise.")
    masking_noise: float = Field(0.0, ge=0, lt=1, description="Fraction of values set to zero.")


class DataConfig(BaseModel):
    """Where the data comes from and how it is shaped. Keys other than the generic ones below
    are the dataset's own parameters (e.g. ``path`` for csv), validated by the dataset."""

    model_config = ConfigDict(extra="allow")

    dataset: str
    split: SplitConfig | Literal["own", "none"] | None = Field(
        None, description="Held-out split; default: the dataset's own, else {val: 0.2, seed: 0}.")
    view: Literal["auto", "image", "sequence", "flat"] = "auto"
    window: WindowConfig | None = None
    scale: Literal["none", "unit", "standard", "minmax"] = Field(
        "none", description="unit: divide by the data's maximum (pixels to [0,1]); standard / "
        "minmax: fitted on the training split only.")
    scale_target: Literal["none", "standard", "minmax"] | None = Field(
        None, description="Scale regression targets (metrics stay in original units); default: "
        "as `scale` for windowed series, else none.")
    rescale: float | None = Field(None, description="Multiply inputs by this (e.g. 1/255).")
    normalize: Normalize | None = None
    augment: AugmentConfig | None = None
    inputs: dict[str, str] | None = Field(None, description="Graph input -> dataset array.")
    targets: dict[str, str] | None = Field(None, description="Graph output -> dataset array.")
    limit: int | None = Field(None, gt=0, description="Use only the first N samples.")

    @property
    def dataset_params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


# -- the rest ------------------------------------------------------------------------------


class OutputLoss(Strict):
    loss: Any
    weight: float = Field(1.0, ge=0)
    target: str | None = Field(None, description="'input' (reconstruction) or a dataset array.")


class EarlyStopping(Strict):
    monitor: str = "val_loss"
    patience: int = Field(5, ge=0)
    min_delta: float = Field(0.0, ge=0)
    mode: Literal["auto", "min", "max"] = "auto"
    restore_best: bool = Field(False, description="Load the best weights when training stops.")


class CheckpointPolicy(Strict):
    every: int = Field(1, ge=1, description="Save `last` every N epochs.")
    every_steps: int = Field(0, ge=0, description="Also save `last` every N steps (0 = off).")
    best: bool = Field(True, description="Keep `best` by the monitored value.")
    monitor: str | None = Field(None, description="Default: early_stopping.monitor, else "
                                "val_loss when there is validation data, else loss.")
    mode: Literal["auto", "min", "max"] = "auto"


class Clip(Strict):
    norm: float | None = Field(None, gt=0, description="Clip the global gradient norm.")
    value: float | None = Field(None, gt=0, description="Clip each gradient element to +-value.")


class TrainConfig(Strict):
    """The validated ``train:`` section."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    regime: str = "backprop"
    data: DataConfig
    loss: Choice | None = None
    losses: dict[str, OutputLoss] | None = None
    target: str = Field("labels", description="'labels', 'input' (autoencoders) or an array name.")
    optimizer: Choice = Field(default_factory=lambda: Choice(name="adam", params=OPTIMIZERS["adam"].params()))
    schedule: Choice | None = None
    epochs: int = Field(10, ge=0)
    batch_size: int | Literal["full"] = Field(32, description="Samples per step, or 'full' "
                                               "(full-batch gradient descent).")
    metrics: list[Choice] = Field(default_factory=list)
    early_stopping: EarlyStopping | None = None
    checkpoint: CheckpointPolicy = Field(default_factory=CheckpointPolicy)
    clip: Clip | None = None
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed of initialisation, order and "
                      "augmentation (0 to 2**32-1, the range numpy and torch accept).")
    deterministic: bool = False
    params: dict[str, Any] = Field(default_factory=dict, description="Regime-specific settings.")

    _regime_params: Any = PrivateAttr(None)

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch(cls, v: Any) -> Any:
        if v == "full" or (isinstance(v, int) and not isinstance(v, bool) and v > 0):
            return v
        raise ValueError("must be a positive integer or 'full'")

    @property
    def regime_params(self) -> Any:
        """``params`` validated by the regime's own model (set by validate_train)."""
        return self._regime_params

    def monitor(self, has_val: bool) -> tuple[str, str]:
        """(name, mode) of the value that picks `best`."""
        name = self.checkpoint.monitor or (self.early_stopping.monitor if self.early_stopping
                                           else ("val_loss" if has_val else "loss"))
        mode = self.checkpoint.mode if self.checkpoint.monitor else (
            self.early_stopping.mode if self.early_stopping else "auto")
        return monitor_key(name), resolve_mode(name, mode)

    def output_losses(self, outputs: list[str]) -> dict[str, OutputLoss]:
        """Loss per graph output: the per-output table, or ``loss`` on every output (an empty
        ``losses: {}`` is no table, as validation reads it)."""
        if self.losses:
            return self.losses
        if self.loss is None:
            return {}
        return {o: OutputLoss(loss=self.loss, target=self.target) for o in outputs}


def monitor_key(monitor: str) -> str:
    """The log key of a monitored value: ``val_acc`` -> ``val_accuracy``."""
    prefix = "val_" if monitor.startswith("val_") else ""
    base = monitor.removeprefix("val_")
    canon = METRICS.canonical(base)
    return prefix + (canon if canon and canon != "top_k" else base)


def resolve_mode(monitor: str, mode: str) -> str:
    if mode != "auto":
        return mode
    base = monitor.removeprefix("val_")
    return "max" if METRICS.canonical(base) in ("accuracy", "top_k", "precision", "recall", "f1") \
        else "min"


# -- validation -----------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.items: list[SpecError] = []

    def add(self, message: str, path: PathT, **kw: Any) -> None:
        self.items.append(SpecError(message, path=path, **kw))

    def extend(self, errs: list[SpecError]) -> None:
        self.items.extend(errs)


def parse_choice(raw: Any, table: Table, path: PathT, errs: _Errors) -> Choice | None:
    """``name`` or ``{name: {params}}`` against ``table``; errors go to ``errs``."""
    if isinstance(raw, Choice):
        return raw
    if isinstance(raw, str):
        name, params, ppath = raw, {}, path
    elif isinstance(raw, dict) and len(raw) == 1:
        name, params = next(iter(raw.items()))
        ppath = path + (name,)
        params = {} if params is None else params
        if not isinstance(params, dict):
            errs.add(f"parameters of {table.what} '{name}' must be a mapping", ppath,
                     received=params)
            return None
    else:
        errs.add(f"must be a {table.what} name or a mapping {{name: {{parameters}}}}", path,
                 received=raw)
        return None
    canon = table.canonical(str(name))
    if canon is None:
        errs.add(f"unknown {table.what} '{name}'", path if isinstance(raw, str) else ppath,
                 hint=did_you_mean(str(name), table.names())
                 or f"available: {', '.join(table.names())}")
        return None
    model, perrs = validate_model(table[canon].params, params, ppath)
    errs.extend(perrs)
    return Choice(name=canon, params=model) if model is not None else None


def validate_train(raw: dict[str, Any]) -> TrainConfig:
    """Validate a ``train:`` mapping; every problem is one issue with a path inside ``train``."""
    from ..registry import current

    if isinstance(raw, TrainConfig):
        return raw
    if not isinstance(raw, dict):
        raise SpecError("'train' must be a mapping", received=raw)
    errs = _Errors()
    data = dict(raw)
    named = {"loss": LOSSES, "optimizer": OPTIMIZERS, "schedule": SCHEDULES}
    parsed: dict[str, Any] = {}
    for key, table in named.items():
        if data.get(key) is not None:
            parsed[key] = parse_choice(data.pop(key), table, (key,), errs)
    if "metrics" in data:
        metrics = data.pop("metrics")
        metrics = [metrics] if isinstance(metrics, str | dict) else metrics
        if not isinstance(metrics, list):
            errs.add("must be a list of metric names", ("metrics",), received=metrics)
        else:
            parsed["metrics"] = [c for i, m in enumerate(metrics)
                                 if (c := parse_choice(m, METRICS, ("metrics", i), errs))]
    if isinstance(data.get("losses"), dict):
        losses = {}
        for out, item in data.pop("losses").items():
            item = {"loss": item} if not isinstance(item, dict) or "loss" not in item else dict(item)
            choice = parse_choice(item.get("loss"), LOSSES, ("losses", out, "loss")
                                  if "loss" in item and len(item) > 1 else ("losses", out), errs)
            item["loss"] = choice
            losses[out] = item
        parsed["losses"] = losses

    regs = current()
    regime_cls = None
    regime = data.get("regime", "backprop")
    if isinstance(regime, str):
        if regime in regs.trainers:
            regime_cls = regs.trainers.get(regime)
            data["regime"] = regs.trainers.canonical(regime)
        else:
            err = regs.trainers.unknown(regime)
            errs.add(err.issues[0].message, ("regime",), hint=err.issues[0].hint)
            data.pop("regime")

    data_raw = data.get("data")
    if isinstance(data_raw, str):
        data["data"] = data_raw = {"dataset": data_raw}
    if isinstance(data_raw, dict) and isinstance(data_raw.get("split"), dict):
        _, serrs = validate_model(SplitConfig, data_raw["split"], ("data", "split"))
        if serrs:  # reported once, without the other members of the union
            errs.extend(serrs)
            data["data"] = data_raw = {k: v for k, v in data_raw.items() if k != "split"}
    config, verrs = validate_model(TrainConfig, {**data, **{k: v for k, v in parsed.items()
                                                           if v is not None}}, ())
    errs.extend(verrs)
    if isinstance(data_raw, dict) and isinstance(data_raw.get("dataset"), str):
        _check_dataset(data_raw, regs, errs)
    if config is not None:
        _check_cross(config, regime_cls, errs)
    if errs.items:
        raise SpecError.collect(errs.items)
    assert config is not None
    return config


def _check_dataset(data_raw: dict[str, Any], regs: Any, errs: _Errors) -> None:
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


def _check_cross(cfg: TrainConfig, regime_cls: Any, errs: _Errors) -> None:
    if regime_cls is not None:
        pmodel = getattr(regime_cls, "Params", None)
        if pmodel is not None:
            params, perrs = validate_model(pmodel, cfg.params, ("params",))
            errs.extend(perrs)
            cfg._regime_params = params
        if getattr(regime_cls, "requires_loss", False) and cfg.loss is None and not cfg.losses:
            errs.add(f"regime '{cfg.regime}' needs a loss", ("loss",),
                     hint="e.g. loss: cross_entropy (classification) or loss: mse")
    if cfg.loss is not None and cfg.losses:
        errs.add("give either 'loss' or per-output 'losses', not both", ("losses",))
    if cfg.schedule is not None and cfg.schedule.name == "reduce_on_plateau":
        _check_monitor(cfg, cfg.schedule.params.monitor, ("schedule", "reduce_on_plateau", "monitor"), errs)
    if cfg.early_stopping is not None:
        _check_monitor(cfg, cfg.early_stopping.monitor, ("early_stopping", "monitor"), errs)
    if cfg.checkpoint.monitor:
        _check_monitor(cfg, cfg.checkpoint.monitor, ("checkpoint", "monitor"), errs)
    if cfg.clip is not None and cfg.clip.norm is None and cfg.clip.value is None:
        errs.add("give 'norm' or 'value'", ("clip",))
    split = cfg.data.split
    if isinstance(split, SplitConfig):
        for key in ("val", "test"):
            v = getattr(split, key)
            if 0 < v and v >= 1 and v != int(v):
                errs.add("must be a fraction below 1 or a whole number of samples", ("data", "split", key),
                         received=v)
        if split.val < 1 and split.test < 1 and split.val + split.test >= 1:
            errs.add("val + test must leave some training data", ("data", "split"),
                     received=split.val + split.test)
    aug = cfg.data.augment
    if aug is not None and isinstance(aug.zoom, tuple) and not 0 < aug.zoom[0] <= aug.zoom[1]:
        errs.add("zoom range must be [low, high] with 0 < low <= high", ("data", "augment", "zoom"),
                 received=list(aug.zoom))
    if aug is not None and isinstance(aug.zoom, float) and not 0 <= aug.zoom < 1:
        errs.add("zoom must be in [0, 1)", ("data", "augment", "zoom"), received=aug.zoom)


def _check_monitor(cfg: TrainConfig, monitor: str, path: PathT, errs: _Errors) -> None:
    base = monitor.removeprefix("val_")
    names = {"loss"} | {m.name for m in cfg.metrics}
    if base in names or METRICS.canonical(base) in names:
        return
    choices = ["loss", "val_loss"] + [p + m.name for m in cfg.metrics for p in ("", "val_")]
    errs.add(f"cannot monitor '{monitor}': it is not the loss or one of the metrics", path,
             hint=did_you_mean(monitor, choices) or "monitor one of: " + ", ".join(choices))


def check_labels(labels: list[str], cfg: TrainConfig | None,
                 networks: dict[str, Any]) -> list[SpecError]:
    """The spec's ``labels`` must name every class of each classifier output, no more. The
    classifier outputs are those trained with a class loss; without a ``train`` section, the
    only output of a single-output network."""
    errs = _Errors()
    if len(set(labels)) != len(labels):
        dup = next(x for x in labels if labels.count(x) > 1)
        errs.add("class labels must be distinct", ("labels",), received=dup)
    if len(networks) != 1:
        return errs.items
    graph = next(iter(networks.values()))
    if cfg is None:
        if len(graph.outputs) == 1:
            out = graph.outputs[0]
            classes = graph.type_of(out).features
            if classes is not None and classes > 1 and len(labels) != classes:
                errs.add(f"labels lists {len(labels)} class names but output '{out}' has "
                         f"{classes} units", ("labels",), received=len(labels),
                         hint=f"give exactly {classes} names, in class-index order (with --set: "
                          f"labels=[...] or labels=null)")
        return errs.items
    for out, spec in cfg.output_losses(list(graph.outputs)).items():
        name = spec.loss.name if isinstance(spec.loss, Choice) else None
        if out not in graph.outputs or name not in ("cross_entropy", "hinge"):
            continue
        classes = graph.type_of(out).features or 1
        if name == "hinge" and classes < 2:
            continue
        if len(labels) != classes:
            errs.add(f"labels lists {len(labels)} class names but output '{out}' has "
                     f"{classes} classes", ("labels",), received=len(labels),
                     hint=f"give exactly {classes} names, in class-index order (with --set: "
                          f"labels=[...] or labels=null)")
    return errs.items
