"""One process of a multi-process run, started by torchrun (``--nproc`` or multi-node)."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..runs.folder import RunLock

T = TypeVar("T")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m specc.cli.worker")
    parser.add_argument("spec", help="spec file, built-in name, or a run directory")
    parser.add_argument("--out", required=False,
                        help="the run folder (read on rank 0's node; the others write none)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--from-run", action="store_true",
                        help="spec is a run directory holding the resolved spec: start it")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier run in --out (started by hand with torchrun)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    import torch
    import torch.distributed as dist

    from ..assembled import load
    from ..errors import SpecError
    from ..train.api import _load, run_training
    from ..train.session import DistInfo, Interrupted
    from .app import report_error

    info = DistInfo(int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0")),
                    int(os.environ.get("LOCAL_RANK", "0")))
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    backend = "nccl" if use_cuda else "gloo"
    if use_cuda:
        torch.cuda.set_device(info.local_rank)
    dist.init_process_group(backend=backend)
    by_hand = "SPECC_RUN_LOCK_OWNER" not in os.environ  # torchrun run directly (multi-node)
    lock = None
    code = 0
    try:
        from_run = args.resume or args.from_run
        # a run's spec and rank 0's --set travel to the others: they need no copy of the run
        box: list[Any] = [agreed(info, lambda: (_run_spec(args.spec), args.overrides)
                                 if info.main and from_run else None)]
        dist.broadcast_object_list(box, src=0)
        spec = agreed(info, lambda: load(*box[0]) if from_run
                      else _load(args.spec, args.overrides))
        folder = agreed(info, lambda: _claim_folder(args, spec, info, by_hand))
        lock = folder[1] if folder else None
        box = [folder[0] if folder else None, socket.gethostname()]
        dist.broadcast_object_list(box, src=0)
        out, host = Path(box[0]), box[1]
        if not info.main and info.local_rank == 0 and not args.quiet:
            print(f"rank {info.rank}: rank 0 writes the run folder {out} (on host {host}); "
                  "this node writes none", file=sys.stderr)
        progress = "quiet" if args.quiet else "auto"
        run_training(spec, out, resume=args.resume, device="cuda" if use_cuda else "cpu",
                     progress=progress, dist=info)
    except SpecError as err:
        if info.main or info.local_rank == 0:  # every node's console shows why it stopped
            report_error(err)
        code = 2
    except Interrupted as exc:
        if info.main:
            print(str(exc), file=sys.stderr)
        code = 130
    finally:
        if lock is not None:
            lock.release()
        if dist.is_initialized():
            try:
                dist.barrier()  # nobody tears down gloo while a peer still talks to it
            except Exception:  # a peer already died: its own error is the one to report
                pass
            dist.destroy_process_group()
    return code


def _run_spec(run: str) -> dict[str, Any]:
    """The resolved spec that a run directory holds."""
    from ..runs.folder import read_resolved, resolve_run

    return read_resolved(resolve_run(run))


def _claim_folder(args: argparse.Namespace, spec: Any, info: Any,
                  by_hand: bool) -> tuple[str, RunLock | None] | None:
    """Rank 0's run folder (``None`` on the other ranks). When torchrun was started by hand,
    rank 0 also checks the folder and takes its lock, as ``specc train`` does before it
    starts the workers."""
    from ..runs.folder import RunLock, check_out, default_run_dir, resolve_run

    if not info.main:
        return None
    if args.out:
        path = Path(args.out)
    elif args.resume:
        path = resolve_run(args.spec)
    else:
        path = default_run_dir(spec.name)
    if not by_hand:
        return str(path), None
    if not (args.resume or args.from_run):
        check_out(path, overwrite=args.overwrite)
    lock = RunLock(path).acquire()
    return str(path), lock


def agreed(info: Any, fn: Callable[[], T]) -> T:
    """``fn()`` on every rank; a SpecError on any rank stops them all (rank 0 names the
    rank and its error), so no process waits forever in a collective call."""
    import torch.distributed as dist

    from ..errors import SpecError

    result: Any = None
    mine = None
    try:
        result = fn()
    except SpecError as err:
        mine = err
    errors: list[Any] = [None] * info.world
    dist.all_gather_object(errors, None if mine is None else str(mine))
    if mine is not None:
        raise mine
    for rank, text in enumerate(errors):
        if text is not None:
            raise SpecError(f"rank {rank} could not start: {text}")
    return result


if __name__ == "__main__":
    status = main()
    # Leave without running C++ static destructors: gloo's background threads can abort the
    # process at interpreter exit ("terminate called without an active exception") after a
    # run that finished and saved correctly. Everything is written and fsynced by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
