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
                import torch

                return torch.nn.Identity()  # a pass-through kind
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


def test_validation_imports_only_the_modules_of_the_kinds_used():
    got = _run(textwrap.dedent(f"""\
        import json, sys, specc
        specc.load({SPEC!r})
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("specc.layers."))))
        """))
    assert "specc.layers.dense" in got
    assert "specc.layers.conv" not in got and "specc.layers.recurrent" not in got


KIND = """
from specc.layers.base import LayerKind, Params

class P(Params):
    units: int = 1

class {cls}(LayerKind):
    name = "{name}"
    aliases = {aliases!r}
    Params = P

    @classmethod
    def infer(cls, p, inputs):
        return inputs[0]

    @classmethod
    def build(cls, p, inputs):
        import torch

        return torch.nn.Identity()  # a pass-through kind
"""


def _dist(root, name: str, kinds: dict[str, tuple[str, ...]]) -> None:
    """An installed distribution ``name`` whose module ``name`` defines ``kinds``."""
    module = name.replace("-", "_")
    (root / f"{module}.py").write_text("".join(
        KIND.format(cls=k.title().replace("_", ""), name=k, aliases=a) for k, a in kinds.items()))
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[specc.layers]\n" + "".join(
        f"{k} = {module}:{k.title().replace('_', '')}\n" for k in kinds))


def test_a_lookup_imports_the_entry_of_that_name_and_keeps_every_check(tmp_path, monkeypatch):
    """Entry points load on lookup by name; two plugins claiming one name are still reported,
    an alias, a listing and an unknown name (with suggestions) load the whole group."""
    import importlib

    from specc.registry import isolated

    _dist(tmp_path, "alpha-kinds", {"twin": ("Twin",)})
    _dist(tmp_path, "beta-kinds", {"twin": ()})
    _dist(tmp_path, "gamma-kinds", {"lazy_kind": ("LazyKind",)})
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        with isolated(discover=True) as regs:
            twin = regs.layers.get("twin")
            assert twin.__module__ == "alpha_kinds"  # plugins in name order: alpha wins
            assert "beta_kinds" in sys.modules and "gamma_kinds" not in sys.modules
            assert "duplicate layer name 'twin'" in regs.plugins["beta-kinds"].errors[0]
            assert regs.layers.get("LazyKind").name == "lazy_kind"  # an alias: all loaded
            assert "gamma_kinds" in sys.modules
            err = regs.layers.unknown("lazy_knd")
            assert err.issues[0].hint == "did you mean 'lazy_kind'?"
            assert {"twin", "lazy_kind", "dense", "conv2d"} <= set(regs.layers.names())
    finally:
        for module in ("alpha_kinds", "beta_kinds", "gamma_kinds"):
            sys.modules.pop(module, None)


def test_installed_kinds_a_spec_does_not_use_are_never_imported(tmp_path):
    """Blocks included: a block name is checked against the kind names without importing."""
    _dist(tmp_path, "many-kinds", {f"kind_{i}": (f"Kind{i}",) for i in range(20)})
    spec = {**SPEC, "blocks": {"pair": {"inputs": ["a"], "layers": [{"relu": {}}]}},
            "layers": [{"pair": {}}, {"dense": {"units": 3}}]}
    got = _run(textwrap.dedent(f"""\
        import json, sys, specc
        specc.load({spec!r})
        try:
            specc.load({{**{spec!r}, "blocks": {{"kind_7": {spec['blocks']['pair']!r}}}}})
        except specc.SpecError as err:
            error = str(err)
        print(json.dumps({{"imported": "many_kinds" in sys.modules, "error": error}}))
        """), {"PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])})
    assert not got["imported"]
    assert "block name 'kind_7' shadows the layer kind of that name" in got["error"]


def test_validate_imports_only_the_core_commands(tmp_path):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(SPEC))
    got = _run(textwrap.dedent(f"""\
        import json, sys
        from specc.cli import main
        try:
            main(["validate", {str(path)!r}])
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("specc.cli."))))
        """))
    assert got == ["specc.cli.app", "specc.cli.core_cmds"]


def test_every_command_is_found_in_the_module_named_for_it():
    """A command module missing from COMMAND_MODULES would make its commands invisible."""
    import importlib
    from pathlib import Path

    import specc.cli
    from specc.cli.app import COMMAND_MODULES, load_commands, main

    modules = sorted(f.stem for f in Path(specc.cli.__file__).parent.glob("*_cmds.py"))
    assert sorted(set(COMMAND_MODULES.values())) == modules
    for module in modules:
        importlib.import_module(f"specc.cli.{module}")
    load_commands()
    assert {name: cmd.callback.__module__.rsplit(".", 1)[1]
            for name, cmd in main.commands.items()} == COMMAND_MODULES


def test_pydantic_plugins_are_still_found_when_installed(tmp_path):
    """The registry's scan spares pydantic its own only when no pydantic plugin is installed."""
    (tmp_path / "pyd_plugin.py").write_text("class Plugin:\n    def new_schema_validator(self, *a):"
                                            "\n        return None, None, None\n\nplugin = Plugin()\n")
    info = tmp_path / "pyd_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pyd-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pydantic]\npyd = pyd_plugin:plugin\n")
    code = textwrap.dedent(f"""\
        import json, specc
        from pydantic.plugin import _loader
        specc.load({SPEC!r})
        print(json.dumps(sorted(_loader._plugins)))
        """)
    assert _run(code) == []
    assert _run(code, {"PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}) \
        == ["pyd_plugin:plugin"]


def _on_a_terminal(code: str, env: dict[str, str]) -> str:
    primary, secondary = os.openpty()
    try:
        subprocess.run([sys.executable, "-c", code], stdout=secondary, check=True,
                       env={**os.environ, "TERM": "xterm", **env})
        return os.read(primary, 4096).decode()
    finally:
        os.close(primary)
        os.close(secondary)


def test_a_styled_line_on_a_terminal_does_not_import_rich():
    code = ("import sys\nfrom specc.cli.app import say\n"
            "say(('ok', 'green'), ' [/x] ', ('dim', 'dim'), ('!', 'bold red'))\n"
            "print('rich' in sys.modules)")
    assert _on_a_terminal(code, {}) == \
        "\x1b[32mok\x1b[0m [/x] \x1b[2mdim\x1b[0m\x1b[31m\x1b[1m!\x1b[0m\r\nFalse\r\n"
    assert _on_a_terminal(code, {"NO_COLOR": "1"}) == \
        "ok [/x] \x1b[2mdim\x1b[0m\x1b[1m!\x1b[0m\r\nFalse\r\n"
    assert _on_a_terminal(code, {"TERM": "dumb"}) == "ok [/x] dim!\r\nFalse\r\n"


def test_a_spec_error_is_reported_without_rich(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**SPEC, "layers": [{"dense": {"units": 0}}]}))
    code = textwrap.dedent(f"""\
        import json, sys
        from specc.cli import main
        try:
            main(["validate", {str(path)!r}])
        except SystemExit as exc:
            print(json.dumps({{"code": exc.code, "rich": "rich" in sys.modules}}))
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"code": 2, "rich": False}
    assert "layers[0].dense.units" in out.stderr
    shown = _on_a_terminal(f"import sys\nsys.stderr = sys.stdout\n{code}", {})
    assert "\x1b[31m\x1b[1m" in shown and '{"code": 2, "rich": false}' in shown
