"""Export a spec, a trained run or a torch module to a checked ONNX model.

``export(source, output)`` loads a spec (fresh weights, or ``weights=FILE.safetensors``) or a
run directory (best checkpoint, else last), builds the inference form of the network (eval
mode: dropout off, batch norm frozen, noise off, sampling -> mean), exports it with dynamic
batch and sequence axes and the spec's metadata, then checks it: ``onnx.checker`` (full check),
the declared dynamic axes, and parity with PyTorch (``parity.json`` beside the model). A model
that fails a check is deleted unless ``keep_failed``; the failure is a :class:`SpecError`.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ... import __version__
from ...errors import Issue, SpecError
from ...fileio import atomic_output, inside, safe_name
from ...types import TensorType
from . import metadata as meta
from .convert import DEFAULT_OPSET, EXPORTERS, TRACE_BATCH, TRACE_SEQ, ExportFailure, to_onnx
from .parity import TOLERANCE, ParityReport, check_parity, random_inputs
from .preprocess import wrap
from .quantize import QuantizeReport
from .source import load_source

DEBUG_HINT = "set SPECC_DEBUG=1 to see the exporter's own report"


@dataclass
class ExportResult:
    """What an export wrote and measured."""

    path: Path
    exporter: str
    opset: int
    parity: ParityReport
    parity_path: Path
    size_bytes: int
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    quantized: QuantizeReport | None = None


def export(source: Any, output: str | Path | None = None, *, network: str | None = None,
           weights: str | Path | None = None, opset: int = DEFAULT_OPSET,
           exporter: str = "auto", quantize: str | None = None, keep_failed: bool = False,
           overrides: Sequence[str] = (), seed: int = 0, int8_weights: str = "auto",
           tolerance: float = TOLERANCE, preprocess: bool = True, form: str | None = None,
           inputs: Sequence[str] = (), outputs: Sequence[str] = ()) -> ExportResult:
    """Export a spec (path, built-in name, dict or :class:`~specc.Spec`) or a run directory to
    ONNX and check it. ``output`` defaults to ``model.onnx`` in a run directory, else
    ``<spec name>.onnx``. ``quantize="int8"`` also writes ``<output stem>.int8.onnx``, with
    ``int8_weights`` signed, unsigned or auto (chosen so this CPU does not saturate).
    ``preprocess``: put a run's input preprocessing and target scaling into the graph, so the
    model takes raw inputs as ``specc predict`` does (False: the bare network; the metadata
    records which). ``form``: export the spec's inference form of that name instead (see
    :mod:`specc.forms`; written to ``<form>.onnx``); ``inputs``/``outputs``: the sub-graph
    between those nodes (a cut)."""
    loaded = load_source(source, network=network, weights=weights, overrides=overrides,
                         seed=seed)
    if form is not None or inputs or outputs:
        from ...forms.export import export_form, resolve_form

        if quantize is not None:
            raise SpecError("--quantize applies to the network's forward, not to a form",
                            path=("--quantize",), received=quantize)
        return export_form(loaded, resolve_form(loaded, form, inputs, outputs), output,
                           opset=opset, exporter=exporter, keep_failed=keep_failed,
                           tolerance=tolerance)
    if output is None:
        output = (loaded.run_dir / "model.onnx") if loaded.run_dir else \
            Path(f"{safe_name(loaded.spec.name)}"
                 f"{'.' + safe_name(loaded.network) if loaded.multi else ''}.onnx")
        if loaded.run_dir:  # never written through a link out of the run folder
            for name in ("model.onnx", "parity.json"):
                inside(loaded.run_dir, loaded.run_dir / name, f"run file '{name}'")
    graph = loaded.graph
    try:
        refuse_unexportable(graph)
    except SpecError as err:
        source = getattr(loaded.spec, "source", None)
        raise (source.error(err) if source is not None else err) from None
    module = loaded.module
    try:
        wrapped = wrap(module, graph.inputs, loaded.preprocess, loaded.target_scale,
                       list(graph.outputs)) if preprocess else None
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # a tampered data.json
        raise SpecError(f"the preprocessing recorded in the run is malformed "
                        f"({type(exc).__name__}: {str(exc)[:200]})",
                        file=str(loaded.run_dir / "data.json") if loaded.run_dir else None,
                        hint="data.json was changed; train the run again") from None
    loaded.in_graph = wrapped is not None
    result = export_module(
        wrapped if wrapped is not None else module, output, inputs=graph.inputs,
        outputs=graph.output_types, opset=opset, exporter=exporter, keep_failed=keep_failed,
        tolerance=tolerance, int_highs=int_highs(graph), kinds=node_kinds(graph),
        metadata=loaded.metadata(in_graph=wrapped is not None),
        description=loaded.spec.description)
    result.notes[:0] = loaded.notes
    if quantize is not None:
        from .quantize import quantize_model

        result.quantized = quantize_model(result.path, quantize, loaded=loaded, seed=seed,
                                          weights=int8_weights)
    return result


def export_module(module: Any, output: str | Path, *, inputs: Mapping[str, TensorType],
                  outputs: Mapping[str, TensorType], opset: int = DEFAULT_OPSET,
                  exporter: str = "auto", keep_failed: bool = False,
                  tolerance: float = TOLERANCE, int_highs: Mapping[str, int] | None = None,
                  kinds: Mapping[str, tuple[str, str]] | None = None,
                  metadata: Mapping[str, str] | None = None,
                  description: str | None = None,
                  parity_name: str = "parity.json") -> ExportResult:
    """Export a torch module whose ``forward`` takes one tensor per entry of ``inputs`` (per-
    sample types; batch implicit) and returns the ``outputs`` (one tensor, or a tuple), then
    check it. ``kinds`` maps submodule names to (node, layer kind) for error messages; the
    parity table is written to ``parity_name`` beside the model."""
    path = Path(output)
    _check_options(path, opset, exporter)
    was_training = module.training
    module = _cpu_eval_copy(module)
    try:
        return _export_checked(module, path, inputs, outputs, opset, exporter, keep_failed,
                               tolerance, int_highs, kinds, metadata, description, parity_name)
    finally:
        module.train(was_training)  # the caller's module leaves as it came


def _export_checked(module: Any, path: Path, inputs: Mapping[str, TensorType],
                    outputs: Mapping[str, TensorType], opset: int, exporter: str,
                    keep_failed: bool, tolerance: float, int_highs: Mapping[str, int] | None,
                    kinds: Mapping[str, tuple[str, str]] | None,
                    metadata: Mapping[str, str] | None,
                    description: str | None, parity_name: str) -> ExportResult:
    """Try the exporters in turn until one's model passes every check."""
    import torch

    rng = np.random.default_rng(0)
    example = [torch.from_numpy(a) for a in
               random_inputs(inputs, TRACE_BATCH, TRACE_SEQ, rng, int_highs).values()]
    props = {"specc.version": __version__, **(metadata or {})}
    failures: list[tuple[str, str]] = []
    candidates = ("torchscript", "dynamo") if exporter == "auto" else (exporter,)
    parity: ParityReport | None = None
    trace: BaseException | None = None  # the exporter's own exception, for SPECC_DEBUG
    for name in candidates:
        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        try:
            model = to_onnx(module, example, inputs, outputs, opset=opset, exporter=name)
            props.update({"specc.exporter": name, "specc.opset": str(opset)})
            meta.attach(model, props, description=description, inputs=inputs, outputs=outputs)
            seconds["export"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            onnx.checker.check_model(model, full_check=True)
            seconds["check"] = time.perf_counter() - t0
        except ExportFailure as fail:
            failures.append((name, _blame(fail, kinds)))
            trace = fail.__cause__ or trace
            continue
        except Exception as exc:  # onnx raises ValidationError and shape-inference errors
            failures.append((name, f"onnx.checker rejected the model: {_line(exc)}"))
            trace = exc
            continue
        _save(model, path)
        t0 = time.perf_counter()
        parity = check_parity(module, path, inputs, list(outputs), int_highs=int_highs,
                              tolerance=tolerance)
        seconds["parity"] = time.perf_counter() - t0
        parity.info.update({"model": path.name, "exporter": name, "opset": opset,
                            "exporter_failures": dict(failures)})
        parity_path = parity.write(path.with_name(parity_name))
        if parity.ok:
            notes = [f"{n} exporter: {m}; used the {name} exporter" for n, m in failures]
            return ExportResult(path, name, opset, parity, parity_path, path.stat().st_size,
                                seconds, notes)
        failures.append((name, _parity_message(parity)))
        if not keep_failed or name != candidates[-1]:
            path.unlink(missing_ok=True)
    if trace is not None and os.environ.get("SPECC_DEBUG"):
        raise trace
    raise _failure(path, failures, parity, keep_failed, parity_name)


def refuse_unexportable(graph: Any, by_shape: bool = True) -> None:
    """A SpecError naming every node whose layer kind declares it cannot export: always
    (``export_note``) or, with ``by_shape``, for its parameters and input types
    (``export_refusal(p, inputs)``; inference forms fix their lengths, so they skip these)."""
    from ...registry import current

    issues = []
    for name, node in graph.nodes.items():
        kind = current().layers.get(node.kind)
        note = getattr(kind, "export_note", None)
        refusal = getattr(kind, "export_refusal", None)
        if not note and by_shape and refusal is not None:
            note = refusal(node.params, [graph.type_of(i) for i in node.inputs])
        if note:
            issues.append(Issue(f"layer '{name}' (kind '{node.kind}') cannot be exported to "
                                f"ONNX: {note}", path=tuple(node.src),
                                hint="train and run it with PyTorch, or replace the layer"))
    if issues:
        raise SpecError(issues=issues)


def int_highs(graph: Any) -> dict[str, int]:
    """Upper bounds for random token ids: the smallest ``input_dim`` (an embedding's) or
    ``vocab`` (a Markov chain's) of consuming layers."""
    out = {}
    for name, t in graph.inputs.items():
        if t.dtype.startswith(("int", "uint")):
            dims = [getattr(n.params, "input_dim", None) or getattr(n.params, "vocab", None)
                    for n in graph.nodes.values() if name in n.inputs]
            dims = [d for d in dims if isinstance(d, int) and d > 0]
            out[name] = min(dims) if dims else 2
    return out


def node_kinds(graph: Any) -> dict[str, tuple[str, str]]:
    from ..torch.build import attr_name

    return {attr_name(name): (name, node.kind) for name, node in graph.nodes.items()}


# -- helpers -----------------------------------------------------------------------------------


def _check_options(path: Path, opset: int, exporter: str) -> None:
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not 9 <= opset <= newest:
        raise SpecError(f"opset must be between 9 and {newest}", received=opset,
                        hint=f"the default is {DEFAULT_OPSET}")
    if exporter not in EXPORTERS:
        raise SpecError("unknown exporter", received=exporter, hint=", ".join(EXPORTERS))
    if path.suffix.lower() != ".onnx":
        raise SpecError("the output file must end in .onnx", received=str(path))
    if path.is_dir():
        raise SpecError(f"'{path}' is a directory", hint="give a file name, e.g. model.onnx")
    if path.exists() and not path.is_file():  # a FIFO or a device is never replaced
        raise SpecError(f"'{path}' is not a regular file; specc only replaces regular files",
                        hint="give a new file name")


def _cpu_eval_copy(module: Any) -> Any:
    """The module in eval mode on CPU in float32 (a copy when it lives elsewhere)."""
    import torch

    tensors = [*module.parameters(), *module.buffers()]
    on_cpu = all(t.device.type == "cpu" for t in tensors)
    f32 = all(t.dtype == torch.float32 for t in tensors if t.is_floating_point())
    if not (on_cpu and f32):
        module = copy.deepcopy(module).to(device="cpu", dtype=torch.float32)
    return module.eval()


def _save(model: onnx.ModelProto, path: Path) -> None:
    """Through a temporary file beside ``path`` (never onto a device; folders are made)."""
    with atomic_output(path, "ONNX file", parents=True) as tmp:
        onnx.save(model, str(tmp))


def _blame(fail: ExportFailure, kinds: Mapping[str, tuple[str, str]] | None) -> str:
    """The failure, prefixed with the layer (or layer kind) it comes from when known."""
    found = [kinds[m] for m in fail.modules if kinds and m in kinds]
    if not found:
        return str(fail)
    if len(found) == 1:
        return f"layer '{found[0][0]}' (kind '{found[0][1]}'): {fail}"
    kinds_found = sorted({k for _, k in found})
    if len(kinds_found) == 1:
        return f"layer kind '{kinds_found[0]}': {fail}"
    return f"layers {', '.join(repr(n) for n, _ in found)}: {fail}"


def _parity_message(report: ParityReport) -> str:
    worst = report.failures[0]
    where = f"batch {worst.batch}" + (f", sequence length {worst.seq}" if worst.seq else "")
    if worst.max_abs_diff is None:
        return f"parity check failed at {where}: {worst.note}"
    return (f"onnxruntime and PyTorch disagree at {where} on output '{worst.output}': max |diff| "
            f"{worst.max_abs_diff:.3g} > {report.tolerance:g}")


def _failure(path: Path, failures: list[tuple[str, str]], parity: ParityReport | None,
             keep_failed: bool, parity_name: str) -> SpecError:
    lines = [f"{n}: {m}" for n, m in failures]
    if parity is not None:
        kept = f"kept {path} for inspection" if keep_failed and path.exists() else \
            "the model file was removed (--keep-failed keeps it)"
        hint = f"{kept}; the parity table is in {path.with_name(parity_name)}"
    else:
        hint = "a layer kind whose module does not export can declare export_note; " + DEBUG_HINT
    err = SpecError("ONNX export failed: " + " | ".join(lines), hint=hint, file=str(path))
    err.parity = parity  # type: ignore[attr-defined]
    return err


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
