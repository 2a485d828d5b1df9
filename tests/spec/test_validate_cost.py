"""Validation pays only for what a spec uses: the validators of unused kinds are never built,
and a plugin module that registers kinds does not make validation discover other groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SPEC = {"specc": 1, "inputs": {"x": [4]}, "layers": [{"dense": {"units": 3}}]}


def _run(code: str, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_only_the_params_of_used_kinds_are_built():
    got = _run(textwrap.dedent(f"""\
        import json, specc
        from specc.registry import current
        specc.load({SPEC!r})
        kinds = current().layers.items()
        print(json.dumps({{"built": [n for n, k in kinds if k.Params.__pydantic_complete__],
                          "all": len(kinds)}}))
        """))
    assert "dense" in got["built"]
    assert "conv2d" not in got["built"] and "batch_norm" not in got["built"]
    assert got["all"] > 40


def test_a_plugin_module_with_kinds_discovers_only_layers(tmp_path):
    (tmp_path / "one_kind_plugin.py").write_text(textwrap.dedent("""\
        from specc import register_layer
        from specc.layers.base import LayerKind, Params

        class P(Params):
            units: int = 1

        @register_layer
        class One(LayerKind):
            name = "one_kind"
            Params = P

            @classmethod
            def infer(cls, p, inputs):
                return inputs[0]

            @classmethod
            def build(cls, p, inputs):
                raise NotImplementedError
        """))
    spec = {**SPEC, "layers": [{"one_kind": {}}, {"dense": {"units": 3}}]}
    got = _run(textwrap.dedent(f"""\
        import json, sys, specc
        s = specc.load({spec!r})
        print(json.dumps({{"nodes": list(s.graph.nodes), "numpy": "numpy" in sys.modules,
                          "data": any(m.startswith("specc.data.") for m in sys.modules)}}))
        """), {"SPECC_PLUGINS": "one_kind_plugin",
               "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])})
    assert len(got["nodes"]) == 2
    assert not got["numpy"] and not got["data"]
