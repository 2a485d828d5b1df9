"""A sweep folder and its Optuna study: storage, sampler, pruner, and trials that survive a
killed process (heartbeats, and retries of interrupted trials)."""

from __future__ import annotations

import json
import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SpecError
from .config import Param, SweepConfig, metric_and_direction, read_sweep

SWEEP_FILE = "sweep.json"
HEARTBEAT_S = 10  # a trial not heard from in GRACE_S is failed and retried by any worker
GRACE_S = 30
MAX_RETRY = 3  # retries of one interrupted trial


@dataclass
class Sweep:
    """A sweep folder: the spec swept, its ``sweep:`` section and where the study lives."""

    out: Path
    source: str  # the spec file (absolute) or a built-in name
    overrides: list[str]
    spec: Any
    cfg: SweepConfig
    params: list[Param]
    metric: str
    direction: str
    trials: int
    storage: str
    study_name: str
    device: str = "auto"

    def record(self) -> dict[str, Any]:
        return {"spec": self.source, "overrides": self.overrides, "storage": self.storage,
                "study": self.study_name, "trials": self.trials, "hash": self.spec.hash,
                "device": self.device}

    def trial_dir(self, number: int) -> Path:
        return self.out / "trials" / f"{number:04d}"

    def grid(self) -> list[dict[str, Any]]:
        """Every point of a grid sampler's space, in a seeded order."""
        import itertools
        import random

        points = [dict(zip([p.key for p in self.params], combo, strict=True))
                  for combo in itertools.product(*(p.grid() for p in self.params))]
        random.Random(self.cfg.seed).shuffle(points)
        return points

    @property
    def total(self) -> int:
        """Trials to run: ``trials``, at most the grid's size."""
        if self.cfg.sampler != "grid":
            return self.trials
        size = 1
        for p in self.params:
            size *= len(p.grid())
        return min(self.trials, size)


def open_sweep(spec_source: str, out: Path, *, overrides: list[str], trials: int | None,
               storage: str | None, study: str | None, device: str = "auto") -> Sweep:
    """A new sweep folder, or the one in ``out`` continued (same spec)."""
    from ..assembled import load

    spec = load(spec_source, overrides)
    cfg, params = read_sweep(spec)
    source = str(Path(spec_source).resolve()) if Path(spec_source).exists() else spec_source
    metric, direction = metric_and_direction(spec, cfg)
    old = read_record(out) if (out / SWEEP_FILE).exists() else None
    if old is None and out.exists() and any(out.iterdir()):
        raise SpecError(f"'{out}' is not empty and holds no sweep", path=("--out",),
                        hint="give a new or empty folder, or an earlier sweep to continue it")
    if old is not None and old["hash"] != spec.hash:
        raise SpecError(f"'{out}' holds a sweep of another spec (or other --set values)",
                        path=("--out",), hint="give a new --out folder for this spec")
    default_storage = f"sqlite:///{out.resolve() / 'study.db'}"
    sweep = Sweep(out, source, list(overrides), spec, cfg, params, metric, direction,
                  trials or cfg.trials, storage or (old or {}).get("storage") or default_storage,
                  study or (old or {}).get("study") or spec.name, device)
    out.mkdir(parents=True, exist_ok=True)
    (out / SWEEP_FILE).write_text(json.dumps(sweep.record(), indent=2) + "\n")
    return sweep


def read_record(out: Path) -> dict[str, Any]:
    path = out / SWEEP_FILE
    if not path.is_file():
        raise SpecError(f"'{out}' is not a sweep folder (no {SWEEP_FILE})",
                        hint="give the --out folder of a 'specc sweep' run")
    from ..runs.folder import parse_json

    record = parse_json(path.read_text(), str(path))
    if not isinstance(record, dict) or not {"spec", "storage", "study", "hash"} <= set(record):
        raise SpecError(f"{path} is damaged (keys spec, storage, study, hash expected)",
                        file=str(path))
    return record


def load_sweep(out: Path) -> Sweep:
    """The sweep of a folder written by :func:`open_sweep` (a worker process reads it)."""
    from ..assembled import load

    record = read_record(out)
    spec = load(record["spec"], record.get("overrides") or [])
    cfg, params = read_sweep(spec)
    metric, direction = metric_and_direction(spec, cfg)
    return Sweep(out, record["spec"], list(record.get("overrides") or []), spec, cfg, params,
                 metric, direction, int(record.get("trials") or cfg.trials), record["storage"],
                 record["study"], record.get("device", "auto"))


def open_storage(url: str, *, heartbeat: bool = True) -> Any:
    """Optuna's RDB storage at ``url`` (heartbeats on: a killed worker's trial is failed and
    retried); an unreachable database is a SpecError at ``--storage``."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # heartbeats are "experimental" in Optuna
            beat: dict[str, Any] = dict(
                heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                    max_retry=MAX_RETRY)) if heartbeat else {}
            return RDBStorage(url, engine_kwargs=engine, **beat)
    except Exception as exc:  # the driver's own error: bad URL, no server, no driver, no access
        text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"cannot open the study database {_shown(url)}: {text}",
                        path=("--storage",), hint="a URL Optuna reads: sqlite:///path/study.db"
                        ", postgresql://user:password@host/db (see README, Sweeps)") from None


def _shown(url: str) -> str:
    """``url`` without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL sqlalchemy reads: shown as given
        return url


def load_study(sweep: Sweep, *, heartbeat: bool = True, worker: int = 0) -> Any:
    """The sweep's study (created on first use) with its sampler and pruner."""
    import optuna

    storage = open_storage(sweep.storage, heartbeat=heartbeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(storage=storage, study_name=sweep.study_name,
                                    direction=sweep.direction, load_if_exists=True,
                                    pruner=_pruner(sweep.cfg.pruner))
    if study.direction.name.lower() != sweep.direction:
        raise SpecError(f"study '{sweep.study_name}' in {sweep.storage} already "
                        f"{study.direction.name.lower()}s", path=("sweep", "direction"),
                        received=sweep.direction, hint="give another --study name")
    # seeded by what the study holds, so a rerun or a second worker draws new points
    seed = (sweep.cfg.seed + 7919 * len(study.trials) + 104729 * worker) % 2**32
    study.sampler = _sampler(sweep.cfg.sampler, seed)
    return study


def _sampler(name: str, seed: int) -> Any:
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)  # grid: its points are enqueued


def _pruner(name: str) -> Any:
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def enqueue_grid(sweep: Sweep, study: Any) -> None:
    """The grid sampler: every point of the grid waits in the study, run in turn."""
    if sweep.cfg.sampler != "grid":
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for point in sweep.grid()[:sweep.total]:
            study.enqueue_trial(point, skip_if_exists=True)


def worker_tag() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def recover(study: Any) -> list[int]:
    """Fail the running trials of workers that are gone and queue each again (up to
    MAX_RETRY times): this machine's dead processes at once, other machines' after GRACE_S
    without a heartbeat. Returns the numbers of the trials failed here."""
    import optuna
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    host = socket.gethostname()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        tag = t.user_attrs.get("worker") or {}
        if tag.get("host") == host and not _alive(int(tag.get("pid", 0))):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    study.tell(t.number, state=TrialState.FAIL)
                except (optuna.exceptions.UpdateFinishedTrialError, ValueError, RuntimeError):
                    continue  # another worker failed it first
                retry(study, t.number, "interrupted (its worker process ended)")
            failed.append(t.number)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fail_stale_trials(study)
    return failed


def retry(study: Any, number: int, why: str) -> None:
    """Queue trial ``number`` (failed) again with the same values, noting ``why``."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    frozen = next(t for t in study.get_trials(deepcopy=True) if t.number == number)
    frozen.user_attrs = {"why": why}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)(study, frozen)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()
