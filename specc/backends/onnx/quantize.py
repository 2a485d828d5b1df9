"""``--quantize int8``: onnxruntime dynamic quantization, with what it costs and saves.

Weights become int8 (activations are quantized on the fly), so no calibration data is needed.
The report gives the file sizes before and after, the batch-1 latency of each, and the change
of the spec's metric on its held-out data when the export came from a run (or a spec) whose
data can be loaded; otherwise the output drift on random inputs, and it says which.

Signed or unsigned weights: onnxruntime multiplies unsigned 8-bit activations by the weights.
With signed weights (u8s8) an x86 CPU without VNNI uses ``vpmaddubsw``, which adds pairs of
products into int16 and saturates: measured here (AMD EPYC, AVX2, no VNNI) on a 64-256-256-4
MLP, max output drift 0.065 with signed weights against 0.0045 unsigned and 0.0057 signed with
reduced range. CPUs with VNNI (AVX512-VNNI, AVX-VNNI, AMX) and non-x86 CPUs do not saturate,
and signed weights are their fast path. ``weights="auto"`` picks by the CPU it runs on; the
choice is recorded in the model's metadata and the report, since a file is often run elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ...errors import SpecError
from ...fileio import atomic_write
from .parity import random_inputs

MODES = ("int8",)
WEIGHT_KINDS = ("auto", "signed", "unsigned")
RANDOM_SAMPLES = 256
_VNNI_FLAGS = ("avx512_vnni", "avx512vnni", "avx_vnni", "avxvnni", "amx_int8")


@dataclass(frozen=True)
class Int8Path:
    """Which weight type the quantizer used and why."""

    weights: str  # "signed" | "unsigned"
    reason: str


def cpu_has_vnni(cpuinfo: str | None = None) -> bool | None:
    """True/False from the CPU flags (Linux ``/proc/cpuinfo``); None when they are unreadable."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")[:1_000_000]
        except OSError:
            return None
    flags = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    if not flags:
        return None
    return any(f in flags for f in _VNNI_FLAGS)


def choose_int8_path(weights: str = "auto", *, machine: str | None = None,
                     cpuinfo: str | None = None) -> Int8Path:
    """The weight type that does not saturate on this CPU (or the one asked for); ``machine``
    and ``cpuinfo`` default to this machine's."""
    if weights not in WEIGHT_KINDS:
        raise SpecError("unknown int8 weight type", received=weights,
                        hint="one of: " + ", ".join(WEIGHT_KINDS))
    if weights != "auto":
        return Int8Path(weights, "asked for")
    arch = (machine if machine is not None else platform.machine()).lower()
    if arch not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return Int8Path("signed", f"{arch} CPU: signed int8 weights do not saturate")
    has = cpu_has_vnni(cpuinfo)
    if has:
        return Int8Path("signed", "x86 CPU with VNNI: signed int8 weights do not saturate")
    why = "without VNNI" if has is False else "whose VNNI support is unknown"
    return Int8Path("unsigned", f"x86 CPU {why}: signed weights would saturate the u8s8 dot "
                                "product, so weights are unsigned (u8u8)")


@dataclass
class QuantizeReport:
    """Sizes, latency and quality of a quantized model against its float original."""

    path: Path
    size_before: int
    size_after: int
    data: str  # where the comparison inputs came from
    metric: str | None = None  # e.g. "accuracy"
    before: float | None = None
    after: float | None = None
    max_drift: float | None = None
    mean_drift: float | None = None
    agreement: float | None = None  # share of equal predicted classes (classifiers)
    latency_ms: tuple[float, float] | None = None  # batch 1, float vs int8
    int8_path: Int8Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.size_after / max(self.size_before, 1)

    def lines(self) -> list[str]:
        out = [f"int8 model: {self.path} ({_kb(self.size_before)} -> {_kb(self.size_after)}, "
               f"{self.ratio:.0%} of the float size)"]
        if self.int8_path is not None:
            out.append(f"int8 weights: {self.int8_path.weights} ({self.int8_path.reason})")
        if self.metric is not None and self.before is not None and self.after is not None:
            out.append(f"{self.metric} on {self.data}: {self.before:.4f} -> {self.after:.4f} "
                       f"({self.after - self.before:+.4f})")
        else:
            out.append(f"compared on {self.data}")
        if self.max_drift is not None:
            out.append(f"output drift: max |diff| {self.max_drift:.3g}, mean "
                       f"{self.mean_drift:.3g}" + (f"; same class for {self.agreement:.1%}"
                                                    if self.agreement is not None else ""))
        if self.latency_ms:
            a, b = self.latency_ms
            out.append(f"latency at batch 1 (CPU): {a:.3f} ms -> {b:.3f} ms")
        return out + self.notes


def quantize_model(path: str | Path, mode: str = "int8", *, loaded: Any = None,
                   output: str | Path | None = None, seed: int = 0,
                   weights: str = "auto") -> QuantizeReport:
    """Write ``<stem>.int8.onnx`` beside ``path`` and compare it with the float model.

    ``weights``: ``auto`` (by this CPU, see the module docstring), ``signed`` or ``unsigned``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if mode not in MODES:
        raise SpecError("unknown quantization", received=mode, hint="supported: int8")
    chosen = choose_int8_path(weights)
    weight_type = QuantType.QInt8 if chosen.weights == "signed" else QuantType.QUInt8
    src = Path(path)
    dst = Path(output) if output else src.with_name(f"{src.stem}.{mode}.onnx")
    model = onnx.load(str(src))
    # stale intermediate shapes make the quantizer's shape inference fail on Gemm weights
    del model.graph.value_info[:]
    with tempfile.TemporaryDirectory() as tmp, _quiet_logging():
        plain, int8 = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(plain))
        try:
            quantize_dynamic(str(plain), str(int8), weight_type=weight_type)
        except Exception as exc:  # the quantizer raises assorted errors on unsupported graphs
            raise SpecError(f"int8 quantization of '{src.name}' failed: {_line(exc)}",
                            hint="the float model was written and checked; use it as is") \
                from None
        quantized = onnx.load(str(int8))
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(model.metadata_props)
    quantized.metadata_props.add(key="specc.quantized", value=mode)
    quantized.metadata_props.add(key="specc.int8_weights", value=chosen.weights)
    atomic_write(dst, quantized.SerializeToString(), "int8 model")
    report = QuantizeReport(dst, src.stat().st_size, dst.stat().st_size, data="",
                            int8_path=chosen)
    _compare(report, src, dst, loaded, seed, chosen)
    return report


def _compare(report: QuantizeReport, src: Path, dst: Path, loaded: Any, seed: int,
             chosen: Int8Path) -> None:
    from .runtime import InferenceSession

    before = InferenceSession(src, "cpu")
    try:
        after = InferenceSession(dst, "cpu")
    except SpecError as err:
        raise SpecError(f"the int8 model does not load in onnxruntime: {err.issues[0].message}",
                        hint="use the float model") from None
    try:
        held = _held_out(loaded)
    except SpecError as err:
        report.notes.append(f"held-out data unavailable: {err.issues[0].message}")
        held = None
    if held is not None:
        inputs, target, split = held
        report.data = f"the {split} split ({len(next(iter(inputs.values())))} samples)"
    else:
        rng = np.random.default_rng(seed)
        shapes = {s.name: _type(s) for s in before.inputs}
        highs = _int_highs(loaded)
        inputs = random_inputs(shapes, RANDOM_SAMPLES, 20, rng, highs)
        target = None
        report.data = f"{RANDOM_SAMPLES} random inputs (no held-out data to evaluate on)"
    a, b = before.run(inputs), after.run(inputs)
    if isinstance(a, dict):
        a, b = a[before.output_names[0]], b[before.output_names[0]]
    drift = np.abs(a.astype(np.float64) - b.astype(np.float64))
    report.max_drift, report.mean_drift = float(drift.max()), float(drift.mean())
    if before.is_classifier:
        ca, cb = before.classes(a), before.classes(b)
        report.agreement = float(np.mean(ca == cb))
        if target is not None and np.asarray(target).size == ca.size:
            t = np.asarray(target).reshape(ca.shape)
            report.metric = "accuracy"
            report.before, report.after = float(np.mean(ca == t)), float(np.mean(cb == t))
    elif target is not None and np.asarray(target).shape == a.shape:
        report.metric = "mse"
        report.before = float(np.mean((a - target) ** 2))
        report.after = float(np.mean((b - target) ** 2))
    first = {k: v[:1] for k, v in inputs.items()}
    report.latency_ms = (_latency(before, first), _latency(after, first))
    if chosen.weights == "signed":
        report.notes.append("signed int8 weights saturate on x86 CPUs without VNNI; for a file "
                            "meant to run on any CPU, quantize with unsigned weights")
    if report.size_after >= report.size_before:
        report.notes.append("the int8 file is not smaller: the model's weights are too few for "
                            "the quantization tables to pay off")
    if report.latency_ms[1] > report.latency_ms[0] * 1.1:
        report.notes.append("the int8 model is slower at batch 1 on this CPU (dynamic "
                            "quantization re-quantizes activations on every call); keep it for "
                            "its size, or use the float model")


def _held_out(loaded: Any) -> tuple[dict[str, np.ndarray], Any, str] | None:
    """(inputs, targets of the first output, split name) of the spec's held-out data."""
    if loaded is None or getattr(loaded.spec, "train", None) is None:
        return None
    from .heldout import held_out_data

    return held_out_data(loaded)


def _type(spec: Any) -> Any:
    from ...types import TensorType

    return TensorType(tuple(spec.shape[1:]), spec.dtype.name)


def _int_highs(loaded: Any) -> dict[str, int] | None:
    if loaded is None:
        return None
    from .export import int_highs

    return int_highs(loaded.graph)


def _latency(session: Any, feeds: dict[str, np.ndarray], repeats: int = 30) -> float:
    for _ in range(3):
        session.run(feeds)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        session.run(feeds)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


@contextlib.contextmanager
def _quiet_logging() -> Iterator[None]:
    """The quantizer logs advice through the root logger; none of it is actionable here."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _kb(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 2**20 else f"{n / 2**20:.1f} MiB"


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
