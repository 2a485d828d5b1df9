"""Multi-process data-parallel training: launch through torch's elastic launcher (torchrun).

``specc train --nproc N`` starts ``python -m torch.distributed.run --standalone
--nproc-per-node N -m specc.cli.worker ...``. Each worker joins the process group (gloo on
CPU, NCCL on GPU), wraps the network in DistributedDataParallel and reads its shard of every
epoch through a DistributedSampler; rank 0 alone writes the run directory. Multi-node runs use
the launcher's own rendezvous options with the same worker module (see ``specc train --help``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import SpecError


class WorkersFailed(SpecError):
    """The workers exited with an error (they reported it themselves)."""


def launch(spec: Any, path: Path, *, overrides: list[str], resume: bool, device: str,
           quiet: bool, nproc: int, source: Any) -> None:
    """Run ``nproc`` workers on this machine and wait for them."""
    from ..assembled import Spec

    if isinstance(source, Spec) or isinstance(source, dict) or source is None:
        # the workers need a file: the resolved spec goes into the run directory first
        from ..runs.folder import RunDir

        if not resume:
            RunDir(path).start(spec, fresh=True)
        source = str(path)
        resume_flag = ["--resume"] if resume else ["--from-run"]
        if not resume:
            overrides = []  # already applied to the spec in the run directory
    else:
        resume_flag = ["--resume"] if resume else []
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={nproc}", "-m", "specc.cli.worker", str(source),
           "--out", str(path), "--device", device, *resume_flag]
    for o in overrides:
        cmd += ["--set", o]
    if quiet:
        cmd.append("--quiet")
    env = dict(os.environ)
    env["SPECC_RUN_LOCK_OWNER"] = str(os.getpid())  # the workers write under this run lock
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    env.setdefault("LOGLEVEL", "WARNING")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the workers handle Ctrl-C
    try:
        rc = subprocess.call(cmd, env=env)
    finally:
        signal.signal(signal.SIGINT, previous)
    if rc != 0:
        raise WorkersFailed(f"the {nproc} training processes failed (exit code {rc}); "
                            "their errors are above")
