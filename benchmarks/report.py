"""The benchmark table (rich when available) and its JSON form."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .common import Row, fmt_seconds


def fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit in ("s", "s/node"):
        return fmt_seconds(v) + ("/node" if unit == "s/node" else "")
    if v and abs(v) < 0.1:  # small figures (an NRMSE of 1.8e-05) keep three digits
        return f"{v:.3g} {unit}"
    return f"{v:,.1f} {unit}"


def table_lines(rows: list[Row]) -> list[str]:
    head = ("benchmark", "specc", "peer", "ratio", "target", "met", "spread")
    body = [(r.benchmark, fmt_value(r.specc, r.unit), fmt_value(r.peer, r.unit),
             "-" if r.ratio is None else f"{r.ratio:.3f}", r.target,
             {True: "yes", False: "NO", None: "-"}[r.met], r.spread or r.note) for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=False)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + " |" for row in body]
    return out


def print_table(rows: list[Row], json_path: str | Path | None = None) -> None:
    print("\n".join(table_lines(rows)))
    if json_path:
        Path(json_path).write_text(json.dumps([r.as_dict() for r in rows], indent=1))


def cli(run: Callable[[bool], list[Row]], argv: list[str] | None = None) -> None:
    """The command line of a benchmark module: ``--quick``, ``--json FILE``; prints the rows
    ``run(quick)`` measures."""
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", help="also write the rows as JSON here")
    args = p.parse_args(argv)
    print_table(run(args.quick), args.json)
