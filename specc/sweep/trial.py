"""Running trials: each an ordinary run folder trained by :func:`specc.train.api.train`, its
epochs reported to the pruner; a worker runs trials until the study has enough."""

from __future__ import annotations

import fcntl
import json
import math
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import SpecError
from ..train.progress import Progress
from ..train.session import Interrupted
from .config import Param
from .study import Sweep, load_study, recover, retry, worker_tag


class Pruned(Interrupted):
    """The pruner stopped a trial after an epoch (the run's summary says so)."""


class MetricMissing(SpecError):
    """The regime did not log the swept metric: the sweep itself is wrong, not the trial."""


class TrialProgress(Progress):
    """Progress of a trial: quiet, but each epoch's metric goes to the pruner."""

    def __init__(self, sweep: Sweep, trial: Any) -> None:
        super().__init__("quiet")
        self.sweep, self.trial, self.epochs = sweep, trial, 0

    def end_epoch(self, epoch: int, logs: dict[str, Any]) -> None:
        self.epochs += 1  # counted over the phases of a composite regime
        key = self.sweep.metric
        if key not in logs:
            raise MetricMissing(f"the regime does not log '{key}'", path=("sweep", "metric"),
                                hint="it logs: " + ", ".join(logs))
        value = float(logs[key])
        if not math.isfinite(value):
            return
        self.trial.report(value, self.epochs)
        if self.trial.should_prune():
            raise Pruned(f"pruned by the sweep after epoch {self.epochs} "
                         f"({key} {value:.4g})")


def suggest(trial: Any, p: Param) -> Any:
    """The trial's value of one dimension (a spec value)."""
    low, high = p.values[0], p.values[-1]
    if p.kind == "choice":
        return p.value_of(trial.suggest_categorical(p.key, p.labels()))
    if p.kind in ("int", "log_int"):
        return trial.suggest_int(p.key, low, high, log=p.kind == "log_int")
    return trial.suggest_float(p.key, float(low), float(high), log=p.kind == "log_uniform")


def run_trial(sweep: Sweep, trial: Any) -> tuple[str, float | None]:
    """Train one trial; (state, value): ``complete`` with the best epoch's metric, or
    ``pruned`` (by the pruner, or a value that makes the spec invalid, its error recorded)."""
    from ..assembled import load
    from ..runs.folder import read_metrics
    from ..train.api import train

    values = {p.key: suggest(trial, p) for p in sweep.params}
    folder = sweep.trial_dir(trial.number)
    trial.set_user_attr("run", str(folder))
    overrides = [*sweep.overrides, *(f"{k}={json.dumps(v)}" for k, v in values.items())]
    progress = TrialProgress(sweep, trial)
    t0 = time.perf_counter()
    try:
        spec = load(sweep.spec.source, overrides)
        train(spec, out=folder, progress=progress, device=sweep.device, overwrite=True)
    except Pruned as exc:
        trial.set_user_attr("note", str(exc))
        return _done(trial, progress, t0, "pruned", None)
    except MetricMissing:
        raise
    except SpecError as err:
        trial.set_user_attr("error", err.render(excerpts=False)[:2000])
        return _done(trial, progress, t0, "pruned", None)
    column = [row.get(sweep.metric) for row in read_metrics(folder)]
    finite = [float(v) for v in column if isinstance(v, int | float) and math.isfinite(v)]
    if not finite:
        trial.set_user_attr("error", f"{sweep.metric} was never a finite number")
        return _done(trial, progress, t0, "pruned", None)
    best = max(finite) if sweep.direction == "maximize" else min(finite)
    return _done(trial, progress, t0, "complete", best)


def _done(trial: Any, progress: TrialProgress, t0: float, state: str,
          value: float | None) -> tuple[str, float | None]:
    trial.set_user_attr("epochs", progress.epochs)
    trial.set_user_attr("seconds", round(time.perf_counter() - t0, 3))
    return state, value


@contextmanager
def _ask_lock(sweep: Sweep) -> Iterator[None]:
    """One worker of this folder at a time counts the trials and asks for the next."""
    with open(sweep.out / ".ask.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _next_trial(sweep: Sweep, study: Any) -> Any:
    from optuna.trial import TrialState

    with _ask_lock(sweep):
        recover(study)
        counted = study.get_trials(deepcopy=False, states=(
            TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING))
        if len(counted) >= sweep.total:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = study.ask()
        trial.set_user_attr("worker", worker_tag())
        return trial


def work(sweep: Sweep, worker: int = 0) -> int:
    """Run trials until the study holds ``sweep.total`` finished ones; returns how many this
    worker ran. Ctrl-C fails the running trial and queues it again (a rerun retries it)."""
    from optuna.storages._heartbeat import get_heartbeat_thread
    from optuna.trial import TrialState

    study = load_study(sweep, worker=worker)
    ran = 0
    while (trial := _next_trial(sweep, study)) is not None:
        with get_heartbeat_thread(trial._trial_id, study._storage):
            try:
                state, value = run_trial(sweep, trial)
            except (Interrupted, KeyboardInterrupt):
                _tell(study, trial, TrialState.FAIL)
                retry(study, trial.number, "interrupted")
                raise
            except MetricMissing as err:
                trial.set_user_attr("error", err.issues[0].message)
                _tell(study, trial, TrialState.FAIL)
                raise sweep.spec.source.error(err) from None
            except BaseException as exc:
                trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:2000])
                _tell(study, trial, TrialState.FAIL)
                raise
        _tell(study, trial, TrialState.COMPLETE if state == "complete" else TrialState.PRUNED,
              value)
        ran += 1
    return ran


def _tell(study: Any, trial: Any, state: Any, value: float | None = None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.tell(trial, value, state=state)
