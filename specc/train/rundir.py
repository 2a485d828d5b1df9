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
Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path
from typing import Any

from ..errors import SpecError
from .files import atomic_write

RUN_FILES = ("spec.resolved.yaml", "metrics.csv", "split.json", "data.json", "summary.txt")


def default_run_dir(name: str, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(root) / name / stamp
    n = 1
    while path.exists():
        n += 1
        path = Path(root) / name / f"{stamp}-{n}"
    return path


def is_run(path: str | Path) -> bool:
    return (Path(path) / "spec.resolved.yaml").is_file()


class RunDir:
    """Writes one run's files (rank 0 only in multi-process runs)."""

    def __init__(self, path: str | Path) -> None:
        from .checkpoint import CheckpointStore

        self.path = Path(path)
        self.checkpoints = CheckpointStore(self.path / "checkpoints")
        self.rows: list[dict[str, Any]] = []
        self._tb: Any = None

    # -- creation ---------------------------------------------------------------------------
    def start(self, spec: Any, *, fresh: bool) -> None:
        """Create the folder and write the resolved spec; ``fresh`` clears an old run here."""
        self.path.mkdir(parents=True, exist_ok=True)
        if fresh:
            import shutil

            for name in RUN_FILES:
                (self.path / name).unlink(missing_ok=True)
            for sub in ("checkpoints", "tensorboard"):
                shutil.rmtree(self.path / sub, ignore_errors=True)
        self.write_spec(spec)

    def write_spec(self, spec: Any) -> None:
        import yaml

        doc = {"specc_version": spec.version, "hash": spec.hash}
        doc.update({k: v for k, v in spec.resolved.items() if k not in doc})
        atomic_write(self.path / "spec.resolved.yaml",
                     yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))

    def write_json(self, name: str, data: Any) -> None:
        atomic_write(self.path / name, json.dumps(data, indent=1, default=_jsonable) + "\n")

    # -- metrics ----------------------------------------------------------------------------
    def load_rows(self, upto_epoch: int) -> None:
        """Rows of an earlier session of this run, up to its last checkpointed epoch."""
        path = self.path / "metrics.csv"
        if not path.is_file():
            return
        with open(path, newline="") as fh:
            self.rows = [dict(r) for r in csv.DictReader(fh) if int(r["epoch"]) <= upto_epoch]

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
        atomic_write(self.path / "metrics.csv", buf.getvalue())
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
        atomic_write(self.path / "summary.txt", text.rstrip() + "\n")


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


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """metrics.csv of a run as a list of rows with numbers parsed."""
    f = Path(path) / "metrics.csv"
    if not f.is_file():
        return []
    with open(f, newline="") as fh:
        return [{k: _num(v) for k, v in r.items()} for r in csv.DictReader(fh)]


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
        runs = sorted(q.parent for q in p.glob("*/spec.resolved.yaml"))
        hint = f"the latest run under it is {runs[-1]}" if runs else \
            "a run directory holds spec.resolved.yaml (specc train writes it)"
        raise SpecError(f"'{path}' is not a run directory", hint=hint)
    return p


def load_spec(run: str | Path) -> Any:
    """The run's resolved spec, loaded again (without the run-only keys)."""
    import yaml

    from ..spec.spec import load

    p = resolve_run(run)
    doc = yaml.safe_load((p / "spec.resolved.yaml").read_text())
    for key in ("specc_version", "hash"):
        doc.pop(key, None)
    return load(doc)


def load_run(path: str | Path, checkpoint: str = "best") -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(Spec, state_dict, info) of a trained run; ``checkpoint`` best (falls back to last)
    or last. ``info`` holds the checkpoint tag, its epoch/step/metrics, the data record and
    the run directory."""
    p = resolve_run(path)
    from .checkpoint import CheckpointStore

    spec = load_spec(p)
    store = CheckpointStore(p / "checkpoints")
    tag = checkpoint if store.exists(checkpoint) else "last"
    state_dict, state = store.load(tag)
    data = json.loads((p / "data.json").read_text()) if (p / "data.json").is_file() else {}
    info = {"dir": p, "checkpoint": tag, "epoch": state.get("epoch"), "step": state.get("step"),
            "metrics": state.get("logs", {}), "data": data, "networks": state.get("networks")}
    return spec, state_dict, info
