"""The schema in the editors' own engine: the YAML language server (npm
``yaml-language-server``, installed by ``.ci/run``) driven over stdio, its schema store off.
Every built-in spec opened with the schema modeline gets no diagnostics; a misspelt field gets
one on its line; completion offers the layer kinds (plugins' included) in a ``layers:`` item
and a kind's parameters inside it. One server process serves the whole module."""

from __future__ import annotations

import json

import pytest

from specc.registry import current

from .common import SPECS, schema
from .lsp import LanguageServer, find_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    command, why = find_server()
    if command is None:
        pytest.skip(why)
    root = tmp_path_factory.mktemp("lsp")
    path = root / "specc.schema.json"
    path.write_text(json.dumps(schema()))
    ls = LanguageServer(command, root)
    ls.root = root
    ls.modeline = f"# yaml-language-server: $schema={path.as_uri()}\n"
    yield ls
    ls.close()


def open_doc(ls, name: str, text: str) -> tuple[str, list[dict]]:
    uri = (ls.root / name).as_uri()
    return uri, ls.open(uri, ls.modeline + text)


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_builtin_spec_has_no_diagnostics(server, path):
    _, diagnostics = open_doc(server, f"{path.stem}.yaml", path.read_text())
    assert [(d["range"]["start"]["line"], d["message"]) for d in diagnostics] == []


def test_a_misspelt_field_is_flagged_on_its_line(server):
    text = ("specc: 1\ninputs: {x: [4]}\nlayers:\n  - dense: {units: 8}\n"
            "  - dense: {unitz: 3}\ntrain:\n  data: iris\n  loss: cross_entropy\n  epoch: 3\n")
    _, diagnostics = open_doc(server, "misspelt.yaml", text)
    found = {(d["range"]["start"]["line"], d["message"]) for d in diagnostics}
    assert (5, "Property unitz is not allowed.") in found  # line 5: the modeline is line 0
    assert (9, "Property epoch is not allowed.") in found
    assert all(line in (5, 9) for line, _ in found), found


def test_completion_in_a_layers_item_offers_every_kind_with_plugins(server):
    uri, _ = open_doc(server, "kinds.yaml", "specc: 1\ninputs: {x: [4]}\nlayers:\n  - \n")
    labels = set(server.completion(uri, 4, 4))
    layers = current().layers
    plugin_kinds = {n for n in layers.names() if layers.provider(n) not in (None, "specc")}
    assert {"conv2d", "Conv2D", "dense", "Dense", "lstm"} <= labels
    assert plugin_kinds <= labels and set(layers.names()) <= labels


def test_completion_inside_a_kind_offers_its_parameters(server):
    text = "specc: 1\ninputs: {x: [1, 8, 8]}\nlayers:\n  - conv2d:\n      \n"
    uri, _ = open_doc(server, "params.yaml", text)
    labels = set(server.completion(uri, 5, 6))
    assert {"filters", "kernel", "stride", "padding", "activation", "repeat", "name"} <= labels
    assert "units" not in labels


def test_hover_shows_the_models_descriptions(server):
    text = "specc: 1\ninputs: {x: [4]}\nlayers:\n  - dense: {units: 8}\n"
    uri, diagnostics = open_doc(server, "hover.yaml", text)
    assert diagnostics == []
    kind = server.hover(uri, 4, 6)
    assert kind.startswith("#### dense") and "Fully connected layer" in kind
    units = server.hover(uri, 4, 14)
    assert units.startswith("#### Units\n\nNumber of output features")
    assert "parameter reference" not in units  # the $param arm stays out of the hover
