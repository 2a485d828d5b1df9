"""Checks of the ``specc.*`` metadata of a model before the runtime uses it.

An ``.onnx`` file is user input: its metadata may be hand-edited, truncated or written by
another tool. Every entry the runtime reads (shapes and feature axes, labels, class count,
activation, preprocessing, target scaling) is checked here for type, range and agreement with
the graph's declared shapes; a bad one is a :class:`SpecError` naming the key and the value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import SpecError

MAX_LABELS = 1_000_000
MAX_LABEL_CHARS = 10_000
MAX_VALUES = 10_000_000  # numbers in one preprocessing or target-scaling entry
SCALES = ("none", "unit", "standard", "minmax")
ACTIVATIONS = ("softmax", "sigmoid")
JSON_KEYS = ("inputs", "outputs", "labels", "target_scale", "preprocess")

Shapes = Mapping[str, Sequence[int | None]]


class _Bad(Exception):
    """A malformed entry: (message, the offending value)."""

    def __init__(self, message: str, value: Any) -> None:
        super().__init__(message)
        self.message, self.value = message, value


def check_props(info: Any, inputs: Shapes, outputs: Shapes) -> None:
    """Raise a SpecError for the first malformed ``specc.*`` entry of ``info`` (ModelInfo)."""
    for key in JSON_KEYS:
        raw = info.get(key)
        if raw is None:
            continue
        try:
            json.loads(raw)
        except (ValueError, RecursionError):
            _fail(key, "is not valid JSON", raw)
    checks = (("inputs", lambda v: _described(v, inputs)),
              ("outputs", lambda v: _described(v, outputs)),
              ("labels", lambda v: _labels(v, _classes_of(outputs, info.outputs))),
              ("classes", _classes),
              ("activation", _activation),
              ("preprocess_in_graph", _flag),
              ("preprocess", lambda v: _preprocess(v, inputs, info.inputs)),
              ("target_scale", lambda v: _target_scale(v, outputs, info.outputs)))
    for key, check in checks:
        raw = info.get(key)
        if raw is None:
            continue
        value = json.loads(raw) if key in JSON_KEYS else raw
        try:
            check(value)
        except _Bad as bad:
            _fail(key, bad.message, bad.value)
        except RecursionError:
            _fail(key, "is nested too deeply", raw)


def _fail(key: str, message: str, value: Any) -> None:
    raise SpecError(f"model metadata 'specc.{key}' {message}", received=_short(value),
                    hint="the file's specc metadata was edited or damaged; re-export it with "
                         "'specc export'")


def _short(value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# -- entries ---------------------------------------------------------------------------------


def _described(value: Any, declared: Shapes) -> None:
    """``{name: {"shape": [null, ...], "dtype": str, "feature_axis": int}}``."""
    entries = _mapping(value, "must map names to shape descriptions")
    for name, desc in entries.items():
        desc = _mapping(desc, f"entry '{name}' must be a mapping")
        shape = desc.get("shape")
        if not isinstance(shape, list) or len(shape) > 64 or not all(
                d is None or _is_int(d) and d >= 0 for d in shape):
            raise _Bad(f"entry '{name}' has an invalid shape", shape)
        if not isinstance(desc.get("dtype", ""), str):
            raise _Bad(f"entry '{name}' has an invalid dtype", desc.get("dtype"))
        rank = len(declared[name]) - 1 if name in declared else len(shape) - 1
        axis = desc.get("feature_axis", -1)
        if not _is_int(axis) or not (-max(rank, 1) <= axis < max(rank, 1)):
            raise _Bad(f"entry '{name}' has feature_axis {axis!r} outside the model's "
                       f"{max(rank, 0)} per-sample axes", axis)


def _labels(value: Any, classes: int | None) -> None:
    if not isinstance(value, list) or not value:
        raise _Bad("must be a non-empty list of class labels", value)
    if len(value) > MAX_LABELS:
        raise _Bad(f"has more than {MAX_LABELS} labels", f"{len(value)} labels")
    for label in value:
        if isinstance(label, (dict, list)) or label is None or \
                len(str(label)) > MAX_LABEL_CHARS:
            raise _Bad("must hold only short text or number labels", label)
    if classes is not None and len(value) != classes and not (classes == 1 and len(value) == 2):
        raise _Bad(f"has {len(value)} labels but the model's first output has {classes} "
                   "classes", f"{len(value)} labels")


def _classes_of(outputs: Shapes, described: Any) -> int | None:
    """The size of the first output's feature axis, when fixed."""
    if not outputs:
        return None
    name, shape = next(iter(outputs.items()))
    return _features(shape, described, name)


def _classes(value: str) -> None:
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise _Bad("must be a positive class count", value)


def _activation(value: str) -> None:
    if value not in ACTIVATIONS:
        raise _Bad("must be " + " or ".join(ACTIVATIONS), value)


def _flag(value: str) -> None:
    if value not in ("true", "false"):
        raise _Bad("must be true or false", value)


def _preprocess(value: Any, declared: Shapes, described: Any) -> None:
    """``{input: record}`` as written by :func:`specc.data.prepare._fit_preprocess`."""
    for name, rec in _mapping(value, "must map input names to records").items():
        if name not in declared:
            raise _Bad(f"names input '{name}', which the model does not have", name)
        rec = _mapping(rec, f"entry '{name}' must be a mapping")
        scale = rec.get("scale", "none")
        if scale not in SCALES:
            raise _Bad(f"entry '{name}' has an unknown scale (use {', '.join(SCALES)})", scale)
        shape = rec.get("shape")
        if shape is not None and (not isinstance(shape, list) or not all(
                d is None or _is_int(d) and d >= 0 for d in shape)):
            raise _Bad(f"entry '{name}' has an invalid shape", shape)
        if shape is not None and len(shape) != len(declared[name]) - 1:
            raise _Bad(f"entry '{name}' has a shape of {len(shape)} axes but the input has "
                       f"{len(declared[name]) - 1} per sample", shape)
        if not isinstance(rec.get("dtype", "float32"), str):
            raise _Bad(f"entry '{name}' has an invalid dtype", rec.get("dtype"))
        features = _features(declared[name], described, name)
        if rec.get("rescale") is not None:
            _numbers(rec["rescale"], f"entry '{name}': rescale", 1)
        if scale == "unit":
            _numbers(rec.get("max"), f"entry '{name}': max", 1, nonzero=True)
        elif scale in ("standard", "minmax"):
            n = _numbers(rec.get("shift"), f"entry '{name}': shift", features)
            m = _numbers(rec.get("div"), f"entry '{name}': div", features, nonzero=True)
            if n != m:
                raise _Bad(f"entry '{name}' has {n} shift values but {m} div values",
                           rec.get("div"))
        if rec.get("normalize") is not None:
            norm = _mapping(rec["normalize"], f"entry '{name}': normalize must be a mapping")
            _numbers(norm.get("mean"), f"entry '{name}': normalize.mean", features)
            _numbers(norm.get("std"), f"entry '{name}': normalize.std", features, nonzero=True)


def _target_scale(value: Any, declared: Shapes, described: Any) -> None:
    """``{output: {"scale": [...], "shift": [...]}}``."""
    for name, rec in _mapping(value, "must map output names to scalings").items():
        if name not in declared:
            raise _Bad(f"names output '{name}', which the model does not have", name)
        rec = _mapping(rec, f"entry '{name}' must be a mapping")
        shape = declared[name]
        last = shape[-1] if len(shape) > 1 and _is_int(shape[-1]) else None
        n = _numbers(rec.get("scale"), f"entry '{name}': scale", last)
        m = _numbers(rec.get("shift"), f"entry '{name}': shift", last)
        if n != m:
            raise _Bad(f"entry '{name}' has {n} scale values but {m} shift values",
                       rec.get("shift"))


# -- helpers -----------------------------------------------------------------------------------


def _mapping(value: Any, message: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(message, value)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _features(shape: Sequence[int | None], described: Any, name: str) -> int | None:
    """The declared size of an input's feature axis (None when dynamic or unknown)."""
    tail = list(shape[1:])
    if not tail:
        return None
    axis = -1
    if isinstance(described, dict) and isinstance(described.get(name), dict):
        axis = described[name].get("feature_axis", -1)
    if not _is_int(axis) or not -len(tail) <= axis < len(tail):
        return None
    size = tail[axis]
    return size if _is_int(size) else None


def _numbers(value: Any, what: str, features: int | None, *, nonzero: bool = False) -> int:
    """How many finite numbers ``value`` (a number or a list) holds; one, or one per feature."""
    if value is None:
        raise _Bad(f"{what} is missing", value)
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_VALUES:
        raise _Bad(f"{what} must be a number or a list of numbers", value)
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise _Bad(f"{what} must hold finite numbers", v)
        if nonzero and v == 0:
            raise _Bad(f"{what} must not be 0 (inputs are divided by it)", v)
    if len(items) > 1 and features is not None and len(items) != features:
        raise _Bad(f"{what} has {len(items)} values but the feature axis has {features}",
                   f"{len(items)} values")
    return len(items)
