"""What a sweep leaves to look at: the trials table, the best trial's spec and PNG plots."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from .study import Sweep


def trial_rows(sweep: Sweep, study: Any) -> tuple[list[str], list[list[str]]]:
    """Headers and one row per trial: number, state, the metric, each swept value, epochs
    run, seconds, and a note (the pruner's, the error of an invalid value, a retry)."""
    keys = [p.key for p in sweep.params]
    headers = ["trial", "state", sweep.metric, *keys, "epochs", "time", "note"]
    rows = []
    for t in study.get_trials(deepcopy=False):
        shown = {p.key: _value(p.value_of(t.params[p.key]) if p.kind == "choice" else
                               t.params[p.key]) for p in sweep.params if p.key in t.params}
        seconds = t.user_attrs.get("seconds")
        rows.append([str(t.number), t.state.name.lower(),
                     "" if t.value is None else f"{t.value:.6g}",
                     *(shown.get(k, "") for k in keys),
                     str(t.user_attrs.get("epochs", "")),
                     "" if seconds is None else f"{seconds:.1f}s", _note(t)])
    return headers, rows


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return v if isinstance(v, str) else json.dumps(v)


def _note(t: Any) -> str:
    if t.user_attrs.get("error"):
        return t.user_attrs["error"].splitlines()[0]
    parts = [t.user_attrs.get("note") or t.user_attrs.get("why") or ""]
    if "failed_trial" in t.system_attrs:
        parts.append(f"retry of trial {t.system_attrs['failed_trial']}")
    return "; ".join(p for p in parts if p)


def best_trial(study: Any) -> Any:
    """The best finished trial, or None before the first."""
    try:
        return study.best_trial
    except ValueError:
        return None


def write_best_spec(sweep: Sweep, study: Any) -> Path | None:
    """``best.yaml``: the swept spec with the best trial's values written in (its ``sweep``
    section left out): a complete spec that ``specc train`` takes as it is."""
    import yaml

    from ..spec.resolve import apply_overrides

    best = best_trial(study)
    if best is None:
        return None
    sets = [f"{p.key}={json.dumps(p.value_of(best.params[p.key]) if p.kind == 'choice' else best.params[p.key])}"
            for p in sweep.params]
    data = apply_overrides(sweep.spec.source.data, [*sweep.overrides, *sets])
    data = {k: v for k, v in data.items() if k != "sweep"}
    head = (f"# best trial {best.number} of sweep {sweep.out} ({sweep.metric} "
            f"{best.value:.6g}); its run folder: {best.user_attrs.get('run', '?')}\n")
    path = sweep.out / "best.yaml"
    path.write_text(head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                                         default_flow_style=None, width=100))
    return path


def write_plots(sweep: Sweep, study: Any) -> list[Path]:
    """PNGs in the sweep folder: optimisation history, parameter importances (two finished
    trials or more) and a slice plot per parameter. Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as oplt

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    plots = {"history.png": oplt.plot_optimization_history, "slice.png": oplt.plot_slice}
    if len(done) >= 2 and len(sweep.params) >= 1:
        plots["importances.png"] = oplt.plot_param_importances
    if len(sweep.params) >= 2:
        plots["parallel.png"] = oplt.plot_parallel_coordinate
    written = []
    if not done:
        return written
    for name, plot in plots.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's matplotlib plots are "experimental"
            try:
                ax = plot(study, target_name=sweep.metric)
            except (ValueError, RuntimeError, ZeroDivisionError):  # too few distinct trials
                continue
            fig = (ax.flat[0] if hasattr(ax, "flat") else ax).get_figure()
            wide = name == "slice.png" and len(sweep.params) > 1
            fig.set_size_inches(3.2 * len(sweep.params) + 1.5 if wide else 7, 4.5)
            path = sweep.out / name
            fig.savefig(path, dpi=72, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written
