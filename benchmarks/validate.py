"""What ``specc validate`` costs, and that the cost does not grow with the installed kinds.

``specc validate specs/resnet50.yaml`` as a whole process (every built-in kind and the
first-party plugin installed) against ``python -c "import torch"``, interleaved, medians; then
the same validation with 50 and 100 extra layer kinds installed: a generated plugin distribution
(``.dist-info`` with one ``specc.layers`` entry point per kind) on ``PYTHONPATH``, found by the
same metadata scan as any installed plugin. Bytecode is cached (a warm-up run writes it under a temporary
``PYTHONPYCACHEPREFIX``), as in an installed environment.

``python -m benchmarks.validate [--quick]`` prints the rows; ``python -m benchmarks`` includes
them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

from .common import Row, med, python, spread

ROOT = Path(__file__).resolve().parent.parent
RESNET50 = ROOT / "specs" / "resnet50.yaml"
PLUGIN = "specc_bench_kinds"
VALIDATE = ["-c", "import sys; from specc.cli import main\n"
            "try: main(['validate', sys.argv[1]])\n"
            "except SystemExit as e: assert not e.code\n"
            "assert 'torch' not in sys.modules\n"
            "assert not any(m.startswith('specc_bench') for m in sys.modules)", str(RESNET50)]
TORCH = ["-c", "import torch"]


def kinds_module(n: int) -> str:
    """Source of a plugin module defining ``n`` layer kinds, each with its own Params."""
    head = textwrap.dedent("""\
        from typing import Literal

        from pydantic import Field

        from specc.layers.base import LayerKind, Params
        """)
    kind = textwrap.dedent("""\


        class P{i}(Params):
            units: int = Field(8, ge=1, description="Output width.")
            rate: float = Field(0.5, ge=0.0, le=1.0)
            mode: Literal["a", "b", "c"] = "a"
            bias: bool = True


        class Kind{i}(LayerKind):
            \"\"\"Benchmark kind {i}.\"\"\"

            name = "bench_kind_{i}"
            Params = P{i}

            @classmethod
            def infer(cls, p, inputs):
                return inputs[0]

            @classmethod
            def build(cls, p, inputs):
                import torch

                return torch.nn.Identity()  # a pass-through kind
        """)
    return head + "".join(kind.format(i=i) for i in range(n))


def install_kinds(site: Path, n: int) -> None:
    """Write an installed distribution providing ``n`` layer kinds into folder ``site``."""
    site.mkdir(parents=True)
    module = f"{PLUGIN}{n}"
    (site / f"{module}.py").write_text(kinds_module(n))
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[specc.layers]\n" + "".join(
        f"bench_kind_{i} = {module}:Kind{i}\n" for i in range(n)))


def _env(cache: Path, site: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env.pop("SPECC_PLUGINS", None)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH", "")]))
    return env


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([python(), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        raise RuntimeError(f"{args[:2]} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def measure(repeats: int, counts: tuple[int, ...] = (0, 50, 100)) -> dict[str, list[tuple]]:
    """Interleaved runs: 'torch' and 'validate+N' for each N in ``counts``."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "pyc"
        for n in counts:
            if n:
                install_kinds(Path(tmp) / f"site{n}", n)
        cases = {"torch": (TORCH, _env(cache, None))}
        cases.update({f"validate+{n}": (VALIDATE, _env(cache, Path(tmp) / f"site{n}" if n
                                                        else None))
                      for n in counts})
        for args, env in cases.values():  # warm-up: writes the bytecode caches
            _run(args, env)
        out: dict[str, list[tuple]] = {k: [] for k in cases}
        names = list(cases)
        for i in range(repeats):
            for name in (names if i % 2 == 0 else names[::-1]):
                out[name].append(_run(*cases[name]))
        return out


def validate_cost(quick: bool = False) -> list[Row]:
    """Wall-clock rows (the targets) and CPU rows (steadier on a loaded machine)."""
    runs = measure(5 if quick else 11)
    rows = []
    for what, at in (("", 0), ("CPU ", 1)):
        t = {k: [r[at] for r in v] for k, v in runs.items()}
        v0, torch = med(t["validate+0"]), med(t["torch"])
        rows += [
            Row(f"{what}validate resnet50 (process) vs import torch", v0, torch, v0 / torch,
                "<= 0.15", v0 / torch <= 0.15,
                spread=f"{spread(t['validate+0'])} / {spread(t['torch'])}",
                note="torch never imported"),
            Row(f"{what}validate resnet50 (process), absolute", v0, None, None, "<= 0.25 s",
                v0 <= 0.25, spread=spread(t["validate+0"])),
        ]
        for n in (50, 100):
            vn = med(t[f"validate+{n}"])
            rows.append(Row(f"{what}validate resnet50, {n} more kinds installed, vs none", vn, v0,
                            vn / v0, "<= 1.1", vn / v0 <= 1.1,
                            spread=spread(t[f"validate+{n}"])))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.validate")
    p.add_argument("--quick", action="store_true")
    from .report import print_table

    print_table(validate_cost(p.parse_args().quick))


if __name__ == "__main__":
    main()
