"""``InferenceSession``: onnxruntime with provider selection that reports what really ran,
input validation with clear errors, batching of large inputs and class-label prediction.

``onnxruntime-gpu`` lists ``CUDAExecutionProvider`` even where no GPU or CUDA libraries exist
and silently falls back to CPU (logging an error line). The session therefore asks
onnxruntime which providers it actually attached after creation, and keeps the reason CUDA
could not start for ``provider="cuda"`` errors and ``auto`` fallback notes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ...errors import Shown, SpecError, did_you_mean
from .metadata import ModelInfo
from .native import captured_fds
from .parity import MAX_INPUT_ENV, max_input_elements

PROVIDERS = ("auto", "cpu", "cuda")
CUDA_EP, CPU_EP = "CUDAExecutionProvider", "CPUExecutionProvider"
CHUNK_BYTES = 32 * 2**20  # auto batching: inputs of about this size per run
MAX_CHUNK = 8192
_ORT_DTYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int16)": np.int16,
    "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_,
}
_cuda_failure: str | None = None  # why CUDA could not start in this process, once known


@dataclass(frozen=True)
class InputSpec:
    """A model input as onnxruntime declares it; ``shape`` holds None for dynamic axes."""

    name: str
    shape: tuple[int | None, ...]
    dtype: np.dtype

    @property
    def fixed_tail(self) -> tuple[int, ...] | None:
        """The per-sample shape when it is fully fixed (fast-path check), else None."""
        tail = self.shape[1:]
        return None if any(d is None for d in tail) else tail  # type: ignore[return-value]

    def describe(self) -> str:
        dims = ", ".join("batch" if i == 0 and d is None else ("?" if d is None else str(d))
                         for i, d in enumerate(self.shape))
        return f"({dims}) {self.dtype.name}"


class InferenceSession:
    """An ONNX model ready to run.

    Args:
        path: the ``.onnx`` file.
        provider: ``auto`` (CUDA when it really works, else CPU), ``cpu`` or ``cuda`` (an error
            when CUDA cannot run).
        save_optimized: write the model after onnxruntime's graph optimisation to this path.
        batch_size: run inputs in chunks of this many samples (default: chunks of ~32 MiB of
            input for specc models, no chunking for others).
        threads: onnxruntime's intra-op threads (default: one per core).

    ``run(x)`` takes an array (single-input models) or a dict of arrays and returns the output
    array, or a dict of arrays for several outputs. ``predict(x)`` returns class labels for
    classifiers. ``provider`` says which provider ran (``cuda`` or ``cpu``) and
    ``provider_note`` why CUDA was not used under ``auto``.
    """

    def __init__(self, path: str | Path, provider: str = "auto", *,
                 save_optimized: str | Path | None = None, batch_size: int | None = None,
                 threads: int | None = None) -> None:
        self.path = Path(path)
        self.provider_note: str | None = None
        self.batch_size = _check_batch_size(batch_size)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if save_optimized is not None:
            opts.optimized_model_filepath = str(save_optimized)
        if threads:
            opts.intra_op_num_threads = threads
        _check_file(self.path)
        self._session = self._create(opts, _resolve_provider(provider))
        self.providers: list[str] = self._session.get_providers()
        self.provider = "cuda" if self.providers and self.providers[0] == CUDA_EP else "cpu"
        self.info = ModelInfo(dict(self._session.get_modelmeta().custom_metadata_map))
        self.inputs = [InputSpec(i.name, _dims(i.shape), _np_dtype(i.type, i.name))
                       for i in self._session.get_inputs()]
        try:
            for spec in self.inputs:
                _check_size(spec)
            self.info.check({i.name: i.shape for i in self.inputs},
                            {o.name: _dims(o.shape) for o in self._session.get_outputs()})
        except SpecError as err:
            raise err.located(None, str(self.path)) from None
        self.input_names = [i.name for i in self.inputs]
        self.output_names = [o.name for o in self._session.get_outputs()]
        # (output names, feeds, run options) -> outputs. On CPU this is onnxruntime's C++
        # session itself: the Python wrapper around it only re-checks the input names (which
        # validate() and the fast path guarantee) and retries failed GPU runs on CPU (nothing to
        # retry here), at ~1 us a call, a tenth of a small model's whole run.
        core = getattr(self._session, "_sess", None)
        self._run = core.run if self.provider == "cpu" and hasattr(core, "run") else \
            self._session.run
        self._one_out = len(self.output_names) == 1
        if len(self.inputs) == 1:
            self.run = self._fast_run(self.inputs[0])  # type: ignore[method-assign]

    # -- creation ---------------------------------------------------------------------------
    def _create(self, opts: ort.SessionOptions, wanted: str) -> ort.InferenceSession:
        global _cuda_failure
        path = str(self.path)
        if wanted == "cpu" or (wanted == "auto" and _cuda_failure is not None):
            if wanted == "auto":
                self.provider_note = f"CUDA unavailable: {_cuda_failure}"
            return _load(path, opts, [CPU_EP])
        if CUDA_EP not in ort.get_available_providers():
            _cuda_failure = ("this onnxruntime build has no CUDA provider "
                             "(install onnxruntime-gpu)")
            if wanted == "cuda":
                raise SpecError("provider 'cuda' was requested but " + _cuda_failure,
                                hint="use --provider cpu or auto")
            self.provider_note = f"CUDA unavailable: {_cuda_failure}"
            return _load(path, opts, [CPU_EP])
        with captured_fds(2) as log:
            session = _load(path, opts, [CUDA_EP, CPU_EP])
        if CUDA_EP in session.get_providers():
            return session
        _cuda_failure = _cuda_reason(log())
        if wanted == "cuda":
            raise SpecError(f"provider 'cuda' was requested but CUDA does not work here: "
                            f"{_cuda_failure}",
                            hint="use --provider cpu (or auto, which falls back to CPU); CUDA "
                                 "needs an NVIDIA GPU with the CUDA and cuDNN libraries "
                                 "onnxruntime-gpu was built for")
        self.provider_note = f"CUDA unavailable: {_cuda_failure}"
        return session

    def _chunk(self, feeds: Mapping[str, np.ndarray], n: int, batch_size: int | None,
               sample_bytes: int | None = None) -> int:
        """Samples per run: the asked batch size, else ~CHUNK_BYTES of input (specc models).
        ``sample_bytes``: the bytes of one sample when known without ``feeds``."""
        if batch_size is not None or self.batch_size is not None:
            return batch_size or self.batch_size  # type: ignore[return-value]
        if not self.info.is_specc:
            return 2**62  # a foreign model's outputs may lack a batch axis: never split
        total = sample_bytes * n if sample_bytes is not None else \
            sum(v.nbytes for v in feeds.values())
        per_sample = max(total // max(n, 1), 1)
        return int(min(max(CHUNK_BYTES // per_sample, 1), MAX_CHUNK))

    # -- running ----------------------------------------------------------------------------
    def run(self, inputs: Any, *, batch_size: int | None = None) -> Any:
        """Run the model; see the class docstring for argument and result forms."""
        try:
            feeds = self.validate(inputs)
        except SpecError as err:
            raise err.located(None, str(self.path)) from None
        n = len(next(iter(feeds.values())))
        chunk = self._chunk(feeds, n, _check_batch_size(batch_size))
        if n <= chunk:
            outs = self._call(feeds)
        else:
            parts = [self._call({k: v[i:i + chunk] for k, v in feeds.items()})
                     for i in range(0, n, chunk)]
            outs = [np.concatenate(p, axis=0) for p in zip(*parts, strict=True)]
        return outs[0] if self._one_out else dict(zip(self.output_names, outs, strict=True))

    def _fast_run(self, spec: InputSpec) -> Any:
        """``run`` specialised for a single-input model, installed on the instance: an array
        that already has the declared dtype and per-sample shape (and fits one chunk) goes
        straight to onnxruntime, uncopied; anything else takes the checked :meth:`run`. A
        closure over locals keeps the added cost per call near 0.3 us."""
        checked = InferenceSession.run.__get__(self)
        session_run, names, name, one_out = self._run, self.output_names, spec.name, self._one_out
        dtype, tail, rank = spec.dtype, spec.fixed_tail, len(spec.shape)
        fixed = [(i, d) for i, d in enumerate(spec.shape) if i and d is not None]
        limit = self._chunk({"": np.empty((0,), dtype)}, 1, None, _numel(tail) * dtype.itemsize) \
            if tail is not None else 0
        ndarray, error = np.ndarray, self._run_error

        def fits_dynamic(x: np.ndarray, shape: tuple[int, ...]) -> bool:
            if len(shape) != rank or not shape[0] or any(shape[i] != d for i, d in fixed):
                return False
            return self._chunk({"": x}, shape[0], None) >= shape[0]

        def run(inputs: Any, *, batch_size: int | None = None) -> Any:
            if type(inputs) is ndarray and inputs.dtype is dtype and batch_size is None:
                shape = inputs.shape
                if (0 < shape[0] <= limit and shape[1:] == tail) if tail is not None \
                        else fits_dynamic(inputs, shape):
                    try:
                        out = session_run(names, {name: inputs}, None)
                    except Exception as exc:  # e.g. a token id beyond the embedding table
                        raise error(exc) from None
                    return out[0] if one_out else dict(zip(names, out, strict=True))
            return checked(inputs, batch_size=batch_size)

        run.__doc__ = InferenceSession.run.__doc__
        return run

    def _call(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        try:
            return self._run(self.output_names, feeds, None)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise self._run_error(exc) from None

    def _run_error(self, exc: BaseException) -> SpecError:
        return SpecError(f"onnxruntime could not run the model: {_ort_message(exc)}",
                         file=str(self.path))

    def validate(self, inputs: Any) -> dict[str, np.ndarray]:
        """Check inputs against the declared shapes and dtypes; returns the arrays to feed
        (cast where the cast is lossless in kind, e.g. float64 -> float32)."""
        if isinstance(inputs, Mapping):
            feeds = dict(inputs)
            missing = [n for n in self.input_names if n not in feeds]
            unknown = [k for k in feeds if k not in self.input_names]
            if unknown:
                raise SpecError(f"the model has no input '{unknown[0]}'", received=unknown[0],
                                hint=did_you_mean(str(unknown[0]), self.input_names)
                                or f"inputs: {', '.join(self.input_names)}")
            if missing:
                raise SpecError(f"input '{missing[0]}' is missing",
                                hint=f"the model takes {', '.join(self.input_names)}")
        elif len(self.inputs) == 1:
            feeds = {self.input_names[0]: inputs}
        else:
            raise SpecError(f"the model takes {len(self.inputs)} inputs "
                            f"({', '.join(self.input_names)}); pass a dict name -> array",
                            received=Shown(type(inputs).__name__))
        out = {spec.name: _check_array(spec, feeds[spec.name]) for spec in self.inputs}
        sizes = {len(v) for v in out.values()}
        if len(sizes) > 1:
            raise SpecError("inputs disagree on the batch size",
                            received={k: len(v) for k, v in out.items()})
        return out

    def predict(self, inputs: Any, *, batch_size: int | None = None) -> np.ndarray:
        """Class labels (or class indices when the model has no labels) for classifiers; for
        other models the first output, in the units of the training targets."""
        out = self.run(inputs, batch_size=batch_size)
        if isinstance(out, dict):
            out = out[self.output_names[0]]
        if not self.is_classifier:
            return self.target_units(out)
        idx = self.classes(out)
        labels = self.labels
        if labels is None:
            return idx
        if int(idx.max(initial=0)) >= len(labels):
            raise SpecError(f"the model has {len(labels)} labels but predicts class "
                            f"{int(idx.max())}", hint="were the labels written for this model?")
        return np.asarray(labels, dtype=object)[idx]

    def target_units(self, out: np.ndarray, output: str | None = None) -> np.ndarray:
        """An output in the units of its training targets (undoing the run's target scaling;
        unchanged when none was recorded)."""
        scale = (self.info.target_scale or {}).get(output or self.output_names[0])
        if not scale or self.info.preprocess_in_graph:  # the graph already gives target units
            return out
        return out * np.asarray(scale["scale"], out.dtype) + np.asarray(scale["shift"], out.dtype)

    def classes(self, out: np.ndarray) -> np.ndarray:
        """Class indices from the first output's probabilities (or logits)."""
        if out.shape[-1] == 1 and self.info.activation == "sigmoid":
            return (out[..., 0] >= 0.5).astype(np.int64)
        desc = self.info.outputs.get(self.output_names[0], {})
        axis = int(desc.get("feature_axis", -1))
        return out.argmax(axis=axis + 1 if axis >= 0 else out.ndim + axis)

    @property
    def labels(self) -> list[str] | None:
        return self.info.labels

    @property
    def is_classifier(self) -> bool:
        return self.labels is not None or self.info.get("classes") is not None or \
            self.info.activation == "softmax"

    def __repr__(self) -> str:
        return f"InferenceSession('{self.path}', provider='{self.provider}')"


# -- helpers -----------------------------------------------------------------------------------


def _resolve_provider(provider: str) -> str:
    name = str(provider).lower()
    if name not in PROVIDERS:
        raise SpecError("unknown provider", received=provider,
                        hint=did_you_mean(name, PROVIDERS) or "use auto, cpu or cuda")
    return name


def _check_batch_size(batch_size: int | None) -> int | None:
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise SpecError("batch size must be a positive integer", received=batch_size)
    return batch_size


def _check_file(path: Path) -> None:
    """A regular file within the size limit: a FIFO, a device or a directory is refused before
    onnxruntime opens it (it would block or read without end)."""
    from ...fileio import check_regular

    try:
        check_regular(path, "model file")
    except SpecError as err:
        if err.issues[0].message.endswith("does not exist"):
            raise SpecError("model file does not exist", file=str(path),
                            hint="write one with 'specc export SPEC_OR_RUN -o model.onnx'") \
                from None
        raise


def _numel(dims: Any) -> int:
    return math.prod(int(d) for d in dims if d is not None)


def _check_size(spec: InputSpec) -> None:
    """Refuse an input whose declared per-sample size is beyond the limit, before anything of
    that size is allocated (a model declaring (batch, 100000, 100000, 100000))."""
    limit = max_input_elements()
    numel = _numel(spec.shape[1:])
    if numel > limit:
        raise SpecError(f"input '{spec.name}' declares {numel:,} values per sample "
                        f"({spec.describe()}), more than the limit of {limit:,}",
                        received=Shown(spec.describe()),
                        hint=f"set {MAX_INPUT_ENV} to raise the limit")


def _load(path: str, opts: ort.SessionOptions, providers: list[str]) -> ort.InferenceSession:
    source: str | bytes = path
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # a non-UTF-8 file name: onnxruntime only opens UTF-8 paths
        with open(path, "rb") as fh:
            source = fh.read()
    try:
        return ort.InferenceSession(source, opts, providers=providers)
    except Exception as exc:
        raise SpecError(f"not a loadable ONNX model: {_ort_message(exc)}", file=path,
                        hint="is the file complete? re-export it with 'specc export'") from None


def _dims(shape: list[Any]) -> tuple[int | None, ...]:
    return tuple(d if isinstance(d, int) and d >= 0 else None for d in shape)


def _np_dtype(ort_type: str, name: str) -> np.dtype:
    if ort_type not in _ORT_DTYPES:
        raise SpecError(f"input '{name}' has type {ort_type}, which specc cannot feed")
    return np.dtype(_ORT_DTYPES[ort_type])


def _check_array(spec: InputSpec, value: Any) -> np.ndarray:
    arr = value if isinstance(value, np.ndarray) else _as_array(spec, value)
    if arr.dtype != spec.dtype:
        if arr.dtype.kind in "OUSV" or not np.can_cast(arr.dtype, spec.dtype, "same_kind"):
            hint = ("token ids must be integers" if spec.dtype.kind in "iu"
                    else f"convert it with .astype('{spec.dtype.name}')")
            raise SpecError(f"input '{spec.name}' must be {spec.dtype.name}",
                            received=Shown(f"dtype {arr.dtype}"), hint=hint)
        arr = arr.astype(spec.dtype)
    want = spec.shape
    if arr.ndim != len(want) or any(w is not None and w != g for w, g in zip(want, arr.shape,
                                                                              strict=False)):
        hint = None
        if arr.ndim == len(want) - 1:
            hint = "add a batch axis first, e.g. x[None] for one sample"
        raise SpecError(f"input '{spec.name}' must have shape {spec.describe()}",
                        received=Shown(f"shape {tuple(arr.shape)} {arr.dtype}"), hint=hint)
    if arr.shape and arr.shape[0] == 0:
        raise SpecError(f"input '{spec.name}' is empty",
                        received=Shown(f"shape {tuple(arr.shape)}"))
    return arr


def _as_array(spec: InputSpec, value: Any) -> np.ndarray:
    try:
        return np.asarray(value)
    except Exception:
        raise SpecError(f"input '{spec.name}' is not an array",
                        received=Shown(type(value).__name__)) from None


def _ort_message(exc: BaseException) -> str:
    """onnxruntime's message without its status prefix, file path and C++ source location."""
    text = str(exc).strip()
    text = re.sub(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*", "", text)
    text = re.sub(r"^Load model from .*? failed:\s*", "", text)
    text = re.sub(r"^/onnxruntime_src/\S+:\d+\s+[^(]*\(.*?\)\s+", "", text)
    return " ".join(text.split())[:300] or type(exc).__name__


def _cuda_reason(log: str) -> str:
    m = re.search(r"with error: ([^\n\x1b]+)", log)
    if m:
        return m.group(1).strip()
    m = re.search(r"(Failed to create CUDAExecutionProvider[^\n\x1b]*?\.)", log)
    if m:
        return m.group(1).strip()
    return "onnxruntime could not start its CUDA provider (no usable GPU or CUDA libraries)"
