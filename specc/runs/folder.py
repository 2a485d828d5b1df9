"""Run directories (DESIGN §6) and :func:`load_run`.

```
runs/<name>/<timestamp>/          (or the folder given with --out)
  spec.resolved.yaml   the fully expanded spec, with specc_version and hash
  metrics.csv          one row per epoch
  checkpoints/         last.* and best.* (see checkpoint.py)
  split.json           how the data was split (and the held-out indices)
  data.json            preprocessing to repeat at predict time, labels, vocabulary
  summary.txt          what happened, in words
  tensorboard/         event files, when tensorboard is installed
```
Every file is written atomically (:mod:`specc.fileio`). ``.specc.lock`` (pid and host) keeps
a second training out of a folder in use; ``--out`` refuses a non-empty folder that is not a
run, and replaces an earlier run only with ``--overwrite``. Readers (evaluate, predict,
export, plot) never write here and never follow a link out of the folder.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..fileio import atomic_write, check_regular, inside, read_text_bounded, safe_name

RUN_FILES = ("spec.resolved.yaml", "metrics.csv", "split.json", "data.json", "summary.txt")
LOCK = ".specc.lock"
RUN_FILE_LIMIT = 256 * 1024**2  # JSON/CSV of a run (SPECC_MAX_FILE_BYTES raises it)
MAX_JSON_DEPTH = 100


def default_run_dir(name: str, root: str | Path = "runs") -> Path:
    """``root/<name>/<timestamp>``, the name made one safe path component."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / safe_name(name)
    path = base / stamp
    n = 1
    while path.exists():
        n += 1
        path = base / f"{stamp}-{n}"
    if Path(root).resolve() not in path.resolve().parents:  # safe_name guarantees it
        raise SpecError(f"run folder name '{name}' leaves '{root}'")
    return path


def is_run(path: str | Path) -> bool:
    return (Path(path) / "spec.resolved.yaml").is_file()


def check_out(path: str | Path, *, overwrite: bool = False) -> Path:
    """Refuse ``--out`` targets whose files a new run would destroy: a non-empty folder that
    is not a run (always), an earlier run with checkpoints (unless ``overwrite``), a file."""
    p = Path(path)
    if p.is_symlink() or p.exists():
        if not p.is_dir():
            raise SpecError(f"--out '{path}' exists and is not a folder",
                            hint="give a new or empty folder for the run")
        RunLock(p).check_free(own_ok=True)  # a training running here is named first
        try:
            entries = [e for e in os.listdir(p) if e != LOCK]
        except OSError as exc:
            raise SpecError(f"cannot read the folder '{path}': {exc.strerror}") from None
        if entries and not is_run(p):
            raise SpecError(f"--out '{path}' is a non-empty folder that is not a specc run; "
                            "specc will not write into it (its files could be lost)",
                            hint="give a new or empty folder; --overwrite only replaces an "
                            "earlier specc run")
        if entries and not overwrite and _has_checkpoints(p):  # else: nothing trained to lose
            raise SpecError(f"--out '{path}' already holds a specc run",
                            hint=f"continue it with `specc train {path} --resume`, or replace "
                            "it (its checkpoints, metrics and summary) with --overwrite")
    return p


def _own_pids() -> set[int]:
    """This process and, in a worker of ``--nproc``, the launcher holding the run lock."""
    pids = {os.getpid()}
    owner = os.environ.get("SPECC_RUN_LOCK_OWNER", "")
    if owner.isdigit():
        pids.add(int(owner))
    return pids


def _has_checkpoints(run: Path) -> bool:
    try:
        return any((run / "checkpoints").iterdir())
    except OSError:
        return False


class RunLock:
    """``.specc.lock`` in a run folder while a training writes there: holds the pid and host.
    A second training gets an error naming the holder; a lock of a dead process on this
    host is taken over."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.file = self.path / LOCK
        self.held = False
        self.created = False
        self.me = {"pid": os.getpid(), "host": socket.gethostname(),
                   "started": time.strftime("%Y-%m-%d %H:%M:%S")}

    def acquire(self) -> RunLock:
        self.created = not (self.path.exists() or self.path.is_symlink())
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpecError(f"cannot create the run folder '{self.path}': "
                            f"{exc.strerror or exc}") from None
        for _ in range(3):
            try:
                tmp = self.path / f".{LOCK}.{os.getpid()}.tmp"
                tmp.write_text(json.dumps(self.me))
                try:
                    os.link(tmp, self.file)  # atomic: fails when a lock exists
                    self.held = True
                    return self
                except FileExistsError:
                    pass
                finally:
                    tmp.unlink(missing_ok=True)
            except OSError as exc:
                raise SpecError(f"cannot write the lock file in '{self.path}': "
                                f"{exc.strerror or exc}") from None
            self.check_free()
            self.file.unlink(missing_ok=True)  # stale: its process is gone
        raise SpecError(f"could not take the lock {self.file}")

    def check_free(self, own_ok: bool = False) -> None:
        """Raise the error naming the process that holds a live lock here, if one does
        (``own_ok``: not when this process holds it)."""
        holder = self._holder() if (self.file.exists() or self.file.is_symlink()) else None
        if own_ok and holder and holder.get("pid") in _own_pids() and \
                holder.get("host") == socket.gethostname():
            return
        if holder is not None and not _stale(holder):
            raise SpecError(
                f"run folder '{self.path}' is in use by another training (pid "
                f"{holder.get('pid')} on {holder.get('host')}, since {holder.get('started')})",
                hint=f"wait for it to finish or stop it; if that process is gone, delete "
                f"{self.file}")

    def _holder(self) -> dict[str, Any] | None:
        try:
            doc = json.loads(read_text_bounded(self.file, "lock file", 4096))
        except SpecError:
            return None if not self.file.exists() else {}
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def release(self) -> None:
        if self.held and self._holder() == self.me:
            self.file.unlink(missing_ok=True)
            if self.created:  # a run that wrote nothing leaves no empty folder behind
                try:
                    self.path.rmdir()
                except OSError:
                    pass
        self.held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _stale(holder: dict[str, Any]) -> bool:
    """A lock whose process no longer runs on this host (or that is unreadable)."""
    pid, host = holder.get("pid"), holder.get("host")
    if not isinstance(pid, int) or pid <= 0 or not isinstance(host, str):
        return True
    if host != socket.gethostname():
        return False  # cannot tell: keep it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    except OverflowError:
        return True
    return False


class RunDir:
    """Writes one run's files (rank 0 only in multi-process runs)."""

    def __init__(self, path: str | Path) -> None:
        from .checkpoint import CheckpointStore

        self.path = Path(path)
        self.checkpoints = CheckpointStore(self.path / "checkpoints", root=self.path)
        self.rows: list[dict[str, Any]] = []
        self._tb: Any = None

    # -- creation ---------------------------------------------------------------------------
    def start(self, spec: Any, *, fresh: bool) -> None:
        """Create the folder and write the resolved spec; ``fresh`` clears an old run here
        (never a folder that is not a run), else an interrupted checkpoint commit is finished."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpecError(f"cannot create the run folder '{self.path}': "
                            f"{exc.strerror or exc}") from None
        if fresh:
            import shutil

            check_out(self.path, overwrite=True)
            for name in RUN_FILES:
                (self.path / name).unlink(missing_ok=True)
            for sub in ("checkpoints", "tensorboard"):
                if (self.path / sub).is_symlink():  # a link is removed, never followed
                    (self.path / sub).unlink()
                shutil.rmtree(self.path / sub, ignore_errors=True)
        else:
            self.checkpoints.recover()
        self.write_spec(spec)

    def write_spec(self, spec: Any) -> None:
        import yaml

        doc = {"specc_version": spec.version, "hash": spec.hash}
        doc.update({k: v for k, v in spec.resolved.items() if k not in doc})
        self._write("spec.resolved.yaml", yaml.safe_dump(doc, sort_keys=False,
                                                         allow_unicode=True))

    def write_json(self, name: str, data: Any) -> None:
        self._write(name, json.dumps(data, indent=1, default=_jsonable) + "\n")

    def _write(self, name: str, text: str) -> None:
        """Write a run file (never through a link out of the run folder)."""
        inside(self.path, self.path / name, f"run file '{name}'")
        atomic_write(self.path / name, text, "run file", parents=True)

    # -- metrics ----------------------------------------------------------------------------
    def load_rows(self, upto_epoch: int) -> None:
        """Rows of an earlier session of this run, up to its last checkpointed epoch."""
        self.rows = [r for r in _metric_rows(self.path, raw=True) if r["epoch"] <= upto_epoch]

    def log_epoch(self, row: dict[str, Any]) -> None:
        self.rows = [r for r in self.rows if int(r["epoch"]) != row["epoch"]] + [row]
        columns: list[str] = []
        for r in self.rows:
            columns += [k for k in r if k not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in self.rows:
            writer.writerow({k: _fmt(v) for k, v in r.items()})
        self._write("metrics.csv", buf.getvalue())
        self._tensorboard(row)

    def _tensorboard(self, row: dict[str, Any]) -> None:
        if self._tb is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self._tb = False
                return
            self._tb = SummaryWriter(str(self.path / "tensorboard"))
        if self._tb is False:
            return
        for k, v in row.items():
            if k not in ("epoch", "step") and isinstance(v, int | float) and math.isfinite(v):
                self._tb.add_scalar(k, v, row["epoch"])
        self._tb.flush()

    def close(self) -> None:
        if self._tb:
            self._tb.close()

    def write_summary(self, text: str) -> None:
        self._write("summary.txt", text.rstrip() + "\n")


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    return v


def _jsonable(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return str(v)


def run_file(run: str | Path, name: str) -> Path | None:
    """``run/name`` when it exists: a regular file inside the run folder (a link out of the
    folder, a FIFO or a device is refused); None when it is absent."""
    p = Path(run) / name
    if not (p.exists() or p.is_symlink()):
        return None
    inside(run, p, f"run file '{name}'")
    check_regular(p, "run file", RUN_FILE_LIMIT)
    return p


def read_run_json(run: str | Path, name: str) -> Any:
    """A JSON file of a run (None when absent); malformed or deeply nested JSON is a
    SpecError naming the file."""
    p = run_file(run, name)
    if p is None:
        return None
    return parse_json(read_text_bounded(p, "run file", RUN_FILE_LIMIT), str(p))


def parse_json(text: str, where: str) -> Any:
    """JSON text with depth and number limits; errors name ``where``."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"invalid JSON: {exc.msg}", file=where, line=exc.lineno,
                        col=exc.colno) from None
    except (RecursionError, ValueError) as exc:  # ValueError: integers of > 4300 digits
        what = "nests too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise SpecError(f"unreadable JSON: {what}", file=where) from None
    if _depth(doc) > MAX_JSON_DEPTH:
        raise SpecError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels", file=where)
    return doc


def _depth(doc: Any) -> int:
    depth, level = 0, [doc]
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return depth
        nxt: list[Any] = []
        for v in level:
            if isinstance(v, dict):
                nxt.extend(v.values())
            elif isinstance(v, list):
                nxt.extend(v)
        level = nxt
    return depth


def read_data_record(run: str | Path) -> dict[str, Any]:
    """``data.json`` of a run (``{}`` when absent), its top-level structure checked."""
    doc = read_run_json(run, "data.json")
    if doc is None:
        return {}
    where = str(Path(run) / "data.json")
    if not isinstance(doc, dict):
        raise SpecError("data.json must hold a JSON object", file=where,
                        received=type(doc).__name__)
    kinds = {"preprocess": dict, "target_scale": dict, "classes": dict, "labels": list,
             "vocab": list, "input_targets": dict}
    for key, kind in kinds.items():
        v = doc.get(key)
        if v is not None and not isinstance(v, kind):
            raise SpecError(f"data.json: '{key}' must be a JSON {kind.__name__}", file=where,
                            path=(key,), received=v)
    for key in ("labels", "vocab"):
        if any(not isinstance(x, str) for x in doc.get(key) or []):
            raise SpecError(f"data.json: '{key}' must be a list of strings", file=where,
                            path=(key,))
    for name, n in (doc.get("classes") or {}).items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise SpecError("data.json: class counts must be positive integers", file=where,
                            path=("classes", name), received=n)
    for name, rec in (doc.get("preprocess") or {}).items():
        shape = rec.get("shape") if isinstance(rec, dict) else None
        if not isinstance(shape, list) or any(d is not None and (  # None: a dynamic axis
                not isinstance(d, int) or isinstance(d, bool) or d < 0) for d in shape) \
                or not isinstance(rec.get("dtype"), str):
            raise SpecError("data.json: each preprocess record needs 'shape' (a list of sizes) "
                            "and 'dtype'", file=where, path=("preprocess", name), received=rec)
    for name, rec in (doc.get("target_scale") or {}).items():
        ok = isinstance(rec, dict) and all(
            isinstance(rec.get(k), list) and all(isinstance(x, int | float) and
                                                 not isinstance(x, bool) for x in rec[k])
            for k in ("scale", "shift"))
        if not ok:
            raise SpecError("data.json: target_scale records need 'scale' and 'shift' lists of "
                            "numbers", file=where, path=("target_scale", name), received=rec)
    return doc


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """metrics.csv of a run as a list of rows with numbers parsed (a clear error when it
    is malformed)."""
    return _metric_rows(Path(path), raw=False)


def _metric_rows(run: Path, raw: bool) -> list[dict[str, Any]]:
    """Rows of ``run/metrics.csv``; ``epoch`` is an int >= 0 in each; other values parsed
    as numbers unless ``raw``."""
    p = run_file(run, "metrics.csv")
    if p is None:
        return []
    text = read_text_bounded(p, "run file", RUN_FILE_LIMIT)
    rows: list[dict[str, Any]] = []
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is not None and (
                "epoch" not in reader.fieldnames or len(set(reader.fieldnames)) !=
                len(reader.fieldnames) or any(not f for f in reader.fieldnames)):
            raise SpecError("metrics.csv needs a header with an 'epoch' column and distinct, "
                            "non-empty column names", file=str(p), line=1,
                            received=reader.fieldnames)
        for r in reader:
            line = reader.line_num
            if None in r or any(v is None for v in r.values()):
                raise SpecError("row does not have as many fields as the header", file=str(p),
                                line=line)
            epoch = _num(r["epoch"])
            if not isinstance(epoch, int) or epoch < 0:
                raise SpecError("'epoch' must be a non-negative integer", file=str(p),
                                line=line, received=r["epoch"])
            row: dict[str, Any] = dict(r) if raw else {k: _num(v) for k, v in r.items()}
            row["epoch"] = epoch
            rows.append(row)
    except csv.Error as exc:
        raise SpecError(f"malformed CSV: {exc}", file=str(p)) from None
    return rows


def _num(v: str) -> Any:
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def resolve_run(path: str | Path) -> Path:
    """A run directory, or a clear error."""
    p = Path(path)
    if not p.exists():
        raise SpecError(f"run directory '{path}' does not exist")
    if not is_run(p):
        runs = sorted(q.parent for q in p.glob("*/spec.resolved.yaml")) if p.is_dir() else []
        hint = f"the latest run under it is {runs[-1]}" if runs else \
            "a run directory holds spec.resolved.yaml (specc train writes it)"
        raise SpecError(f"'{path}' is not a run directory", hint=hint)
    return p


def read_resolved(run: str | Path) -> Any:
    """``spec.resolved.yaml`` of a run parsed by the spec loader (safe tags, bounded aliases,
    positions), without the run-only keys; a Source whose errors name the file."""
    from ..spec.loader import MAX_BYTES, parse_text

    p = resolve_run(run)
    f = run_file(p, "spec.resolved.yaml")
    assert f is not None
    src = parse_text(read_text_bounded(f, "run file", MAX_BYTES), file=str(f))
    if not isinstance(src.data, dict):
        raise SpecError("a run's spec.resolved.yaml must hold a mapping", file=str(f),
                        line=1, received=type(src.data).__name__)
    for key in ("specc_version", "hash"):
        src.data.pop(key, None)
    return src


def load_spec(run: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """The run's resolved spec, loaded again (without the run-only keys)."""
    from ..assembled import load

    return load(read_resolved(run), overrides)


def load_run(path: str | Path, checkpoint: str = "best",
             overrides: list[str] | tuple[str, ...] = ()) -> tuple[Any, dict[str, Any],
                                                                  dict[str, Any]]:
    """(Spec, state_dict, info) of a trained run; ``checkpoint`` best (falls back to last)
    or last; ``overrides`` apply to the run's spec. ``info`` holds the checkpoint tag, its
    epoch/step/metrics, the data record and the run directory. Reads only: nothing in the run
    folder is written."""
    p = resolve_run(path)
    from .checkpoint import CheckpointStore

    spec = load_spec(p, overrides)
    store = CheckpointStore(p / "checkpoints", root=p)
    tag = checkpoint if store.exists(checkpoint) else "last"
    state_dict, state = store.load(tag)
    data = read_data_record(p)
    info = {"dir": p, "checkpoint": tag, "epoch": state.get("epoch"), "step": state.get("step"),
            "metrics": state.get("logs", {}), "data": data, "networks": state.get("networks")}
    return spec, state_dict, info
