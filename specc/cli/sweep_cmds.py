"""Sweep commands: ``specc sweep SPEC`` and ``specc sweep --status DIR``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import SpecError
from .app import (
    EXIT_INTERRUPTED,
    handle_errors,
    load_plugins,
    main,
    plugin_option,
    print_table,
    say,
    set_option,
)

if TYPE_CHECKING:
    from ..sweep.study import Sweep


@main.command()
@click.argument("spec", required=False)
@set_option
@plugin_option
@click.option("--trials", type=click.IntRange(min=1), help="Override sweep.trials.")
@click.option("--jobs", type=int, default=1, show_default=True,
              help="Trials at once, each in its own process (threads split between them).")
@click.option("--storage", metavar="URL", help="Optuna database of the study (default "
              "sqlite:///OUT/study.db); several machines share one, e.g. postgresql://...")
@click.option("--out", type=click.Path(file_okay=False), help="Sweep folder (default "
              "sweeps/<name>); an earlier sweep's folder continues its study.")
@click.option("--study", "study_name", metavar="NAME", help="Study name (default: the spec's "
              "name).")
@click.option("--device", default="auto", show_default=True,
              type=click.Choice(["auto", "cpu", "cuda"]), help="Where trials train.")
@click.option("--status", "status_dir", metavar="DIR", type=click.Path(),
              help="Print the trials table of a sweep folder and stop.")
@handle_errors
def sweep(spec: str | None, overrides: tuple[str, ...], plugins: tuple[str, ...],
          trials: int | None, jobs: int, storage: str | None, out: str | None,
          study_name: str | None, device: str, status_dir: str | None) -> None:
    """Search hyperparameters of SPEC with Optuna (its `sweep:` section): trials are run
    folders under OUT/trials; a killed sweep continues when run again."""
    from ..sweep.runner import run
    from ..sweep.study import load_study, load_sweep, open_sweep
    from ..train.session import Interrupted

    load_plugins(plugins)
    if status_dir is not None:
        folder = Path(status_dir)
        current = load_sweep(folder)
        _report(current, load_study(current, heartbeat=False), write=False)
        return
    if not spec:
        raise SpecError("give a spec to sweep", hint="specc sweep examples/sweep/iris.yaml")
    if jobs < 1:
        raise SpecError("--jobs must be 1 or more", path=("--jobs",), received=jobs,
                        hint="--jobs 1 runs the trials one after another in this process")
    from ..assembled import load

    folder = Path(out) if out else Path("sweeps") / load(spec, overrides).name
    current = open_sweep(spec, folder, overrides=list(overrides), trials=trials,
                         storage=storage, study=study_name, device=device)
    say(f"sweep of {current.spec.name}: {current.total} trials, {current.direction} "
        f"{current.metric}; study '{current.study_name}' in {current.storage}")
    try:
        code = run(current, jobs)
    except (Interrupted, KeyboardInterrupt):
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        click.echo(f"interrupted: the running trial will be retried; continue with: "
                   f"specc sweep {spec} --out {folder}", err=True)
    if code:
        sys.exit(code)
    _report(current, load_study(current, heartbeat=False), write=True)


def _report(current: Sweep, study: Any, *, write: bool) -> None:
    from ..sweep.results import best_trial, trial_rows, write_best_spec, write_plots

    headers, rows = trial_rows(current, study)
    print_table(headers, rows)
    best = best_trial(study)
    if best is None:
        say("no finished trial yet")
        return
    say(("best", "green"), f": trial {best.number}, {current.metric} "
        f"{best.value:.6g}; run folder {best.user_attrs.get('run')}")
    if write:
        spec_file = write_best_spec(current, study)
        plots = write_plots(current, study)
        say(f"best spec: {spec_file}")
        if plots:
            say("plots: " + ", ".join(str(p) for p in plots))


@main.command("sweep-worker", hidden=True)
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--worker", type=int, default=0)
@click.option("--threads", type=int, default=None)
@handle_errors
def sweep_worker(folder: str, worker: int, threads: int | None) -> None:
    """One worker process of `specc sweep --jobs N` (not for direct use)."""
    from ..sweep.runner import work_in
    from ..train.session import Interrupted

    try:
        work_in(Path(folder), worker, threads)
    except Interrupted:
        sys.exit(EXIT_INTERRUPTED)
