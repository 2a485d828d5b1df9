"""What the JSON Schema costs: ``specc schema`` as a whole process against ``specc validate``
of the ResNet-50 spec (interleaved, medians, bytecode cached as in ``benchmarks.validate``), the
schema's size in bytes as ``specc schema`` writes it, and the YAML language server's time to
first diagnostics on the ResNet-50 spec (the first open, which reads the schema, and the median
of later opens), driven by the test suite's LSP client.

``python -m benchmarks.schema [--quick]`` prints the rows; ``python -m benchmarks`` includes
them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from .common import Row, med, spread
from .validate import RESNET50, VALIDATE, _env, _run

SCHEMA = ["-c", "from specc.cli import main\nmain(['schema'])"]


def process_ratio(repeats: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp) / "pyc", None)
        for args in (SCHEMA, VALIDATE):  # warm-up: writes the bytecode caches
            _run(args, env)
        t: dict[str, list[float]] = {"schema": [], "validate": []}
        for i in range(repeats):
            order = [("schema", SCHEMA), ("validate", VALIDATE)]
            for name, args in order if i % 2 == 0 else order[::-1]:
                t[name].append(_run(args, env)[0])
    s, v = med(t["schema"]), med(t["validate"])
    return [Row("specc schema (process) vs specc validate resnet50 (process)", s, v, s / v,
                "<= 3", s / v <= 3, spread=f"{spread(t['schema'])} / {spread(t['validate'])}",
                note="every kind, regime, dataset and entry is imported and described")]


def size() -> Row:
    from specc.schema import json_schema

    n = len(json.dumps(json_schema(), indent=1).encode())
    return Row("schema size (specc schema output)", n, None, None, "<= 1 MB", n <= 1_000_000,
               unit="bytes", note="before issue 17: 1,003,224 bytes (every kind once per alias)")


def language_server(repeats: int) -> list[Row]:
    from specc.schema import json_schema
    from tests.schema.lsp import LanguageServer, find_server

    command, why = find_server()
    if command is None:
        return [Row("YAML language server: first diagnostics on resnet50", None, None, None,
                    "-", None, note=f"skipped: {why}")]
    text = RESNET50.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        schema = root / "specc.schema.json"
        schema.write_text(json.dumps(json_schema()))
        modeline = f"# yaml-language-server: $schema={schema.as_uri()}\n"
        ls = LanguageServer(command, root)
        try:
            times = []
            for i in range(repeats + 1):
                t0 = time.perf_counter()
                diagnostics = ls.open((root / f"resnet50_{i}.yaml").as_uri(), modeline + text)
                times.append(time.perf_counter() - t0)
                assert diagnostics == [], diagnostics
        finally:
            ls.close()
    first, later = times[0], times[1:]
    return [
        Row("YAML language server: first diagnostics on resnet50 (reads the schema)", first,
            None, None, "<= 3 s", first <= 3, note="yaml-language-server 1.19.2"),
        Row("YAML language server: diagnostics on resnet50, schema loaded", med(later), None,
            None, "<= 1 s", med(later) <= 1, spread=spread(later)),
    ]


def run(quick: bool = False) -> list[Row]:
    return [*process_ratio(5 if quick else 11), size(), *language_server(5 if quick else 15)]


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.schema")
    p.add_argument("--quick", action="store_true")
    from .report import print_table

    print_table(run(p.parse_args().quick))


if __name__ == "__main__":
    main()
