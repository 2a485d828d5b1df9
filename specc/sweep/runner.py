"""``specc sweep``: run a study's trials in this process or in N worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .study import Sweep


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_job(jobs: int) -> int:
    """Torch threads of each of ``jobs`` worker processes, so together they fill the cores
    once (not ``jobs`` times over)."""
    return max(1, cores() // jobs)


def run(sweep: Sweep, jobs: int) -> int:
    """Run trials until the study has ``sweep.total``; 0, or a worker's exit code (2: a user
    error it printed, 130: interrupted)."""
    from .study import enqueue_grid, load_study
    from .trial import work

    enqueue_grid(sweep, load_study(sweep))  # before any worker asks for a trial
    if jobs == 1:
        work(sweep)
        return 0
    threads = threads_per_job(jobs)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "SPECC_THREADS": str(threads)}
    cli = "from specc.cli import main; main(prog_name='specc')"
    procs = [subprocess.Popen([sys.executable, "-c", cli, "sweep-worker", str(sweep.out),
                               "--worker", str(i), "--threads", str(threads)], env=env)
             for i in range(jobs)]
    try:
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:  # the workers got the same Ctrl-C: let them save and stop
        for p in procs:
            p.wait()
        return 130
    return next((c for c in codes if c == 130), None) or max(codes)


def work_in(out: Path, worker: int, threads: int | None) -> int:
    """One worker process of ``--jobs N``: the sweep of folder ``out``."""
    from .study import load_sweep
    from .trial import work

    if threads:
        import torch

        torch.set_num_threads(threads)
    return work(load_sweep(out), worker)
