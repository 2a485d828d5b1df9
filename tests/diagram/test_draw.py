"""``specc draw``: the SVG names every node, edge and shape; blocks, panels, markers; the
layout neither overlaps boxes nor crosses edges needlessly; bad input exits 2; no torch."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

import specc
from specc.assembled import load
from specc.cli import main
from specc.diagram import render
from specc.diagram.layout import layout
from specc.diagram.model import axis_names, block_groups, build_view, shape_text
from specc.diagram.scene import arrange, place
from specc.spec.builtin import builtin_names

HERE = Path(__file__).resolve().parent
CAPTION = HERE / "captioning.yaml"
TWO_NETS = HERE / "two_nets.yaml"
NS = "{http://www.w3.org/2000/svg}"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def texts(el: ET.Element, cls: str | None = None) -> list[str]:
    return [t.text or "" for t in el.iter(f"{NS}text")
            if cls is None or cls in (t.get("class") or "").split()]


def boxes(root: ET.Element) -> dict[str, ET.Element]:
    """Drawn boxes by id (legend swatches have none)."""
    return {g.get("data-id"): g for g in root.iter(f"{NS}g")
            if "box" in (g.get("class") or "").split() and g.get("data-id")}


def box_name(g: ET.Element) -> str:
    """The first line of a box (its name, maybe with a marker after two spaces)."""
    first = next(t for t in g.iter(f"{NS}text") if "name" in (t.get("class") or "").split())
    return (first.text or "").split("  ")[0].lstrip("▸ ")


def test_svg_names_every_node_edge_and_shape(tmp_path: Path) -> None:
    out = tmp_path / "cap.svg"
    assert specc.draw(CAPTION, out, expand=True) == out
    root = parse(out)
    graph = load(CAPTION).graph
    axes = axis_names(graph)
    drawn = boxes(root)
    for name in [*graph.inputs, *graph.nodes]:
        assert name in drawn, name
        assert box_name(drawn[name]) == name
        assert shape_text(graph, name, axes) in texts(drawn[name], "shape"), name
    # every graph edge is drawn once (inside its block, or between boxes), labelled
    # with the shape of the tensor it carries
    edges = {(g.get("data-src"), g.get("data-dst")): g for g in root.iter(f"{NS}g")
             if g.get("class") == "edge"}
    owner = {n: b for b, ns in block_groups(graph).items() for n in ns}
    for name, node in graph.nodes.items():
        for i in node.inputs:
            a, b = owner.get(i), owner.get(name)
            if a == b:  # inside one block, or between plain nodes
                keys = [(i, name)]
            else:  # into a block: from its port inside, and to the block outside
                keys = [(a or i, b or name)] + ([(f"{b}:in:{i}", name)] if b else [])
            for key in keys:
                assert key in edges, (i, name, key)
                assert texts(edges[key], "elabel") == [shape_text(graph, i, axes)]
    assert box_name(drawn["next_word"]) == "next_word"


def test_box_contents_and_markers(tmp_path: Path) -> None:
    out = tmp_path / "cap.svg"
    specc.draw(CAPTION, out)
    drawn = boxes(parse(out))
    cls = {n: set((g.get("class") or "").split()) for n, g in drawn.items()}
    assert {"input"} <= cls["image"] and {"input"} <= cls["caption"]
    assert "output" in cls["next_word"] and "output" in cls["next_word_aux"]
    assert "frozen" in cls["stem"] and "frozen" not in cls["embed"]
    assert "aux" in cls["sparse"] and "aux" not in cls["merged"]
    assert "shared" in cls["next_word_aux"]
    # batch axis '?', the dynamic token axis named, dtype shown
    assert texts(drawn["caption"], "shape") == ["(?, seq) int64"]
    assert texts(drawn["embed"], "shape") == ["(?, seq, 32)"]
    embed = texts(drawn["embed"])
    assert "embedding" in embed and "input_dim=500 output_dim=32" in embed
    assert "16,000 params" in embed
    assert texts(drawn["stem"], "key") == ["filters=16 kernel=3×3"]
    assert "448 params  frozen" in texts(drawn["stem"], "count")
    assert texts(drawn["img_vec"], "kind") == ["dense + sigmoid"]
    # hover text: every parameter
    tip = drawn["stem"].find(f"{NS}title").text
    assert "padding: 1" in tip and "trainable: false" in tip and "kernel: 3×3" in tip
    # the shared weights: a dashed link between the two heads
    root = parse(out)
    links = [g for g in root.iter(f"{NS}g") if g.get("class") == "sharelink"]
    # standalone: no fonts, images, scripts or styles from elsewhere
    text = out.read_text()
    assert set(re.findall(r"https?://[^\s\"'<>)]+", text)) == {"http://www.w3.org/2000/svg"}
    assert "<script" not in text and "href" not in text and "@import" not in text
    assert [(g.get("data-src"), g.get("data-dst")) for g in links] == \
        [("next_word_aux", "next_word")]
    assert links[0].find(f"{NS}path").get("class") == "share"


def test_blocks_are_collapsed_with_their_shapes(tmp_path: Path) -> None:
    out = tmp_path / "cap.svg"
    specc.draw(CAPTION, out)
    drawn = boxes(parse(out))
    assert "enc.0.conv" not in drawn and {"enc.0", "enc.1"} <= set(drawn)
    enc = texts(drawn["enc.0"])
    assert "block conv_bn · 3 nodes" in enc
    assert "in  (?, 16, 32, 32)" in enc and "out (?, 16, 32, 32)" in enc
    assert "2,384 params" in enc


def test_resnet50_collapsed_fits_a_screen(tmp_path: Path) -> None:
    out = tmp_path / "r50.svg"
    assert run("draw", "resnet50", "-o", str(out)).exit_code == 0
    root = parse(out)
    width, height = float(root.get("width")), float(root.get("height"))
    assert width <= 1920 and height <= 1200, (width, height)
    graph = load("resnet50").graph
    groups = block_groups(graph)
    assert len(groups) == 16 and len(graph.nodes) == 158
    drawn = boxes(root)
    assert set(drawn) == set(graph.inputs) | set(groups) | {
        n for n in graph.nodes if not any(n in g for g in groups.values())}
    # --expand opens all: every one of the 158 nodes is drawn
    out_x = tmp_path / "r50x.svg"
    assert run("draw", "resnet50", "--expand", "-o", str(out_x)).exit_code == 0
    assert set(graph.nodes) <= set(boxes(parse(out_x)))


def test_networks_are_separate_panels(tmp_path: Path) -> None:
    out = tmp_path / "two.svg"
    assert run("draw", str(TWO_NETS), "-o", str(out), "--direction", "LR").exit_code == 0
    root = parse(out)
    panels = [g for g in root.iter(f"{NS}g") if g.get("class") == "panel"]
    assert [p.get("data-network") for p in panels] == ["generator", "discriminator"]
    assert set(boxes(panels[0])) == {"z", "g1", "fake"}
    assert set(boxes(panels[1])) == {"x", "d1", "real"}
    one = tmp_path / "one.svg"
    assert run("draw", str(TWO_NETS), "-o", str(one), "--network", "real").exit_code == 2
    assert run("draw", str(TWO_NETS), "-o", str(one), "--network",
               "discriminator").exit_code == 0
    assert [g.get("data-network") for g in parse(one).iter(f"{NS}g")
            if g.get("class") == "panel"] == ["discriminator"]


def _overlaps(rects: list[tuple[float, float, float, float]]) -> list[tuple[int, int]]:
    bad = []
    for i, (x0, y0, w0, h0) in enumerate(rects):
        for j, (x1, y1, w1, h1) in enumerate(rects[:i]):
            if abs(x0 - x1) * 2 < w0 + w1 - 0.5 and abs(y0 - y1) * 2 < h0 + h1 - 0.5:
                bad.append((i, j))
    return bad


@pytest.mark.parametrize("direction", ["TB", "LR"])
@pytest.mark.parametrize("name", [*builtin_names(), str(CAPTION), str(TWO_NETS),
                                  str(HERE / "nested.yaml")])
def test_no_boxes_overlap_open_or_closed(name: str, direction: str) -> None:
    spec = load(name)
    for net, graph in spec.networks.items():
        p = place(build_view(graph, net), direction)
        for opened in (set(), set(p.inner)):
            a = arrange(p, opened)
            assert not _overlaps(list(a.boxes.values())), (net, opened)
        for inner in p.inner.values():
            assert not _overlaps(list(arrange(inner).boxes.values()))


def _crossings(pos: dict[str, tuple[float, float]],
               edges: list[tuple[str, str]]) -> int:
    n = 0
    for i, (a, b) in enumerate(edges):
        for c, d in edges[:i]:
            if len({a, b, c, d}) == 4 and pos[a][1] == pos[c][1] and pos[b][1] == pos[d][1]:
                n += (pos[a][0] - pos[c][0]) * (pos[b][0] - pos[d][0]) < 0
    return n


def test_layout_removes_crossings() -> None:
    # given in an order that crosses every pair of edges: a->y, b->x
    sizes = {k: (40.0, 20.0) for k in ("a", "b", "x", "y", "z")}
    edges = [("a", "y"), ("b", "x"), ("a", "z"), ("b", "z")]
    g = layout(sizes, edges)
    assert _crossings(g.pos, edges) == 0
    assert g.pos["a"][1] == g.pos["b"][1] < g.pos["x"][1] == g.pos["y"][1]
    # left to right swaps the axes
    lr = layout(sizes, edges, "LR")
    assert lr.pos["a"][0] < lr.pos["y"][0]


def test_second_input_enters_where_it_is_used() -> None:
    sizes = {k: (40.0, 20.0) for k in ("x", "a", "b", "c", "y", "d")}
    edges = [("x", "a"), ("a", "b"), ("b", "c"), ("c", "d"), ("y", "d")]
    g = layout(sizes, edges)
    assert g.pos["y"][1] == g.pos["c"][1]  # beside its consumer's other input, not at the top


def test_html_is_self_contained(tmp_path: Path) -> None:
    out = tmp_path / "r50.html"
    assert run("draw", "resnet50", "-o", str(out)).exit_code == 0
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>")
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.\w+[^\s\"'<>)]*", text))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert "<script src" not in text and "<link" not in text and "@import" not in text
    blob = re.search(r'<script type="application/json" id="specc-data">(.*?)</script>',
                     text, re.S).group(1)
    data = json.loads(blob.replace("<\\/", "</"))
    assert len(data["panels"][0]["clusters"]) == 16
    # every block has both forms: closed (shown) and open (hidden until clicked)
    assert text.count('class="closed"') == 16 and text.count('class="open" style="display:none"') \
        == 16


def test_run_folder_and_overrides(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run_dir.joinpath("spec.resolved.yaml").write_text(
        (Path(specc.__file__).parent / "specs" / "dcn.yaml").read_text())
    out = tmp_path / "dcn.svg"
    res = run("draw", str(run_dir), "-o", str(out), "--set", "params.height=32", "--set",
              "params.width=32")
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.output
    drawn = boxes(parse(out))
    assert texts(drawn["image"], "shape") == ["(?, 1, 32, 32)"]
    assert texts(drawn["conv2d_1"], "shape") == ["(?, 16, 31, 31)"]


def test_bad_output_extension_exits_2(tmp_path: Path) -> None:
    for name in ("model.png", "model", "model.svg.txt"):
        res = run("draw", "dcn", "-o", str(tmp_path / name))
        assert res.exit_code == 2, res.output
        assert "the output file must end in .svg or .html" in res.output
        assert not (tmp_path / name).exists()
    with pytest.raises(specc.SpecError, match=r"must end in \.svg or \.html"):
        specc.draw("dcn", tmp_path / "x.pdf")


def test_unwritable_outputs_exit_2(tmp_path: Path) -> None:
    res = run("draw", "dcn", "-o", str(tmp_path / "missing" / "x.svg"))
    assert res.exit_code == 2 and "does not exist" in res.output
    afile = tmp_path / "afile"
    afile.write_text("x")
    res = run("draw", "dcn", "-o", str(afile / "x.svg"))
    assert res.exit_code == 2 and "is not a folder" in res.output
    (tmp_path / "dir.svg").mkdir()
    res = run("draw", "dcn", "-o", str(tmp_path / "dir.svg"))
    assert res.exit_code == 2 and "is a directory" in res.output
    with pytest.raises(specc.SpecError, match="not a regular file"):
        specc.draw("dcn", tmp_path / "dir.svg")
    if os.path.exists("/dev/null"):
        dev = tmp_path / "dev.svg"
        dev.symlink_to("/dev/null")
        res = run("draw", "dcn", "-o", str(dev))
        assert res.exit_code == 2 and "not a regular file" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "dev.svg", "dir.svg"] or \
        sorted(p.name for p in tmp_path.iterdir()) == ["afile", "dir.svg"]  # no temp files left


def test_spec_with_errors_exits_2_and_draws_nothing(tmp_path: Path, spec_file) -> None:
    bad = spec_file("""
        specc: 1
        name: bad
        inputs: {x: [4]}
        layers:
          - dense: {units: 3}
          - conv2d: {filters: 2, kernel: 3}
    """)
    out = tmp_path / "bad.svg"
    out.write_text("earlier picture")
    res = run("draw", str(bad), "-o", str(out))
    assert res.exit_code == 2
    assert f"{bad}:6:5: layers[1].conv2d" in res.output and "received shape (3,)" in res.output
    assert out.read_text() == "earlier picture"  # untouched: nothing is drawn
    res = run("draw", "no_such_spec", "-o", str(tmp_path / "y.svg"))
    assert res.exit_code == 2 and "does not exist" in res.output
    res = run("draw", "dcn", "-o", str(tmp_path / "y.svg"), "--set", "params.nope=1")
    assert res.exit_code == 2 and "no key 'nope'" in res.output


def test_draw_never_imports_torch(tmp_path: Path) -> None:
    code = (
        "import sys, specc\n"
        "from specc.cli import main\n"
        f"specc.draw('resnet50', {str(tmp_path / 'a.svg')!r})\n"
        "try:\n"
        f"    main(['draw', 'resnet50', '-o', {str(tmp_path / 'b.html')!r}])\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
    assert (tmp_path / "a.svg").stat().st_size > 0 and (tmp_path / "b.html").stat().st_size > 0


def test_render_directions_agree_on_content() -> None:
    spec = load(CAPTION)
    tb, lr = render(spec, ".svg"), render(spec, ".svg", direction="LR")
    assert sorted(re.findall(r'data-id="([^"]+)"', tb)) == \
        sorted(re.findall(r'data-id="([^"]+)"', lr))
    with pytest.raises(specc.SpecError, match="TB or LR"):
        render(spec, ".svg", direction="BT")


def test_readme_picture_is_current() -> None:
    picture = HERE.parent.parent / "docs" / "resnet18.svg"
    assert picture.read_text() == render(load("resnet18"), ".svg"), \
        "regenerate it: specc draw resnet18 -o docs/resnet18.svg"
    assert "docs/resnet18.svg" in (HERE.parent.parent / "README.md").read_text()


def test_nested_blocks_collapse_to_the_outermost_instance(tmp_path: Path) -> None:
    path = HERE / "nested.yaml"
    graph = load(path).graph
    groups = block_groups(graph)
    assert list(groups) == ["o1", "o2.0", "o2.1"]
    assert groups["o1"] == [n for n in graph.nodes if n.startswith("o1.")]
    out = tmp_path / "nested.svg"
    specc.draw(path, out)
    root = parse(out)
    drawn = boxes(root)
    assert set(drawn) == {"x", "o1", "o2.0", "o2.1", "twice"}
    assert "block outer · 7 nodes" in texts(drawn["o1"])
    edges = [(g.get("data-src"), g.get("data-dst")) for g in root.iter(f"{NS}g")
             if g.get("class") == "edge"]
    assert edges.count(("o2.1", "twice")) == 1  # add: [o2, o2] is one edge
    specc.draw(path, out, expand=True)
    assert set(graph.nodes) <= set(boxes(parse(out)))


def test_edge_bends_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the budget the longest edges go direct; the layout stays whole."""
    import specc.diagram.layout as lay

    n = 40
    sizes = {f"n{i}": (50.0, 30.0) for i in range(n)}
    edges = [(f"n{i}", f"n{i + 1}") for i in range(n - 1)] + \
        [("n0", f"n{i}") for i in range(2, n)]
    full = lay.layout(sizes, edges)
    assert sum(len(r) for r in full.routes) == sum(i - 1 for i in range(2, n))
    monkeypatch.setattr(lay, "MAX_BENDS", 50)
    g = lay.layout(sizes, edges)
    assert sum(len(r) for r in g.routes) <= 50 and len(g.routes) == len(edges)
    rects = [(x, y, *sizes[k]) for k, (x, y) in g.pos.items()]
    assert not _overlaps(rects)


def test_a_later_input_enters_where_it_is_used() -> None:
    view = build_view(load(CAPTION).graph)
    g = place(view).geom
    y = {n: g.pos[n][1] for n in g.pos}
    assert y["image"] < y["caption"]  # the image path is the longer one: it starts on top
    assert y["caption"] == y["pool"]  # the caption comes in beside the pooled image
    assert y["decoder"] == y["sparse"] < y["merged"]  # ... to meet it at the merge
    assert y["next_word_aux"] == y["merged"]  # a head right below its input


def test_layout_needs_no_topological_order_and_survives_cycles() -> None:
    sizes = {k: (40.0, 20.0) for k in ("c", "b", "a")}  # given last first
    g = layout(sizes, [("a", "b"), ("b", "c")])
    assert g.pos["a"][1] < g.pos["b"][1] < g.pos["c"][1]
    g = layout(sizes, [("a", "b"), ("b", "c"), ("c", "a")])  # not from a compiled graph
    assert len(g.routes) == 3 and len({p[1] for p in g.pos.values()}) == 3
