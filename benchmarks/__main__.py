"""Every benchmark in one run, one table: ``python -m benchmarks [--quick] [--json FILE]``.

Each comparison runs both sides interleaved in the same process after a warm-up and reports
medians, their spread and the ratio; see the modules for what each row measures. Peers that
are not installed (Keras 3 comes with the ``bench`` extra) show "peer not installed".
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable

from .common import Row
from .report import print_table


def sections(quick: bool) -> list[tuple[str, Callable[[], list[Row]]]]:
    from . import (
        accumulate,
        boltzmann,
        captioning,
        dbn,
        dcign,
        draw,
        elm,
        esn,
        gan,
        generate,
        hopfield,
        inference,
        lsm,
        markov_chain,
        memory,
        ntm,
        precision,
        rbm,
        regime_step,
        schema,
        som,
        svm,
        sweep,
        train_throughput,
        validate,
    )
    from . import compile as comp

    return [
        ("validate", lambda: validate.validate_cost(quick)),
        ("schema", lambda: schema.run(quick)),
        ("compile", lambda: comp.compile_scaling(quick)),
        ("draw", lambda: draw.draw_vs_validate(quick)),
        ("generated vs hand-written", lambda: comp.generated_vs_handwritten(quick)),
        ("training throughput", lambda: train_throughput.throughput(quick)),
        ("compiled training", lambda: comp.compiled_training(quick)),
        ("precision", lambda: precision.run(quick)),
        ("accumulate", lambda: accumulate.run(quick)),
        ("backprop regime step", lambda: regime_step.regime_vs_hand(quick)),
        ("inference", lambda: inference.run(quick)),
        ("peak memory", lambda: memory.memory(quick)),
        ("markov chain", lambda: markov_chain.run(quick)),
        ("extreme learning machine", lambda: elm.run(quick)),
        ("echo state network", lambda: esn.run(quick)),
        ("hopfield", lambda: hopfield.run(quick)),
        ("boltzmann machine", lambda: boltzmann.run(quick)),
        ("kohonen som", lambda: som.run(quick)),
        ("rbm", lambda: rbm.run(quick)),
        ("deep belief network", lambda: dbn.run(quick)),
        ("dcign", lambda: dcign.run(quick)),
        ("svm", lambda: svm.run(quick)),
        ("liquid state machine", lambda: lsm.run(quick)),
        ("image captioning", lambda: captioning.run(quick)),
        ("neural turing machine", lambda: ntm.run(quick)),
        ("gan", lambda: gan.run(quick)),
        ("generate", lambda: generate.run(quick)),
        ("sweep", lambda: sweep.run(quick)),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks")
    p.add_argument("--quick", action="store_true", help="a run under ~2 minutes")
    p.add_argument("--json", default="benchmarks/results.json", help="write rows here")
    p.add_argument("--only", help="comma-separated section names")
    args = p.parse_args(argv)
    wanted = set(args.only.split(",")) if args.only else None
    rows: list[Row] = []
    t0 = time.perf_counter()
    for name, fn in sections(args.quick):
        if wanted and name not in wanted:
            continue
        print(f"# {name} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(fn())
        except Exception as exc:  # one broken benchmark must not hide the others
            traceback.print_exc()
            rows.append(Row(name, None, None, None, "-", None, note=f"failed: {exc}"))
    print(f"\n{datetime.date.today()} · {platform.machine()} · {os.cpu_count()} cores · "
          f"{'quick' if args.quick else 'full'} run in {time.perf_counter() - t0:.0f} s")
    print_table(rows, args.json)
    print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
