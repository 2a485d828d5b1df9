"""Turn a dataset into arrays that fit a network: split, window, scale, shape and check.

Everything here is NumPy; the trainer wraps the arrays as tensors. Data that cannot fit the
network (feature count, sequence shape, dtype, label range) is refused here, before any
training, with a :class:`SpecError` located at ``train.data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SpecError, did_you_mean
from ..registry import current
from ..types import TensorType, fmt_shape
from .base import RawData, data_error
from .splits import split_indices


@dataclass
class OutputTarget:
    """What one network output is trained against."""

    type: TensorType
    loss: str | None = None  # canonical loss name (gradient regimes), else None
    target: str = "labels"  # 'labels', 'input' or a dataset array name
    classes: bool = False  # without a loss: integer labels are class indices of the output
    mask: str | None = None  # a dataset array: the loss counts only the elements it marks


@dataclass
class Part:
    """One split: network inputs, array targets per output, other arrays, sample indices."""

    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    extras: dict[str, np.ndarray]
    index: np.ndarray

    @property
    def n(self) -> int:
        return len(self.index)


@dataclass
class Prepared:
    parts: dict[str, Part]
    raw: RawData
    input_targets: dict[str, str]  # output -> graph input it reconstructs
    preprocess: dict[str, dict[str, Any]]  # graph input -> JSON record (apply_preprocess)
    target_scale: dict[str, dict[str, list[float]]]  # output -> {"scale": .., "shift": ..}
    split_record: dict[str, Any]
    classes: dict[str, int] = field(default_factory=dict)  # classifier output -> classes
    target_keys: dict[str, str] = field(default_factory=dict)  # target -> dataset array
    setup: tuple[Any, ...] = ()  # (cfg, inputs, outputs) as given to prepare, for refresh

    @property
    def task(self) -> str:
        return self.raw.task

    @property
    def labels(self) -> list[str] | None:
        return self.raw.labels

    def held_out(self) -> str | None:
        """The split evaluate reports on: test when there is one, else val."""
        return "test" if "test" in self.parts else ("val" if "val" in self.parts else None)

    def record(self) -> dict[str, Any]:
        """JSON for the run directory (``data.json``): what predict needs to repeat."""
        return {"dataset": self.raw.meta.get("dataset"), "task": self.task,
                "labels": self.labels, "vocab": self.raw.vocab, "preprocess": self.preprocess,
                "target_scale": self.target_scale, "input_targets": self.input_targets,
                "classes": self.classes}


def dataset_params(cfg: Any) -> tuple[Any, Any]:
    """The dataset class named in a DataConfig and its own parameters, validated."""
    from ..spec.pydantic_errors import validate_model

    try:
        ds = current().datasets.get(cfg.dataset)
    except SpecError as err:
        raise err.prefixed(("train", "data", "dataset")) from None
    params, errs = validate_model(ds.Params, cfg.dataset_params, ("train", "data"))
    if errs:
        raise SpecError.collect(errs)
    return ds, params


def load_raw(cfg: Any) -> RawData:
    """Load the dataset named in a DataConfig, with its own parameters validated."""
    ds, params = dataset_params(cfg)
    raw = ds.load(params)
    raw.meta.setdefault("dataset", ds.name)
    if cfg.limit is not None:
        raw.arrays = {k: v[: cfg.limit] for k, v in raw.arrays.items()}
    if cfg.binary is not None:
        one_vs_rest(raw, cfg.binary, cfg.dataset)
    return raw


def one_vs_rest(raw: RawData, which: str | int, dataset: str) -> None:
    """``binary: CLASS``: label 1 for CLASS (a label name or index), 0 for the other classes."""
    y = raw.arrays.get("y")
    if raw.task != "classification" or y is None or y.dtype.kind not in "iub":
        raise data_error(f"dataset '{dataset}' has no class labels to make a one-vs-rest task "
                         "of", "binary", received=which)
    labels = raw.labels or [str(i) for i in range(int(y.max()) + 1 if y.size else 0)]
    if isinstance(which, int):
        if not 0 <= which < len(labels):
            raise data_error(f"dataset '{dataset}' has classes 0..{len(labels) - 1}", "binary",
                             received=which)
        index = which
    elif which in labels:
        index = labels.index(which)
    else:
        raise data_error(f"dataset '{dataset}' has no class '{which}'", "binary",
                         received=which, hint=did_you_mean(which, labels)
                         or "classes: " + ", ".join(labels))
    raw.arrays["y"] = (y == index).astype(np.int64)
    raw.labels = [f"not {labels[index]}", labels[index]]


def prepare(cfg: Any, inputs: dict[str, TensorType], outputs: dict[str, OutputTarget],
            raw: RawData | None = None) -> Prepared:
    """Split, window, scale and shape the data of ``cfg`` (a DataConfig) for a network with
    these ``inputs`` and ``outputs``; refuse data that does not fit."""
    raw = raw if raw is not None else load_raw(cfg)
    series = raw.task == "series"
    if cfg.view == "series":
        _check_series_view(cfg, raw)
    elif series and cfg.window is None and any(_seq_target(o) for o in outputs.values()):
        raise data_error(f"dataset '{cfg.dataset}' is a series; cut it into samples with "
                         "window: {size: N}", "window",
                         hint="or read each split whole, the next value as target: view: series")
    n = len(raw.arrays["x"])
    idx, record = split_indices(n, cfg.split, raw, series=series)
    input_keys = _input_keys(cfg, inputs, raw)
    pre: dict[str, dict[str, Any]] = {}
    target_scale: dict[str, dict[str, list[float]]] = {}
    if series:
        parts, pre, target_scale = _series_parts(cfg, raw, idx, inputs, outputs, input_keys)
    else:
        parts = {}
        for name, t in inputs.items():
            train_x = _shape(raw.arrays[input_keys[name]][idx["train"]], t, cfg, name)
            pre[name] = _fit_preprocess(cfg, raw, t, train_x, input_keys[name])
        for split, ix in idx.items():
            ins = {name: apply_preprocess(pre[name], raw.arrays[input_keys[name]][ix], t, cfg,
                                          name) for name, t in inputs.items()}
            extras = {k: v[ix] for k, v in raw.arrays.items() if k not in input_keys.values()}
            parts[split] = Part(ins, {}, extras, ix)
    prep = Prepared(parts, raw, {}, pre, target_scale, record, setup=(cfg, inputs, outputs))
    _attach_targets(cfg, prep, inputs, outputs)
    return prep


def mask_key(out: str) -> str:
    """The key of output ``out``'s loss mask among a part's targets."""
    return f"{out}:mask"


def fresh_train(prep: Prepared, epoch: int) -> Part | None:
    """The training split drawn afresh for ``epoch`` (0-based) by a dataset with
    ``fresh_each_epoch`` (its ``load_epoch``, of which the first as many samples as the
    training split has are kept), with the preprocessing and target scaling already fitted;
    None for other datasets."""
    if not prep.setup:  # not made by prepare()
        return None
    cfg, inputs, outputs = prep.setup
    ds, params = dataset_params(cfg)
    if not getattr(ds, "fresh_each_epoch", False) or prep.task == "series":
        return None
    raw = ds.load_epoch(params, epoch, "train", prep.raw)
    n = prep.parts["train"].n
    if raw.n < n:
        raise data_error(f"dataset '{cfg.dataset}' drew {raw.n} fresh training samples for "
                         f"epoch {epoch + 1}, fewer than the {n} of its training split",
                         "dataset")
    raw.arrays = {k: v[:n] for k, v in raw.arrays.items()}  # the first n: the split's size
    keys = {name: prep.preprocess[name]["key"] for name in inputs}
    ins = {name: apply_preprocess(prep.preprocess[name], raw.arrays[keys[name]], t, cfg, name)
           for name, t in inputs.items()}
    extras = {k: v for k, v in raw.arrays.items() if k not in keys.values()}
    part = Part(ins, {}, extras, np.arange(raw.n))
    for target, key in prep.target_keys.items():
        out = target.removesuffix(":mask")
        if target == mask_key(out):
            part.targets[target] = extras[key].astype(np.float32)
            continue
        y = _check_target(extras[key], outputs[out], out, cfg, raw, "train")
        ts = prep.target_scale.get(out)
        if ts and out not in prep.classes:
            y = ((y - np.asarray(ts["shift"])) / np.asarray(ts["scale"])).astype(np.float32)
        part.targets[target] = y
    return part


# -- inputs ---------------------------------------------------------------------------------


def _input_keys(cfg: Any, inputs: dict[str, TensorType], raw: RawData) -> dict[str, str]:
    keys = dict(cfg.inputs or {})
    for name in inputs:
        if name in keys:
            continue
        if len(inputs) == 1:
            keys[name] = "x"
        elif name in raw.arrays:
            keys[name] = name
        else:
            raise data_error(f"the network has several inputs and dataset '{cfg.dataset}' has "
                             f"no array named '{name}'", "inputs",
                             hint="map inputs to arrays: inputs: {" + name + ": x}; arrays: "
                             + ", ".join(raw.arrays))
    for name, key in keys.items():
        if name not in inputs:
            raise data_error(f"the network has no input '{name}'", "inputs",
                             hint="inputs: " + ", ".join(inputs))
        if key not in raw.arrays:
            raise data_error(f"dataset '{cfg.dataset}' has no array '{key}'", "inputs",
                             hint="arrays: " + ", ".join(raw.arrays))
    return keys


def _matches(shape: tuple[int, ...], want: tuple[int | None, ...]) -> bool:
    return len(shape) == len(want) and all(w is None or w == s for s, w in zip(shape, want, strict=True))


def _reshape_to(sample: tuple[int, ...], want: tuple[int | None, ...]) -> tuple[int, ...] | None:
    """The shape ``want`` with dynamic axes filled so it holds the same number of values."""
    total = int(np.prod(sample)) if sample else 1
    known = int(np.prod([w for w in want if w is not None])) if want else 1
    free = [i for i, w in enumerate(want) if w is None]
    if len(free) > 1 or known == 0 or total % known:
        return None
    if not free:
        return tuple(want) if known == total else None  # type: ignore[arg-type]
    out = list(want)
    out[free[0]] = total // known
    return tuple(out)  # type: ignore[arg-type]


def describe(shape: tuple[int | None, ...]) -> str:
    n = None if any(d is None for d in shape) else int(np.prod(shape)) if shape else 1
    extra = f" = {n} values" if n is not None and len(shape) > 1 else ""
    return fmt_shape(shape) + extra


def _shape(x: np.ndarray, t: TensorType, cfg: Any, name: str,
           source: str | None = None) -> np.ndarray:
    """Reshape samples of ``x`` to the input type ``t`` per ``cfg.view``; refuse mismatches."""
    sample = x.shape[1:]
    want = t.shape
    view = cfg.view
    if view == "image":
        if len(sample) == 2:
            x = x[:, None]
        elif len(sample) != 3:
            raise data_error(f"view 'image' needs samples of shape (H, W) or (C, H, W) "
                             f"(received {fmt_shape(sample)})", "view")
    elif view == "sequence":
        if len(sample) == 3 and sample[0] == 1:
            x = x[:, 0]
        elif len(sample) == 1:
            x = x[:, :, None]
        elif len(sample) != 2:
            raise data_error(f"view 'sequence' needs samples of shape (steps, features) "
                             f"(received {fmt_shape(sample)})", "view")
    elif view == "flat":
        x = x.reshape(len(x), -1)
    sample = x.shape[1:]
    if _matches(sample, want):
        pass
    elif view == "auto" and (target := _reshape_to(sample, want)) is not None:
        x = x.reshape((len(x),) + target)
    else:
        data_n = int(np.prod(sample)) if sample else 1
        hint = None
        if t.rank >= 1 and want[-1] is not None and (len(sample) == 1 or t.rank == 1):
            hint = (f"the data has {sample[-1] if sample else 1} features per sample; the input "
                    f"'{name}' takes {want[-1]}")
        message = (f"{source or f'dataset {cfg.dataset!r}'} gives samples of shape "
                   f"{describe(sample)}, which do not fit input '{name}' of shape "
                   f"{describe(want)}")
        if source is not None:  # not the spec's data: no spec location
            raise SpecError(message, received=f"{data_n} values per sample", hint=hint)
        raise data_error(message, "dataset", received=f"{data_n} values per sample", hint=hint)
    if t.dtype.startswith("int"):
        if x.dtype.kind not in "iub":
            raise data_error(f"input '{name}' takes integer ids ({t.dtype}) but dataset "
                             f"'{cfg.dataset}' gives {x.dtype} values", "dataset",
                             hint="integer token ids feed an 'embedding' layer")
        return x.astype(np.int64)
    from .files import as_float32

    try:
        return as_float32(x, f"the data for input '{name}'")
    except SpecError as err:
        raise err.prefixed(("train", "data", "dataset")) from None


def _stat_axes(t: TensorType, ndim: int) -> tuple[int, ...]:
    """Axes reduced when fitting scale statistics: all but the feature axis."""
    if t.rank == 0:
        return tuple(range(ndim))
    feat = (t.feature_axis % t.rank) + 1
    return tuple(a for a in range(ndim) if a != feat)


def _fit_preprocess(cfg: Any, raw: RawData, t: TensorType, train_x: np.ndarray,
                    key: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"key": key, "shape": list(t.shape), "dtype": t.dtype,
                           "view": cfg.view, "rescale": cfg.rescale, "scale": "none"}
    if t.dtype.startswith("int"):
        return rec
    x = train_x * cfg.rescale if cfg.rescale else train_x
    if cfg.scale == "unit":
        vmax = raw.value_max if raw.value_max is not None and not cfg.rescale \
            else float(np.abs(x).max() or 1.0)
        rec.update(scale="unit", max=vmax)
    elif cfg.scale in ("standard", "minmax"):
        axes = _stat_axes(t, x.ndim)
        if cfg.scale == "standard":
            lo, span = x.mean(axis=axes), x.std(axis=axes)
        else:
            lo, span = x.min(axis=axes), x.max(axis=axes) - x.min(axis=axes)
        span = np.where(span > 1e-12, span, 1.0)
        rec.update(scale=cfg.scale, shift=np.atleast_1d(lo).astype(float).tolist(),
                   div=np.atleast_1d(span).astype(float).tolist())
    if cfg.normalize is not None:
        rec["normalize"] = cfg.normalize.model_dump()
    return rec


def _broadcast(values: list[float] | float, t: TensorType, ndim: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    if v.ndim == 0 or v.size == 1:
        return v.reshape(())
    shape = [1] * ndim
    shape[(t.feature_axis % max(t.rank, 1)) + 1] = v.size
    return v.reshape(shape)


def preprocess_steps(rec: dict[str, Any], t: TensorType,
                     ndim: int | None = None) -> list[tuple[str, np.ndarray]]:
    """The elementwise steps of a fitted preprocessing record for a float input of type ``t``,
    in order: ``("mul" | "sub" | "div", float32 constant)``, each constant shaped to broadcast
    over ``ndim`` axes (default: the batch axis plus ``t``'s). The one definition of what a
    record does: :func:`apply_preprocess` runs it in numpy, the ONNX export as graph ops."""
    ndim = t.rank + 1 if ndim is None else ndim
    out: list[tuple[str, np.ndarray]] = []
    if rec.get("rescale"):
        out.append(("mul", _broadcast(rec["rescale"], t, ndim)))
    if rec["scale"] == "unit":
        out.append(("div", _broadcast(rec["max"], t, ndim)))
    elif rec["scale"] in ("standard", "minmax"):
        out += [("sub", _broadcast(rec["shift"], t, ndim)),
                ("div", _broadcast(rec["div"], t, ndim))]
    if rec.get("normalize"):
        out += [("sub", _broadcast(rec["normalize"]["mean"], t, ndim)),
                ("div", _broadcast(rec["normalize"]["std"], t, ndim))]
    return out


def apply_preprocess(rec: dict[str, Any], x: np.ndarray, t: TensorType | None = None,
                     cfg: Any = None, name: str = "x", source: str | None = None) -> np.ndarray:
    """Apply a fitted preprocessing record to raw samples (training data or predict inputs;
    ``source`` names where samples that do not fit came from, default the spec's dataset)."""
    if t is None:
        t = TensorType(tuple(rec["shape"]), rec["dtype"])
    if cfg is not None:
        x = _shape(x, t, cfg, name, source)
    if t.dtype.startswith("int"):
        return x
    x = x.astype(np.float32, copy=True)
    for op, c in preprocess_steps(rec, t, x.ndim):
        if op == "mul":
            x *= c
        elif op == "sub":
            x -= c
        else:
            x /= c
    return x


# -- series ---------------------------------------------------------------------------------


def _seq_target(o: OutputTarget) -> bool:
    return o.loss is not None and o.target == "labels"


def windows(series: np.ndarray, size: int, horizon: int, stride: int,
            target: str) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows (no copy): inputs (M, size, ...) and targets: the value ``horizon``
    steps after each window (``next``) or the window shifted by ``horizon`` (``sequence``)."""
    from numpy.lib.stride_tricks import sliding_window_view

    count = (len(series) - size - horizon) // stride + 1
    if count <= 0:
        return series[:0], series[:0]
    view = sliding_window_view(series, size, axis=0)  # (T-size+1, ..., size)
    view = np.moveaxis(view, -1, 1)  # (T-size+1, size, ...)
    starts = slice(0, (count - 1) * stride + 1, stride)
    x = view[starts]
    if target == "sequence":
        y = view[horizon:][starts]
    else:
        y = series[size + horizon - 1:][starts]
    return x, y


def _series_parts(cfg: Any, raw: RawData, idx: dict[str, np.ndarray],
                  inputs: dict[str, TensorType], outputs: dict[str, OutputTarget],
                  input_keys: dict[str, str]) -> tuple[dict[str, Part], dict[str, Any], dict[str, Any]]:
    if len(inputs) != 1:
        raise data_error("series data feeds networks with one input", "dataset")
    (name, t), = inputs.items()
    series = raw.arrays["x"]
    w = cfg.window
    is_int = series.dtype.kind in "iub"
    scaler: dict[str, Any] = {"key": "x", "shape": list(t.shape), "dtype": t.dtype,
                              "view": cfg.view, "rescale": cfg.rescale, "scale": "none"}
    target_scale: dict[str, Any] = {}
    if not is_int:
        train = series[idx["train"]]
        flat_t = TensorType(tuple(series.shape[1:]))
        scaler = _fit_preprocess(cfg, raw, flat_t, train, "x")
        scaler["shape"], scaler["dtype"] = list(t.shape), t.dtype
        series = apply_preprocess(scaler, series, flat_t)
        # Targets cut from the same series share its scaling; record the inverse (per
        # feature: x = x_scaled * scale + shift) so metrics and predictions are in raw units.
        zero = apply_preprocess(scaler, np.zeros((1,) + series.shape[1:], np.float32), flat_t)
        one = apply_preprocess(scaler, np.ones((1,) + series.shape[1:], np.float32), flat_t)
        a, b = (one - zero).reshape(-1), zero.reshape(-1)
        if not (np.allclose(a, 1) and np.allclose(b, 0)):
            target_scale = {o: {"scale": (1 / a).astype(float).tolist(),
                                "shift": (-b / a).astype(float).tolist()} for o in outputs}
    parts: dict[str, Part] = {}
    for split, ix in idx.items():
        if cfg.view == "series":
            parts[split] = _next_value_part(series[ix], t, cfg, name, split)
            continue
        if w is None:
            x = series[ix][None]
            parts[split] = Part({name: _shape(x, t, cfg, name)}, {}, {}, np.arange(1))
            continue
        x, y = windows(series[ix], w.size, w.horizon, w.stride, w.target)
        if len(x) == 0:
            raise data_error(f"the {split} part of the series has {len(ix)} steps, too few "
                             f"for windows of {w.size} + horizon {w.horizon}", "window",
                             hint="use a smaller window or hold out more data")
        parts[split] = Part({name: _shape(x, t, cfg, name)}, {}, {"y": y}, ix[: len(x)])
    if not is_int:
        scaler["series"] = True
    return parts, {name: scaler}, target_scale


def _check_series_view(cfg: Any, raw: RawData) -> None:
    if raw.task != "series":
        raise data_error(f"view 'series' reads a series whole, but dataset '{cfg.dataset}' is "
                         f"a {raw.task} dataset", "view", received="series",
                         hint="view: auto reads samples")
    if cfg.window is not None:
        raise data_error("view 'series' reads each split as one sequence; window cuts it into "
                         "samples: give one of them", "window",
                         hint="remove window (or view: series)")


def _next_value_part(values: np.ndarray, t: TensorType, cfg: Any, name: str,
                     split: str) -> Part:
    """``view: series``: one split as one sequence (1, T - 1, ...) whose target at every step
    is the next value (teacher forcing: the true series is the input)."""
    if len(values) < 2:
        raise data_error(f"the {split} part of the series has {len(values)} steps; predicting "
                         "the next value needs at least 2", "split")
    x = _shape(values[:-1][None], t, cfg, name)
    return Part({name: x}, {}, {"y": values[1:][None]}, np.arange(1))


# -- targets --------------------------------------------------------------------------------


def _attach_targets(cfg: Any, prep: Prepared, inputs: dict[str, TensorType],
                    outputs: dict[str, OutputTarget]) -> None:
    raw = prep.raw
    for out, spec in outputs.items():
        if spec.target == "input":
            src = next(iter(inputs)) if len(inputs) == 1 else None
            if src is None:
                raise data_error(f"output '{out}' reconstructs 'input' but the network has "
                                 "several inputs", "target")
            want, have = spec.type.shape, inputs[src].shape
            if _reshape_to(tuple(d or 1 for d in have), want) is None:
                raise data_error(f"output '{out}' has shape {describe(want)} but its target, "
                                 f"input '{src}', has shape {describe(have)}", "target")
            prep.input_targets[out] = src
            continue
        key = "y" if spec.target == "labels" else spec.target
        if len(outputs) > 1 and spec.target == "labels" and out in prep.parts["train"].extras:
            key = out
        first = prep.parts["train"].extras
        if key not in first:
            if key == "y":
                raise data_error(f"dataset '{cfg.dataset}' has no labels to train output "
                                 f"'{out}' against", "dataset",
                                 hint="for reconstruction (autoencoders) set train.target: input")
            raise data_error(f"dataset '{cfg.dataset}' has no array '{key}'", "targets",
                             hint="arrays: " + ", ".join(first))
        for split, part in prep.parts.items():
            part.targets[out] = _check_target(part.extras[key], spec, out, cfg, raw, split)
        prep.target_keys[out] = key
        if spec.mask is not None:
            _attach_mask(cfg, prep, out, spec.mask)
        if _reads(spec) == "classes" or (_reads(spec) == "signs" and _n_classes(spec.type) > 1) \
                or _class_indices(spec, prep.parts["train"].targets[out].dtype):
            prep.classes[out] = _n_classes(spec.type)
    _fit_target_scale(cfg, prep, outputs)


def _attach_mask(cfg: Any, prep: Prepared, out: str, key: str) -> None:
    """Output ``out``'s loss mask: dataset array ``key``, shaped as the leading axes of the
    output's targets."""
    path = ("train", "losses", out, "mask")
    first = prep.parts["train"]
    if key not in first.extras:
        raise SpecError(f"dataset '{cfg.dataset}' has no array '{key}' to mask the loss of "
                        f"output '{out}'", path=path, received=key,
                        hint=did_you_mean(key, list(first.extras))
                        or "arrays: " + ", ".join(first.extras))
    have, want = first.extras[key].shape[1:], first.targets[out].shape[1:]
    if have != want[:len(have)]:
        raise SpecError(f"mask '{key}' of shape {describe(have)} does not cover the targets of "
                        f"output '{out}' of shape {describe(want)} (its leading axes)",
                        path=path, received=key)
    for part in prep.parts.values():
        part.targets[mask_key(out)] = part.extras[key].astype(np.float32)
    prep.target_keys[mask_key(out)] = key


def _n_classes(t: TensorType) -> int:
    return int(t.features or 1)


def _class_indices(spec: OutputTarget, dtype: np.dtype) -> bool:
    """Whether integer targets of ``dtype`` are class indices of a ``spec.type`` output."""
    many = _n_classes(spec.type) > 1
    return _reads(spec) == "classes" or (dtype.kind in "iub" and many and (
        _reads(spec) == "signs" or (spec.loss is None and spec.classes)))


def _reads(spec: OutputTarget) -> str | None:
    """What the output's loss reads as targets (the loss entry's ``targets``), or None."""
    return current().losses.get(spec.loss).targets if spec.loss else None


def _check_target(y: np.ndarray, spec: OutputTarget, out: str, cfg: Any, raw: RawData,
                  split: str) -> np.ndarray:
    t = spec.type
    want = t.shape
    classes = _n_classes(t)
    if _class_indices(spec, y.dtype):
        if y.dtype.kind in "iub":
            idx_shape = tuple(d for i, d in enumerate(want) if i != t.feature_axis % max(t.rank, 1))
            if not _matches(y.shape[1:], idx_shape):
                if _reshape_to(y.shape[1:], idx_shape) is None:
                    raise data_error(f"labels of shape {describe(y.shape[1:])} do not fit output "
                                     f"'{out}' of shape {describe(want)} (class indices of "
                                     f"shape {describe(idx_shape)} expected)", "dataset")
                y = y.reshape((len(y),) + _reshape_to(y.shape[1:], idx_shape))  # type: ignore[operator]
            lo, hi = (int(y.min()), int(y.max())) if y.size else (0, 0)
            if lo < 0 or hi >= classes:
                n_labels = len(raw.labels) if raw.labels else hi + 1
                raise data_error(f"labels range over {lo}..{hi} ({n_labels} classes) but output "
                                 f"'{out}' has {classes} units", "dataset", received=f"label {hi}"
                                 if hi >= classes else f"label {lo}",
                                 hint=f"make the last layer {max(n_labels, hi + 1)} units wide"
                                 if hi >= classes else "labels must be 0..classes-1")
            return y.astype(np.int64)
        if not _matches(y.shape[1:], want):
            raise data_error(f"targets of shape {describe(y.shape[1:])} do not fit output "
                             f"'{out}' of shape {describe(want)}", "dataset")
        return y.astype(np.float32)
    y = y.astype(np.float32)
    if _reads(spec) in ("binary", "signs") and y.ndim == 1:
        y = y[:, None]
    if not _matches(y.shape[1:], want):
        target = _reshape_to(y.shape[1:], want)
        if target is None:
            hint = None
            if raw.task == "classification" and classes > 1:
                hint = "class labels need loss: cross_entropy"
            raise data_error(f"targets of shape {describe(y.shape[1:])} do not fit output "
                             f"'{out}' of shape {describe(want)}", "dataset", hint=hint)
        y = y.reshape((len(y),) + target)
    if _reads(spec) == "binary" and y.size and (y.min() < 0 or y.max() > 1):
        raise data_error(f"{spec.loss} needs targets in [0, 1] for output '{out}'",
                         "dataset", received=f"{float(y.min())}..{float(y.max())}")
    return y


def _fit_target_scale(cfg: Any, prep: Prepared, outputs: dict[str, OutputTarget]) -> None:
    """``scale_target`` for non-series regression: fitted on the training split."""
    kind = cfg.scale_target
    if kind in (None, "none") or prep.task == "series":
        return
    train = prep.parts["train"]
    for out, y in train.targets.items():
        if out not in outputs or y.dtype.kind != "f" or out in prep.classes:
            continue  # masks and class indices are not scaled
        axes = tuple(a for a in range(y.ndim) if a != y.ndim - 1)
        if kind == "standard":
            shift, scale = y.mean(axis=axes), y.std(axis=axes)
        else:
            shift, scale = y.min(axis=axes), y.max(axis=axes) - y.min(axis=axes)
        scale = np.where(scale > 1e-12, scale, 1.0)
        prep.target_scale[out] = {"scale": scale.astype(float).tolist(),
                                  "shift": shift.astype(float).tolist()}
        for part in prep.parts.values():
            part.targets[out] = ((part.targets[out] - shift) / scale).astype(np.float32)
