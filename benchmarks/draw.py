"""``specc draw`` of the ResNet-50 spec (whole process, SVG and HTML) vs ``specc validate`` of
the same spec (target: <= 2x), and Keras ``plot_model`` of Keras' own ResNet50 beside it where
keras, pydot and the graphviz ``dot`` binary are all installed (the ``bench`` extra brings
keras only: plot_model's pydot/graphviz are the dependencies users most often cannot install).

Run: ``python -m benchmarks.draw [--quick]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

from .common import Row, interleave, med, python, run_process, spread

ROOT = Path(__file__).resolve().parent.parent
RESNET50 = ROOT / "specs" / "resnet50.yaml"

_CLI = ("import sys; from specc.cli import main\n"
        "try: main(sys.argv[1:])\n"
        "except SystemExit as e: assert not e.code, e.code\n"
        "assert 'torch' not in sys.modules")


def draw_vs_validate(quick: bool = False) -> list[Row]:
    """Whole processes, interleaved: draw (svg, html) and validate of specs/resnet50.yaml."""
    n = 5 if quick else 11
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        validate = [python(), "-c", _CLI, "validate", str(RESNET50)]
        for fmt in ("svg", "html"):
            draw = [python(), "-c", _CLI, "draw", str(RESNET50), "-o", f"{tmp}/r50.{fmt}"]
            a, b = interleave(lambda d=draw: run_process(d), lambda: run_process(validate),
                              repeats=n, warmup=1)
            ra, rb = med(a), med(b)
            rows.append(Row(f"draw resnet50 -o .{fmt} (process) vs validate", ra, rb, ra / rb,
                            "<= 2", ra / rb <= 2, spread=f"{spread(a)} / {spread(b)}",
                            note="torch never imported"))
        rows.append(keras_plot_model(quick, tmp))
    return rows


def keras_plot_model(quick: bool, tmp: str) -> Row:
    """Keras 3 ``plot_model(ResNet50(weights=None), show_shapes=True)``, whole process."""
    missing = [m for m in ("keras", "pydot") if importlib.util.find_spec(m) is None]
    if shutil.which("dot") is None:
        missing.append("graphviz (dot)")
    name = "keras plot_model resnet50 (process)"
    if missing:
        return Row(name, None, None, None, "side by side", None,
                   note=f"peer not installed: {', '.join(missing)}")
    code = ("import sys, keras\nm = keras.applications.ResNet50(weights=None)\n"
            "keras.utils.plot_model(m, sys.argv[1], show_shapes=True)")
    keras_run = [python(), "-c", code, f"{tmp}/keras.png"]
    draw = [python(), "-c", _CLI, "draw", str(RESNET50), "-o", f"{tmp}/r50.svg", "--expand"]
    a, b = interleave(lambda: run_process(draw), lambda: run_process(keras_run),
                      repeats=3 if quick else 5, warmup=1)
    return Row("draw resnet50 --expand vs keras plot_model (process)", med(a), med(b),
               med(a) / med(b), "side by side", None, spread=f"{spread(a)} / {spread(b)}")


def main(argv: list[str] | None = None) -> None:
    from .report import print_table

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    print_table(draw_vs_validate(args.quick))


if __name__ == "__main__":
    main(sys.argv[1:])
