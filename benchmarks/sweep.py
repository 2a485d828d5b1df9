"""Sweeps: what ``specc sweep`` costs over the trainings it runs, and what pruning saves.

    OMP_NUM_THREADS=1 python -m benchmarks.sweep [--quick]

Overhead: a 20-trial sweep of examples/sweep/iris.yaml (random sampler, no pruner, 10 epochs a
trial) as one ``specc sweep`` process, against the same 20 trainings (each trial's values as
``--set``) run one after another with ``specc train``, each its own process as a user would
run them. Wall time and CPU seconds (user + system of the child processes) of both; then the
same sweep with ``--jobs 2`` (each worker one thread).

Pruning: 20 trials over a learning-rate range with many bad rates (log-uniform 1e-5 .. 1),
the median pruner against none, same sampler seed: epochs trained in all, and the best
value each sweep found.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import Row, fmt_seconds

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "sweep" / "iris.yaml"
CLI = "from specc.cli import main; main(prog_name='specc')"


def _run(args: list[str], threads: int = 1) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``specc ARGS`` in a child process."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", CLI, *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _trials(out: Path) -> list[Any]:
    from specc.sweep.study import load_study, load_sweep

    return load_study(load_sweep(out), heartbeat=False).trials


def overhead(trials: int, tmp: Path, jobs: bool = True) -> list[Row]:
    sets = ["--set", "sweep.pruner=none", "--set", "sweep.sampler=random"]
    sweep_wall, sweep_cpu = _run(["sweep", str(SPEC), "--out", str(tmp / "sweep"),
                                  "--trials", str(trials), *sets])
    done = _trials(tmp / "sweep")
    seq_wall = seq_cpu = 0.0
    for t in done:
        values = [f"{k}={json.dumps(v)}" for k, v in t.params.items()]
        args = ["train", str(SPEC), "--out", str(tmp / "train" / str(t.number)), "--quiet"]
        wall, cpu = _run(args + [x for v in values for x in ("--set", v)])
        seq_wall, seq_cpu = seq_wall + wall, seq_cpu + cpu
    in_trials = sum(t.user_attrs["seconds"] for t in done)
    note = (f"{trials} trials; CPU {sweep_cpu:.1f} s vs {seq_cpu:.1f} s "
            f"(ratio {sweep_cpu / seq_cpu:.2f}); time inside the trials "
            f"{in_trials:.1f} s of the sweep's {sweep_wall:.1f} s")
    rows = [Row(f"sweep {trials} trials --jobs 1 vs {trials} x specc train", sweep_wall,
                seq_wall, sweep_wall / seq_wall, "<= 1.05", sweep_wall / seq_wall <= 1.05,
                note=note)]
    if jobs:
        jobs_wall, jobs_cpu = _run(["sweep", str(SPEC), "--out", str(tmp / "jobs2"),
                                    "--trials", str(trials), "--jobs", "2", *sets])
        rows.append(Row(f"sweep {trials} trials --jobs 2 vs --jobs 1", jobs_wall, sweep_wall,
                        jobs_wall / sweep_wall, "report", None,
                        note=f"{os.cpu_count()} cores; CPU {jobs_cpu:.1f} s"))
    return rows


def pruning(trials: int, tmp: Path) -> list[Row]:
    sets = ["--set", "sweep.sampler=random", "--set",
            'sweep.space={"train.optimizer.adam.lr": {"log_uniform": [1.0e-5, 1.0]}}']
    results = {}
    for pruner in ("median", "none"):
        out = tmp / f"prune_{pruner}"
        wall, _ = _run(["sweep", str(SPEC), "--out", str(out), "--trials", str(trials),
                        "--set", f"sweep.pruner={pruner}", *sets])
        done = _trials(out)
        epochs = sum(t.user_attrs.get("epochs", 0) for t in done)
        best = min(t.value for t in done if t.value is not None)
        results[pruner] = (wall, epochs, best, sum(t.state.name == "PRUNED" for t in done))
    (pw, pe, pb, pruned), (nw, ne, nb, _) = results["median"], results["none"]
    return [Row(f"pruning: epochs run, median pruner vs none ({trials} trials)", pe, ne,
                pe / ne, "report", None, unit="epochs",
                note=f"{pruned} trials pruned; best val_loss {pb:.4g} vs {nb:.4g}; "
                     f"wall {fmt_seconds(pw)} vs {fmt_seconds(nw)}")]


def run(quick: bool = False, part: str = "all") -> list[Row]:
    trials = 5 if quick else 20
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if part in ("all", "overhead", "overhead-no-jobs"):
            rows += overhead(trials, Path(tmp), jobs=part != "overhead-no-jobs")
        if part in ("all", "pruning"):
            rows += pruning(trials, Path(tmp))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sweep")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--part", default="all",
                   choices=["all", "overhead", "overhead-no-jobs", "pruning"])
    args = p.parse_args()
    for row in run(args.quick, args.part):
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
        print(f"{row.benchmark}: {row.specc:.4g} vs {row.peer:.4g} {row.unit} "
              f"(ratio {ratio}, target {row.target}); {row.note}")


if __name__ == "__main__":
    main()
