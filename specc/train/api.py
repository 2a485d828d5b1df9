"""Python API of training: :func:`train`, :func:`evaluate`, :func:`predict`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..runs.folder import (
    RunDir,
    RunLock,
    check_out,
    default_run_dir,
    is_run,
    load_spec,
    read_metrics,
    resolve_run,
)


@dataclass
class Run:
    """A training run: its directory, final logs and the trained model (inference form)."""

    dir: Path
    spec: Any
    logs: dict[str, Any] = field(default_factory=dict)
    stop_reason: str = "finished"
    _model: Any = None

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """Rows of metrics.csv (one per epoch)."""
        return read_metrics(self.dir)

    @property
    def model(self) -> Any:
        """The trained network (best checkpoint), outputs as at inference."""
        if self._model is None:
            self._model = load_model(self.dir)
        return self._model

    def evaluate(self, split: str | None = None) -> dict[str, Any]:
        return evaluate(self.dir, split=split)

    def predict(self, inputs: Any) -> Any:
        return predict(self.dir, inputs)


def _load(spec_or_path: Any, overrides: list[str]) -> Any:
    from ..assembled import Spec, load

    if isinstance(spec_or_path, Spec):
        if overrides:
            return load(spec_or_path.resolved, overrides)
        return spec_or_path
    if isinstance(spec_or_path, str | Path) and Path(spec_or_path).is_dir() and is_run(spec_or_path):
        return load_spec(spec_or_path, overrides)
    return load(spec_or_path, overrides)


def train(spec_or_path: Any = None, *, out: str | Path | None = None, overrides: Any = (),
          resume: str | Path | bool | None = None, device: str = "auto", quiet: bool = False,
          epochs: int | None = None, seed: int | None = None, nproc: int = 1,
          progress: Any = None, overwrite: bool = False) -> Run:
    """Train a spec (path, built-in name, dict or Spec) and return the :class:`Run`.

    ``resume``: a run directory (or True with ``spec_or_path`` a run directory) to continue
    from its ``last`` checkpoint. ``out``: the run directory (default
    ``runs/<name>/<timestamp>``). ``epochs``/``seed`` override ``train.epochs``/``train.seed``.
    ``nproc`` > 1 trains data-parallel in that many processes (torch.distributed).
    ``progress``: bar, lines or quiet (default: bar on a terminal, else lines), or a
    :class:`~specc.train.progress.Progress` (a sweep's trial reads each epoch's logs there).
    ``overwrite``: replace an earlier run in ``out`` (a non-empty folder that is not a run is
    always refused). A lock file keeps a second training out of the folder meanwhile.
    """
    overrides = list(overrides)
    if epochs is not None:
        overrides.append(f"train.epochs={int(epochs)}")
    if seed is not None:
        overrides.append(f"train.seed={int(seed)}")
    run_path: Path | None = None
    if resume is True or (resume and spec_or_path is None):
        run_path = resolve_run(spec_or_path if resume is True else resume)
    elif resume:
        run_path = resolve_run(resume)
    if run_path is not None:
        if out is not None and Path(out).resolve() != run_path.resolve():
            raise SpecError("--out and --resume name different run directories",
                            hint="a resumed run continues in its own directory")
        spec = load_spec(run_path, overrides)
    else:
        if spec_or_path is None:
            raise SpecError("give a spec to train (or --resume RUN)")
        spec = _load(spec_or_path, overrides)
    if spec.train is None:
        raise SpecError(f"spec '{spec.name}' has no 'train' section", path=("train",),
                        hint="add train: {data: {dataset: ...}, loss: ..., epochs: ...}")
    if nproc > 1:
        check_multiprocess(spec, nproc)
    path = run_path or (Path(out) if out is not None else default_run_dir(spec.name))
    if run_path is None:
        check_out(path, overwrite=overwrite)
    with RunLock(path):
        if run_path is None:
            check_out(path, overwrite=overwrite)  # again, now that no one else writes here
        if nproc > 1:
            from .distributed import launch

            launch(spec, path, overrides=overrides, resume=run_path is not None,
                   device=device, quiet=quiet, nproc=nproc, source=spec_or_path)
            return Run(path, spec, _final_logs(path))
        mode = "quiet" if quiet else (progress or "auto")
        return run_training(spec, path, resume=run_path is not None, device=device,
                            progress=mode)


def check_multiprocess(spec: Any, nproc: int) -> None:
    """Several processes need a regime that declares ``multiprocess``."""
    from ..registry import current

    regime = current().trainers.get(spec.train.regime)
    if not regime.multiprocess:
        err = SpecError(f"regime '{regime.name}' trains in one process; it cannot run with "
                        f"--nproc {nproc}", path=("train", "regime"),
                        received=f"--nproc {nproc}", hint="train without --nproc")
        source = getattr(spec, "source", None)
        raise source.error(err) if source is not None else err


def _final_logs(path: Path) -> dict[str, Any]:
    rows = read_metrics(path)
    return rows[-1] if rows else {}


def run_training(spec: Any, path: Path, *, resume: bool, device: str, progress: Any,
                 dist: Any = None) -> Run:
    """Train in this process (one rank of a multi-process run when ``dist`` is given)."""
    from ..backends.torch.build import resolve_device
    from ..registry import current
    from .progress import Progress
    from .session import DistInfo, Interrupted, Session

    dist = dist or DistInfo()
    if dist.active:  # also when the launcher was run by hand (multi-node)
        check_multiprocess(spec, dist.world)
    dev = resolve_device(device)
    if dev.type == "cuda" and dist.active:
        import torch

        dev = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(dev)
    run = RunDir(path)
    if dist.main:
        if resume and not run.checkpoints.exists("last"):
            raise SpecError(f"run '{path}' has no 'last' checkpoint to resume from",
                            hint="it stopped before its first checkpoint; train it afresh")
        run.start(spec, fresh=not resume)
    if dist.active:
        import torch.distributed as tdist

        tdist.barrier()
    import torch

    prog = progress if isinstance(progress, Progress) else \
        Progress(progress if dist.main else "quiet")
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    session = Session(spec, spec.train, device=dev, run=run, progress=prog, dist=dist,
                      resume=resume)
    regime = current().trainers.get(spec.train.regime)(session)
    t0 = time.perf_counter()
    status = "finished"
    logs: dict[str, Any] = {}
    ranks_note = None
    try:
        logs = regime.fit()
        status = regime.stop_reason
        if dist.active:
            ranks_note = _compare_ranks(regime, dist)
    except Interrupted as exc:
        status = str(exc)
        raise
    except SpecError as exc:
        status = f"stopped: {exc.issues[0].message}"
        raise
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        if session.writes:
            text = summary_text(spec, regime, status, logs, time.perf_counter() - t0, dev)
            run.write_summary(text + (f"\n{ranks_note}" if ranks_note else ""))
            run.close()
    if dist.main and not prog.mode == "quiet":
        prog.note(f"run saved in {path}")
    return Run(path, spec, logs, status, None)


def _compare_ranks(regime: Any, dist: Any) -> str:
    """Check that every process ended with the same weights (DDP keeps them in step)."""
    import hashlib

    import torch.distributed as tdist

    digest = hashlib.sha256()
    for k, v in sorted(regime.weights().items()):
        digest.update(k.encode())
        digest.update(v.detach().cpu().contiguous().numpy().tobytes())
    hashes: list[Any] = [None] * dist.world
    tdist.all_gather_object(hashes, digest.hexdigest())
    same = "yes" if len(set(hashes)) == 1 else "NO (" + ", ".join(h[:8] for h in hashes) + ")"
    return (f"processes: {dist.world} ({tdist.get_backend()}); "
            f"weights identical on all ranks: {same}")


def summary_text(spec: Any, regime: Any, status: str, logs: dict[str, Any], seconds: float,
                 device: Any) -> str:
    from .progress import fmt_logs

    cfg = spec.train
    lines = [f"run of spec '{spec.name}' (hash {spec.hash}, specc {spec.version})",
             f"regime: {cfg.regime}   device: {device}   seed: {cfg.seed}",
             f"status: {status}",
             f"time: {seconds:.1f}s this session"]
    trained, frozen = spec.param_counts
    lines.append(f"parameters: {trained:,} trainable, {frozen:,} non-trainable")
    tracker = regime.tracker
    if tracker is not None and tracker.best_epoch is not None:
        lines.append(f"best: {tracker.monitor} = {tracker.best:.6g} at epoch {tracker.best_epoch}"
                     " (checkpoints/best.*)")
    if logs:
        lines.append("final epoch: " + fmt_logs(logs))
    return "\n".join(lines)


# -- using a trained run ----------------------------------------------------------------------


def load_model(run: str | Path, network: str | None = None, checkpoint: str = "best") -> Any:
    """The trained network of a run (inference form: probabilities, not logits)."""
    from ..backends.torch import build_module
    from ..runs.folder import load_run

    spec, state, info = load_run(run, checkpoint)
    graph = spec.network(network)
    model = build_module(graph, seed=None)
    if len(spec.networks) > 1:
        name = network or graph.name
        state = {k[len(name) + 1:]: v for k, v in state.items() if k.startswith(name + ".")}
    from ..runs.checkpoint import load_into

    load_into(model, state, f"{info['dir']}/checkpoints/{info['checkpoint']}")
    model.eval()
    return model


def evaluate(run: str | Path, *, split: str | None = None, device: str = "cpu",
             checkpoint: str = "best") -> dict[str, Any]:
    """The spec's loss and metrics on held-out data (test, else validation), plus a confusion
    matrix for classifiers: ``{"split", "n", "loss", <metrics>, "confusion", "labels"}``."""
    from ..runs.folder import load_run

    spec, state, info = load_run(run, checkpoint)
    if spec.train is None:
        raise SpecError("the run's spec has no train section")
    regime = _regime(spec, device)
    regime.setup()
    regime.load_weights(state)
    prep = regime.data.prepared
    split = split or prep.held_out()
    if split is None or split not in regime.data.parts:
        have = ", ".join(regime.data.parts)
        raise SpecError(f"the run has no '{split or 'held-out'}' split to evaluate",
                        hint=f"splits: {have}; give data.split when training")
    result: dict[str, Any] = {"split": split, "n": regime.data.parts[split].n,
                              "checkpoint": info["checkpoint"], "epoch": info["epoch"]}
    result.update(split_note(spec.train, split, info["checkpoint"], has_val="val" in
                             regime.data.parts, has_test="test" in regime.data.parts))
    result.update(regime.evaluate(split))
    cm = regime.confusion()
    if cm is not None:
        result["confusion"] = cm.long().cpu().tolist()
        result["labels"] = _labels(spec, prep.labels, len(cm))
    return result


def _regime(spec: Any, device: str) -> Any:
    """The spec's regime for using a trained run (a session without a run directory)."""
    from ..backends.torch.build import resolve_device
    from ..registry import current
    from .progress import Progress
    from .session import Session

    session = Session(spec, spec.train, device=resolve_device(device), run=None,
                      progress=Progress("quiet"))
    return current().trainers.get(spec.train.regime)(session)


def load_regime(run: str | Path, *, checkpoint: str = "best",
                device: str = "cpu") -> tuple[Any, Any, dict[str, Any]]:
    """(spec, regime with the checkpoint's weights, checkpoint info) of a trained run, for
    prediction: the regime's models only, no data."""
    from ..runs.folder import load_run

    spec, state, info = load_run(run, checkpoint)
    if spec.train is None:
        raise SpecError("the run's spec has no train section")
    regime = _regime(spec, device)
    regime.build_models()
    regime.load_weights(state)
    return spec, regime, info


def split_note(cfg: Any, split: str, checkpoint: str, *, has_val: bool,
               has_test: bool) -> dict[str, Any]:
    """Whether the figures of ``split`` are an honest estimate: ``selection`` is true when
    the split chose the model (the ``best`` checkpoint, early stopping or a plateau
    schedule monitor a validation value), and ``note`` says so in words."""
    from ..spec.training import EpochConfig

    monitors = [m for m, path in cfg.monitors() if path[0] != "checkpoint"]
    if checkpoint == "best" and cfg.checkpoint.best and isinstance(cfg, EpochConfig):
        monitors.append(cfg.monitor(has_val)[0])  # a fit regime's best is its only result
    selection = split == "val" and any(m.startswith("val_") for m in monitors)
    if split == "test":
        note = "held-out test split: not used for training or model selection"
    elif split == "train":
        note = "training split: the model was fitted to these samples"
    elif selection:
        note = ("validation split: it also chose the model (best checkpoint / early stopping), "
                "so this figure is optimistic")
        if not has_test:
            note += "; hold out a test split for an unbiased one: split: {val: 0.1, test: 0.2}"
    else:
        note = "validation split: not used for model selection"
    return {"selection": selection, "note": note}


def _labels(spec: Any, data_labels: list[str] | None, n: int) -> list[str]:
    labels = spec.labels or data_labels
    if labels and len(labels) >= n:
        return list(labels[:n])
    return [str(i) for i in range(n)]


def predict(run: str | Path, inputs: Any, *, device: str = "cpu", checkpoint: str = "best",
            labels: bool = True) -> Any:
    """Outputs of the trained network for raw ``inputs`` (shaped like the dataset's samples;
    one sample or a batch), preprocessed as in training. Classifiers give class labels when
    ``labels`` (else probabilities); regressors give values in the targets' units. Several
    outputs: a dict by output name; several inputs: give a dict by input name."""
    values, named = predict_values_and_labels(run, inputs, device=device, checkpoint=checkpoint)
    return named if labels else values


def predict_values_and_labels(run: str | Path, inputs: Any, *, device: str = "cpu",
                              checkpoint: str = "best") -> tuple[Any, Any]:
    """:func:`predict` both ways from one forward pass through the regime: (probabilities or
    values, class labels or values)."""

    import numpy as np
    import torch

    from ..runs.folder import read_data_record

    run = resolve_run(run)
    spec, regime, _ = load_regime(run, checkpoint=checkpoint, device=device)
    graph = predict_graph(spec)
    record = read_data_record(run)
    tensors = input_tensors(run, spec, record, inputs)
    with torch.no_grad():
        outs = regime.predict(tensors)
    values, named = {}, {}
    classes = record.get("classes") or {}
    for o, v in outs.items():
        v = v.cpu().numpy()
        ts = (record.get("target_scale") or {}).get(o)
        if ts:
            v = v * np.asarray(ts["scale"], np.float32) + np.asarray(ts["shift"], np.float32)
        values[o] = named[o] = v
        if o in classes:
            axis = graph.type_of(o).feature_axis
            idx = v.argmax(axis=axis + 1 if axis >= 0 else axis)
            names = _labels(spec, record.get("labels"), classes[o])
            named[o] = np.asarray(names, dtype=object)[idx]
    if len(values) > 1:
        return values, named
    return next(iter(values.values())), next(iter(named.values()))


def predict_graph(spec: Any) -> Any:
    """The network :func:`predict` runs: the only one, or the one the regime names with
    ``predict_network(cfg)`` (a GAN's discriminator)."""
    from ..registry import current

    if len(spec.networks) > 1 and spec.train is not None:
        hook = getattr(current().trainers.get(spec.train.regime), "predict_network", None)
        if hook is not None:
            return spec.network(hook(spec.train))
    return spec.graph


def input_tensors(run: Path, spec: Any, record: dict[str, Any], inputs: Any) -> dict[str, Any]:
    """Raw ``inputs`` (an array, or a dict by input name) as the tensors the run's network
    reads: shaped and preprocessed as in training (``record``: the run's data.json)."""
    import numpy as np
    import torch

    from ..data.prepare import apply_preprocess

    graph = predict_graph(spec)
    pre = record.get("preprocess") or {}
    arrays = inputs if isinstance(inputs, dict) else {next(iter(graph.inputs)): inputs}
    tensors = {}
    for name, t in graph.inputs.items():
        if name not in arrays:
            raise SpecError(f"predict needs input '{name}'", hint="inputs: " + ", ".join(graph.inputs))
        x = np.asarray(arrays[name])
        if x.dtype.kind not in "iufb":
            from ..data.files import check_dtype

            check_dtype(x.dtype, f"input '{name}'")
        if x.ndim == 0:
            raise SpecError(f"input '{name}' is a single number (0-d), not a sample",
                            hint="give an array of shape (samples, ...) or one sample")
        x = _batched(x, t)
        if len(x) == 0:
            raise SpecError(f"input '{name}' holds no samples",
                            received=f"shape {tuple(x.shape)}")
        rec = pre.get(name)
        if rec is not None and spec.train is not None:
            try:
                x = apply_preprocess(rec, x, t, spec.train.data, name,  # t: its feature axis
                                     source=f"the input given for '{name}'")
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise SpecError(f"the preprocessing recorded for input '{name}' is malformed "
                                f"({type(exc).__name__}: {str(exc)[:200]})",
                                file=str(run / "data.json"), path=("preprocess", name),
                                hint="data.json was changed; train the run again") from None
        tensors[name] = torch.from_numpy(np.ascontiguousarray(
            x, dtype=np.int64 if t.dtype.startswith("int") else np.float32))
    return tensors


def _batched(x: Any, t: Any) -> Any:
    """Add a batch axis to a single sample."""
    n = t.numel()
    if n is not None and x.size == n and (x.ndim < t.rank + 1 or x.shape[0] != 1):
        return x.reshape((1,) + x.shape)
    if n is None and x.ndim == t.rank:
        return x[None]
    return x
