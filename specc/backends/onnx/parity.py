"""Parity of an exported model with its PyTorch module: onnxruntime (CPU) vs torch eval.

Random inputs (token ids within the embedding range) at batch sizes 1, 7 and 64 and, for inputs
with dynamic axes, sequence lengths 1, 5 and 50. A module that applies the training preprocessing
itself (``raw_inputs``) gets raw inputs that preprocess to those random values. The largest absolute difference per output must
stay within the tolerance (1e-4 for float32). When the PyTorch reference of a batch would take
long (a ResNet-50 at 224x224 and batch 64 takes ~12 s on two cores), onnxruntime still runs the
whole batch but PyTorch recomputes only the rows its time budget allows (at least the first and
the last, spread evenly); the table shows how many rows were compared.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import SpecError
from ...types import TensorType

BATCHES = (1, 7, 64)
SEQ_LENS = (1, 5, 50)
TOLERANCE = 1e-4
CASE_BUDGET_S = 1.0  # PyTorch time allowed per case before its reference is sampled
MIN_ROWS = 2  # a sampled reference still covers the first and last rows
MAX_INPUT_ENV = "SPECC_MAX_ACTIVATION"  # bounds the values of one sample of one input
_NP_DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
              "int64": np.int64, "int32": np.int32, "bool": np.bool_}


@dataclass
class ParityCase:
    """One (batch, sequence length) case for one output."""

    batch: int
    seq: int | None
    output: str
    rows: int
    max_abs_diff: float | None
    ok: bool
    note: str | None = None
    max_abs_ref: float | None = None  # the scale of the output, to judge the difference by


@dataclass
class ParityReport:
    """All cases of one parity check."""

    cases: list[ParityCase]
    tolerance: float
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        checked = [c for c in self.cases if c.max_abs_diff is not None or not c.ok]
        return bool(checked) and all(c.ok for c in self.cases)

    @property
    def max_abs_diff(self) -> float | None:
        diffs = [c.max_abs_diff for c in self.cases if c.max_abs_diff is not None]
        return max(diffs) if diffs else None

    @property
    def failures(self) -> list[ParityCase]:
        return [c for c in self.cases if not c.ok]

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.ok, "tolerance": self.tolerance, "max_abs_diff": self.max_abs_diff,
                "seconds": round(self.seconds, 3), **self.info,
                "cases": [asdict(c) for c in self.cases]}

    def write(self, path: str | Path) -> Path:
        from ...fileio import atomic_write

        return atomic_write(path, json.dumps(self.to_json(), indent=2) + "\n", "parity report")

    def table(self) -> Any:
        """A rich Table of the cases."""
        from rich.table import Table

        table = Table(title=f"parity: onnxruntime vs PyTorch (tolerance {self.tolerance:g})",
                      title_justify="left")
        for col in ("batch", "seq", "output", "rows", "max |diff|", "result"):
            table.add_column(col, justify="right" if col in ("batch", "seq", "rows") else "left")
        for c in self.cases:
            diff = "-" if c.max_abs_diff is None else f"{c.max_abs_diff:.2e}"
            result = "[green]ok[/]" if c.ok else "[red]FAIL[/]"
            if c.note:
                result += f" ({c.note})"
            table.add_row(str(c.batch), "-" if c.seq is None else str(c.seq), c.output,
                          f"{c.rows}/{c.batch}", diff, result)
        return table


def random_inputs(inputs: Mapping[str, TensorType], batch: int, seq: int,
                  rng: np.random.Generator,
                  int_highs: Mapping[str, int] | None = None) -> dict[str, np.ndarray]:
    """Random arrays for ``inputs``: floats ~ N(0, 1), token ids in [0, int_highs[name]).
    A per-sample size beyond :func:`max_input_elements` is refused before allocating."""
    out = {}
    limit = max_input_elements()
    for name, t in inputs.items():
        shape = (batch,) + tuple(seq if d is None else d for d in t.shape)
        if math.prod(shape[1:]) > limit:
            raise SpecError(f"input '{name}' holds {math.prod(shape[1:]):,} values per sample, "
                            f"more than the limit of {limit:,}", received=shape[1:],
                            hint=f"set {MAX_INPUT_ENV} to raise the limit")
        dtype = _NP_DTYPES.get(t.dtype, np.float32)
        if np.issubdtype(dtype, np.integer):
            high = (int_highs or {}).get(name, 2)
            out[name] = rng.integers(0, max(high, 1), size=shape, dtype=dtype)
        elif dtype is np.bool_:
            out[name] = rng.random(shape) > 0.5
        else:
            out[name] = rng.standard_normal(shape).astype(dtype)
    return out


def max_input_elements() -> int:
    """The most values one sample of one input may hold: the limit on per-sample activations
    of shape inference (``SPECC_MAX_ACTIVATION`` raises it)."""
    from ...graph.construct import max_activation

    return max_activation()


def check_parity(module: Any, model: str | Path | bytes, inputs: Mapping[str, TensorType],
                 outputs: Sequence[str], *, int_highs: Mapping[str, int] | None = None,
                 batches: Sequence[int] = BATCHES, seq_lens: Sequence[int] = SEQ_LENS,
                 tolerance: float = TOLERANCE, seed: int = 0) -> ParityReport:
    """Compare onnxruntime (CPU provider) with ``module`` in eval mode on random inputs."""
    import onnxruntime as ort
    import torch

    start = time.perf_counter()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # leave torch the CPU
    source = model if isinstance(model, bytes) else str(model)
    try:
        source.encode("utf-8") if isinstance(source, str) else None
    except UnicodeEncodeError:  # a non-UTF-8 file name: onnxruntime only opens UTF-8 paths
        with open(source, "rb") as fh:
            source = fh.read()
    session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
    module.eval()
    # a module that preprocesses its inputs itself gets raw inputs that preprocess to ~N(0, 1)
    to_raw = getattr(module, "raw_inputs", None)
    rng = np.random.default_rng(seed)
    dynamic = any(d is None for t in inputs.values() for d in t.shape)
    cases: list[ParityCase] = []
    for seq in (seq_lens if dynamic else (None,)):
        per_sample: float | None = None
        for batch in batches:
            feeds = random_inputs(inputs, batch, seq or 1, rng, int_highs)
            if to_raw is not None:
                feeds = to_raw(feeds)
            rows = _reference_rows(batch, per_sample)
            t0 = time.perf_counter()
            try:
                with torch.inference_mode():
                    ref = module(*(torch.from_numpy(feeds[n][rows]) for n in inputs))
            except Exception as exc:  # the module itself rejects this size (e.g. seq 1 < kernel)
                cases.append(ParityCase(batch, seq, "*", 0, None, True,
                                        f"skipped: PyTorch rejects it: {_first_line(exc)}"))
                continue
            per_sample = (time.perf_counter() - t0) / len(rows)
            refs = [ref] if isinstance(ref, torch.Tensor) else list(ref)
            try:
                got = session.run(list(outputs), feeds)
            except Exception as exc:
                cases.append(ParityCase(batch, seq, "*", 0, None, False,
                                        f"onnxruntime failed: {_first_line(exc)}"))
                continue
            note = None if len(rows) == batch else "sampled rows"
            for name, r, g in zip(outputs, refs, got, strict=True):
                cases.append(_compare(name, batch, seq, r.detach().cpu().numpy(), g[rows],
                                      tolerance, len(rows), note))
    info = {"onnxruntime": ort.__version__, "torch": torch.__version__,
            "provider": "CPUExecutionProvider", "batches": list(batches),
            "seq_lens": list(seq_lens) if dynamic else None}
    return ParityReport(cases, tolerance, time.perf_counter() - start, info)


def _reference_rows(batch: int, per_sample: float | None) -> np.ndarray:
    """Rows PyTorch recomputes: all, or as many as CASE_BUDGET_S allows, spread evenly."""
    if per_sample is None or per_sample * batch <= CASE_BUDGET_S:
        return np.arange(batch)
    count = min(batch, max(MIN_ROWS, int(CASE_BUDGET_S / per_sample)))
    return np.unique(np.linspace(0, batch - 1, count).round().astype(np.int64))


def _compare(name: str, batch: int, seq: int | None, ref: np.ndarray, got: np.ndarray,
             tolerance: float, rows: int, note: str | None) -> ParityCase:
    if ref.shape != got.shape:
        return ParityCase(batch, seq, name, rows, None, False,
                          f"shape {got.shape} vs PyTorch {ref.shape}")
    if ref.size == 0:
        return ParityCase(batch, seq, name, rows, 0.0, True, note, 0.0)
    if not np.issubdtype(ref.dtype, np.floating):
        diff = float(np.max(np.abs(ref.astype(np.float64) - got.astype(np.float64))))
        return ParityCase(batch, seq, name, rows, diff, diff == 0, note,
                          float(np.max(np.abs(ref))))
    a, b = ref.astype(np.float64), got.astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.abs(a - b)
    d[both_nan] = 0.0
    diff = float(np.max(np.where(np.isnan(d), np.inf, d)))
    scale = float(np.nanmax(np.abs(a))) if not np.all(np.isnan(a)) else None
    return ParityCase(batch, seq, name, rows, diff, diff <= tolerance, note, scale)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
