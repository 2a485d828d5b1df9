"""Reading model inputs from files for ``specc run``: ``.npy``, ``.npz`` (one array per input),
CSV rows (one sample per row) and image files.

Arrays (``.npy``, ``.npz``, CSV) are fed as they are, unless asked to apply the preprocessing
fitted at training time (``specc.preprocess`` in the model's metadata); a note says when their
values look unscaled. Image files hold raw pixels, so they get the recorded preprocessing, or
are scaled to [0, 1] when there is none. Samples are fitted to the model's per-sample shape when
that only adds a batch axis or regroups values in order (a CSV row of 64 values for a (1, 8, 8)
input).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Shown, SpecError
from .runtime import InferenceSession, InputSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
TABLE_SUFFIXES = (".csv", ".txt", ".tsv")


def read_inputs(path: str | Path, session: InferenceSession, *,
                preprocess: bool | None = None) -> tuple[dict[str, np.ndarray], list[str]]:
    """The feeds for ``session`` from a file, and notes on what was done to them.
    ``preprocess``: apply the recorded training preprocessing (default: to images only)."""
    try:
        return _read(Path(path), session, preprocess)
    except SpecError as err:
        raise err.located(None, str(path)) from None


def _read(p: Path, session: InferenceSession,
          preprocess: bool | None) -> tuple[dict[str, np.ndarray], list[str]]:
    from ...data.files import DtypeError, read_npy, read_table, regular_file

    if not p.exists():
        raise SpecError("input file does not exist")
    regular_file(p, what="input file")
    suffix = p.suffix.lower()
    notes: list[str] = []
    if suffix in (".npz", ".npy"):
        try:
            raw = _npz(p, session) if suffix == ".npz" else {_only(session, p).name: read_npy(p)}
        except DtypeError as err:
            want = ", ".join(sorted({s.dtype.name for s in session.inputs}))
            raise SpecError(f"the model's inputs must be {want}: {err.issues[0].message}",
                            hint=err.issues[0].hint) from None
    elif suffix in TABLE_SUFFIXES:
        spec = _only(session, p)
        arr = read_table(p, "\t" if suffix == ".tsv" else ",")
        if spec.dtype.kind in "iu" and np.all(arr == np.round(arr)):
            arr = arr.astype(spec.dtype)  # text has no dtype: integral values are token ids
        raw = {spec.name: arr}
    elif suffix in IMAGE_SUFFIXES:
        spec = _only(session, p)
        raw = {spec.name: _image(p, spec, notes)}
    else:
        raise SpecError("unsupported input file type", received=p.suffix or p.name,
                        hint="use .npy, .npz, .csv or an image file (.png, .jpg, ...)")
    specs = {s.name: s for s in session.inputs}
    feeds = {name: fit_shape(_numeric(arr, specs[name]), specs[name]) for name, arr in raw.items()}
    for name, arr in feeds.items():
        if len(arr) == 0:
            raise SpecError(f"the data for input '{name}' holds no samples",
                            received=Shown(f"shape {tuple(arr.shape)}"))
    image = suffix in IMAGE_SUFFIXES
    apply = image if preprocess is None else preprocess
    if session.info.preprocess_in_graph:  # the model preprocesses raw inputs itself
        if preprocess:
            notes.append("the model applies its training preprocessing itself; inputs are fed "
                         "raw")
        return feeds, notes
    records = {k: v for k, v in _records(session).items()
               if k in feeds and specs[k].dtype.kind == "f" and feeds[k].dtype.kind in "fiub"}
    for name, rec in records.items():
        if apply:
            axis = session.info.inputs.get(name, {}).get("feature_axis", -1)
            feeds[name] = _apply(rec, feeds[name], specs[name], axis)
            notes.append(f"applied the training preprocessing to '{name}' ({_describe(rec)})")
        elif _looks_raw(rec, feeds[name]):
            notes.append(f"'{name}' looks unscaled (max {float(np.max(feeds[name])):g}); the "
                         f"model was trained on inputs after: {_describe(rec)}; add --preprocess "
                         "to apply it")
    if apply and image and not records:
        name = next(iter(feeds))
        feeds[name] = feeds[name] / np.float32(255)
        notes.append("scaled pixels to [0, 1] (the model records no preprocessing)")
    return feeds, notes


def _looks_raw(rec: dict[str, Any], x: np.ndarray) -> bool:
    """Whether values are far outside what the recorded unit scaling produces."""
    return rec.get("scale") == "unit" and x.size > 0 and \
        float(np.max(np.abs(x))) > 1.5 and float(rec.get("max", 1)) > 1.5


def fit_shape(arr: np.ndarray, spec: InputSpec) -> np.ndarray:
    """``arr`` as a batch for ``spec``: unchanged, with a batch axis added, or regrouped."""
    want = spec.shape[1:]
    if _fits(arr.shape[1:], want) and arr.ndim == len(want) + 1:
        return arr
    if _fits(arr.shape, want):
        return arr[None]
    if all(d is not None for d in want):
        numel = int(np.prod(want, dtype=np.int64)) if want else 1
        if arr.size == numel:
            return arr.reshape((1, *want))
        if arr.ndim >= 2 and int(np.prod(arr.shape[1:], dtype=np.int64)) == numel:
            return arr.reshape((arr.shape[0], *want))
    raise SpecError(f"the data does not fit input '{spec.name}' of shape "
                    f"{spec.describe()}", received=Shown(f"shape {tuple(arr.shape)}"),
                    hint="one sample per row (CSV) or an array of shape (samples, ...)")


def _fits(shape: tuple[int, ...], want: tuple[int | None, ...]) -> bool:
    return len(shape) == len(want) and all(w is None or w == s
                                           for s, w in zip(shape, want, strict=True))


def _only(session: InferenceSession, path: Path) -> InputSpec:
    if len(session.inputs) != 1:
        names = ", ".join(session.input_names)
        raise SpecError(f"the model takes {len(session.inputs)} inputs ({names}); "
                        f"'{path.name}' holds one array", hint="give an .npz with one array "
                        "per input name")
    return session.inputs[0]


def _numeric(arr: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Refuse arrays that are not plain numbers or would change value when cast to the
    input's dtype (complex, strings, 0-d; integers beyond float32's exact range)."""
    from ...data.files import as_float32, check_dtype

    what = f"the data for input '{spec.name}'"
    try:
        check_dtype(arr.dtype, "the data")
    except SpecError as err:
        issue = err.issues[0]
        raise SpecError(f"input '{spec.name}' must be {spec.dtype.name}: {issue.message}",
                        received=Shown(f"dtype {arr.dtype}"), hint=issue.hint) from None
    if arr.ndim == 0:
        raise SpecError(f"{what} is a single number (0-d array), not samples",
                        hint="save an array of shape (samples, ...)")
    if spec.dtype.kind == "f" and arr.dtype.kind in "iub":
        return as_float32(arr, what).astype(spec.dtype, copy=False)
    if spec.dtype.kind in "iu" and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise SpecError(f"input '{spec.name}' takes integer ids ({spec.dtype.name}) but "
                            "the data holds fractional values", received=Shown(f"dtype {arr.dtype}"))
    return arr


def _npz(path: Path, session: InferenceSession) -> dict[str, np.ndarray]:
    from ...data.files import read_npz

    arrays = read_npz(path)
    if len(session.inputs) == 1 and len(arrays) == 1:
        return {session.input_names[0]: next(iter(arrays.values()))}
    missing = [n for n in session.input_names if n not in arrays]
    if missing:
        raise SpecError(f"'{path.name}' has no array for input '{missing[0]}'",
                        received=", ".join(arrays) or "no arrays",
                        hint="name the arrays after the inputs: " + ", ".join(session.input_names))
    return {n: arrays[n] for n in session.input_names}


def _image(path: Path, spec: InputSpec, notes: list[str]) -> np.ndarray:
    from PIL import Image

    from ...data.files import open_image

    want = spec.shape[1:]
    if len(want) != 3 or want[0] not in (1, 3, 4):
        raise SpecError(f"input '{spec.name}' of shape {spec.describe()} does not take images",
                        hint="images need an input of shape (channels, height, width)")
    img = open_image(path)
    img = img.convert({1: "L", 3: "RGB", 4: "RGBA"}[want[0]])
    h, w = want[1], want[2]
    if h is not None and w is not None and img.size != (w, h):
        notes.append(f"resized the image from {img.size[0]}x{img.size[1]} to {w}x{h}")
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _records(session: InferenceSession) -> dict[str, dict[str, Any]]:
    raw = session.info.get("preprocess")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _apply(rec: dict[str, Any], x: np.ndarray, spec: InputSpec, axis: int = -1) -> np.ndarray:
    """The recorded preprocessing, per-feature values along the input's feature ``axis``."""
    from ...data.prepare import apply_preprocess
    from ...types import TensorType

    t = TensorType(tuple(spec.shape[1:]), rec.get("dtype", "float32"), axis)
    return apply_preprocess(rec, x, t)


def _describe(rec: dict[str, Any]) -> str:
    parts = []
    if rec.get("rescale"):
        parts.append(f"rescale {rec['rescale']:g}")
    if rec.get("scale") == "unit":
        parts.append(f"divide by {rec.get('max', 1):g}")
    elif rec.get("scale") in ("standard", "minmax"):
        parts.append(f"{rec['scale']} scaling")
    if rec.get("normalize"):
        parts.append("normalize")
    return ", ".join(parts) or "none"
