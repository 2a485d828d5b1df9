"""One process of a multi-process run, started by torchrun (``--nproc`` or multi-node)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m specc.cli.worker")
    parser.add_argument("spec", help="spec file, built-in name, or a run directory")
    parser.add_argument("--out", required=False)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--from-run", action="store_true",
                        help="spec is a run directory holding the resolved spec: start it")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    import torch
    import torch.distributed as dist

    from ..errors import SpecError
    from ..runs.folder import default_run_dir, load_spec, resolve_run
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
    code = 0
    try:
        if args.resume or args.from_run:
            spec = load_spec(resolve_run(args.spec), args.overrides)
        else:
            spec = _load(args.spec, args.overrides)
        out = [args.out or (str(default_run_dir(spec.name)) if info.main else None)]
        dist.broadcast_object_list(out, src=0)
        progress = "quiet" if args.quiet else "auto"
        run_training(spec, Path(out[0]), resume=args.resume, device="cuda" if use_cuda else "cpu",
                     progress=progress, dist=info)
    except SpecError as err:
        if info.main:
            report_error(err)
        code = 2
    except Interrupted as exc:
        if info.main:
            print(str(exc), file=sys.stderr)
        code = 130
    finally:
        if dist.is_initialized():
            try:
                dist.barrier()  # nobody tears down gloo while a peer still talks to it
            except Exception:  # a peer already died: its own error is the one to report
                pass
            dist.destroy_process_group()
    return code


if __name__ == "__main__":
    status = main()
    # Leave without running C++ static destructors: gloo's background threads can abort the
    # process at interpreter exit ("terminate called without an active exception") after a
    # run that finished and saved correctly. Everything is written and fsynced by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
