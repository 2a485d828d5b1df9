"""The ``sweep:`` section of a spec: what to optimise, how, and the search space.

A space key is a ``--set`` key (``train.optimizer.adam.lr``, ``params.width``,
``layers.0.dense.units``); each maps to one distribution: ``uniform: [lo, hi]``,
``log_uniform: [lo, hi]``, ``int: [lo, hi]``, ``log_int: [lo, hi]`` or ``choice: [a, b, ...]``.
Everything here is checked before trial 1, each problem located in the spec file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from ..errors import PathT, SpecError, did_you_mean
from ..strict import Strict

KINDS = ("uniform", "log_uniform", "int", "log_int", "choice")
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "successive_halving", "none")
MAX_GRID = 100_000


class SweepConfig(Strict):
    """``sweep:`` at the top of a spec (read by ``specc sweep``; ``specc train`` ignores it)."""

    metric: str | None = Field(None, description="Log key to optimise, e.g. val_accuracy "
                               "(default: the run's monitored value).")
    direction: Literal["maximize", "minimize", "auto"] = Field(
        "auto", description="auto: from the metric (accuracy is maximised, a loss minimised).")
    trials: int = Field(20, ge=1, le=100_000, description="Trials in the study (finished "
                        "and pruned ones count).")
    sampler: Literal["tpe", "random", "grid"] = Field("tpe", description="Optuna sampler.")
    pruner: Literal["median", "successive_halving", "none"] = Field(
        "median", description="Stops bad trials early from each epoch's metric.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the sampler.")
    space: dict[str, dict[str, Any]] = Field(min_length=1, description="--set key -> "
                                             "{uniform|log_uniform|int|log_int|choice: ...}.")


@dataclass(frozen=True)
class Param:
    """One dimension of the search space."""

    key: str  # the --set key
    kind: str
    values: tuple[Any, ...]  # (low, high) or the choices

    @property
    def path(self) -> PathT:
        return ("sweep", "space", self.key)

    def labels(self) -> list[str]:
        """Optuna's categorical values for a choice: scalars as they are, others as JSON."""
        return [v if _scalar(v) else json.dumps(v, sort_keys=True) for v in self.values]

    def value_of(self, label: Any) -> Any:
        """The spec value of an Optuna categorical value (inverse of :meth:`labels`)."""
        return self.values[self.labels().index(label)]

    def grid(self) -> list[Any]:
        """Every value, for the grid sampler."""
        if self.kind == "choice":
            return self.labels()
        return list(range(self.values[0], self.values[1] + 1))


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, bool | int | float | str)


def read_sweep(spec: Any) -> tuple[SweepConfig, list[Param]]:
    """The validated ``sweep:`` section of a loaded spec and its parameters; every problem
    is one located issue."""
    from ..spec.pydantic_errors import validate_model

    raw = spec.top.sweep
    if raw is None:
        raise spec.source.error(SpecError(
            f"spec '{spec.name}' has no 'sweep' section", path=(),
            hint="add sweep: {metric: val_accuracy, trials: 20, space: "
                 "{train.optimizer.adam.lr: {log_uniform: [1.0e-4, 1.0e-1]}}}"))
    cfg, errs = validate_model(SweepConfig, raw, ("sweep",))
    params: list[Param] = []
    if cfg is not None:
        for key, dist in cfg.space.items():
            try:
                params.append(_param(key, dist, cfg.sampler))
            except SpecError as err:
                errs.append(err)
    if not errs and cfg is not None:
        errs.extend(_unknown_paths(spec, params))
        errs.extend(_metric_errors(spec, cfg))
    if errs:
        raise spec.source.error(SpecError.collect(errs))
    assert cfg is not None
    return cfg, params


def _param(key: str, dist: dict[str, Any], sampler: str) -> Param:
    path = ("sweep", "space", key)
    if len(dist) != 1 or next(iter(dist)) not in KINDS:
        bad = next((k for k in dist if k not in KINDS), None)
        raise SpecError("a search dimension is one of " + ", ".join(KINDS) + " with its values",
                        path=path + ((bad,) if bad is not None else ()), received=dist,
                        hint=did_you_mean(str(bad), KINDS) if bad is not None else
                        "e.g. {log_uniform: [1.0e-4, 1.0e-1]} or {choice: [16, 32, 64]}")
    kind, values = next(iter(dist.items()))
    where = path + (kind,)
    if not isinstance(values, list):
        raise SpecError(f"'{kind}' takes a list", path=where, received=values)
    if kind == "choice":
        labels = [v if _scalar(v) else json.dumps(v, sort_keys=True) for v in values]
        if len(set(map(json.dumps, labels))) < len(labels):
            raise SpecError("the choices must be distinct", path=where, received=values)
        if len(values) < 2:
            raise SpecError("a choice needs at least two values", path=where, received=values,
                            hint="set a single value in the spec (or with --set) instead of "
                                 "sweeping it")
        return Param(key, kind, tuple(values))
    integer = kind in ("int", "log_int")
    number = int if integer else int | float
    if len(values) != 2 or any(isinstance(v, bool) or not isinstance(v, number) for v in values):
        raise SpecError(f"'{kind}' takes [low, high], two {'integers' if integer else 'numbers'}",
                        path=where, received=values)
    low, high = values
    if not low < high:
        raise SpecError("empty range: low must be below high", path=where, received=values)
    if kind.startswith("log") and low <= 0:
        raise SpecError("a log range must be above 0", path=where, received=values,
                        hint="use uniform/int for a range from 0")
    if sampler == "grid" and not integer:
        raise SpecError("the grid sampler needs a finite set of values", path=where,
                        received=values, hint="give choice: [...] (or int: [low, high])")
    if sampler == "grid" and high - low >= MAX_GRID:
        raise SpecError(f"too many grid points (limit {MAX_GRID})", path=where, received=values)
    return Param(key, kind, (low, high))


def _unknown_paths(spec: Any, params: list[Param]) -> list[SpecError]:
    """A key that is not in the spec must be one that a value can be set at: setting it
    alone to its first value may fail for the value, never for the key."""
    from ..assembled import load
    from ..spec.resolve import apply_overrides

    data = spec.source.data
    errs = []
    for p in params:
        item = f"{p.key}={json.dumps(p.values[0])}"
        try:
            apply_overrides(data, [item])
        except SpecError as err:
            issue = err.issues[0]
            errs.append(SpecError(f"no spec path '{p.key}': {_after_colon(issue.message)}",
                                  path=p.path, hint=issue.hint))
            continue
        parts = _parts(p.key, data)
        if _exists(data, parts):
            continue
        try:
            load(spec.source, [item], check_requires=False)
        except SpecError as err:
            bad = [i for i in err.issues if _related(i.path, parts)]
            if bad:
                errs.append(SpecError(f"no spec path '{p.key}': {bad[0].message}", path=p.path,
                                      hint=bad[0].hint))
    return errs


def _after_colon(message: str) -> str:
    return message.split(": ", 1)[1] if message.startswith("--set") else message


def _parts(key: str, data: dict[str, Any]) -> tuple[str | int, ...]:
    """The path of a --set key (a bare parameter name is under ``params``)."""
    parts = tuple(int(p) if p.isascii() and p.isdigit() else p for p in key.split(".") if p)
    if len(parts) == 1 and parts[0] in (data.get("params") or {}):
        return ("params", *parts)
    return parts


def _exists(data: Any, parts: tuple[str | int, ...]) -> bool:
    for part in parts:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return False
    return True


def _related(path: PathT, parts: tuple[str | int, ...]) -> bool:
    n = min(len(path), len(parts))
    return n > 0 and tuple(path[:n]) == tuple(parts[:n])


def _metric_errors(spec: Any, cfg: SweepConfig) -> list[SpecError]:
    """The metric must be a log key of the spec's regime: the check of a monitored value,
    reported at ``sweep.metric``; ``val_`` keys need a validation split."""
    from ..spec.training import validate_train

    if cfg.metric is None or spec.train is None:
        return [SpecError("a sweep trains the spec: it needs a 'train' section",
                          path=("train",))] if spec.train is None else []
    raw = dict(spec.resolved["train"])
    raw["checkpoint"] = {**raw.get("checkpoint", {}), "monitor": cfg.metric}
    try:
        validate_train(raw)
    except SpecError as err:
        issue = next((i for i in err.issues if i.path == ("checkpoint", "monitor")), None)
        if issue is not None:
            message = issue.message.replace("cannot monitor", "cannot optimise", 1)
            return [SpecError(message, path=("sweep", "metric"), hint=issue.hint)]
    split = spec.train.data.split
    if cfg.metric.startswith("val_") and (split == "none" or getattr(split, "val", None) == 0):
        return [SpecError(f"cannot optimise '{cfg.metric}': the spec holds out no validation "
                          "split", path=("sweep", "metric"),
                          hint=f"optimise '{cfg.metric.removeprefix('val_')}' or hold out "
                               "data: train.data.split: {val: 0.2}")]
    return []


def metric_and_direction(spec: Any, cfg: SweepConfig) -> tuple[str, str]:
    """The log key optimised and ``maximize``/``minimize`` (``auto`` read off the metric)."""
    from ..spec.training import monitor_key, resolve_mode

    train = spec.train
    has_val = train.data.split != "none" and getattr(train.data.split, "val", 1) != 0
    if cfg.metric is None:
        key, mode = train.monitor(has_val)
    else:
        key = monitor_key(cfg.metric)
        mode = resolve_mode(cfg.metric, "auto", train.log_modes())
    if cfg.direction != "auto":
        return key, cfg.direction
    return key, "maximize" if mode == "max" else "minimize"


def json_schema() -> dict[str, Any]:
    """The ``sweep:`` section as JSON Schema (draft-07), for editors (``specc schema``)."""
    pair = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    ints = {**pair, "items": {"type": "integer"}}
    forms = {"uniform": pair, "log_uniform": {**pair, "items": {"type": "number",
                                                                  "exclusiveMinimum": 0}},
             "int": ints, "log_int": {**ints, "items": {"type": "integer", "minimum": 1}},
             "choice": {"type": "array", "minItems": 2}}
    dimension = {"oneOf": [{"type": "object", "properties": {k: v}, "required": [k],
                            "additionalProperties": False} for k, v in forms.items()]}
    fields = SweepConfig.model_fields
    props: dict[str, Any] = {
        "metric": {"type": ["string", "null"]}, "direction": {"enum": ["maximize", "minimize",
                                                                        "auto"]},
        "trials": {"type": "integer", "minimum": 1, "maximum": 100_000},
        "sampler": {"enum": list(SAMPLERS)}, "pruner": {"enum": list(PRUNERS)},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
        "space": {"type": "object", "minProperties": 1, "additionalProperties": dimension}}
    for name, prop in props.items():
        prop["description"] = fields[name].description
    return {"type": ["object", "null"], "properties": props, "required": ["space"],
            "additionalProperties": False, "description": SweepConfig.__doc__}
