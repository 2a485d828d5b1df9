"""The HTML diagram in a real browser (headless Chromium): every node name is rendered, a click
opens a block and shows its nodes, hovering shows a node's parameters; a screenshot is saved.

Skipped only where no Chromium is installed (Debian: ``apt-get install -y chromium``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import specc
from specc.assembled import load
from specc.diagram.model import block_groups, build_view
from specc.diagram.scene import arrange, edge_points, label_at, label_ts, path_d, place
from specc.diagram.svg import document

HERE = Path(__file__).resolve().parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROME = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(
    CHROME is None, reason="no Chromium on this machine (Debian: apt-get install -y chromium)")

# appended to the page: reads what is drawn, clicks, hovers, and writes the findings into the
# DOM, which --dump-dom prints
PROBE = """<script>
(function () {
  const shown = () => [...document.querySelectorAll(
      'svg.specc g.box > text.name, svg.specc g.box > g.closed > text.name')]
    .filter((t) => t.getClientRects().length > 0 && t.getBoundingClientRect().width > 0)
    .map((t) => t.textContent.replace(/^▸ /, '').split('  ')[0]);
  const click = (el) => el.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  const page = document.querySelector('rect.page');
  const result = {before: shown(), page: [+page.getAttribute('width'), +page.getAttribute('height')]};
  click(document.querySelector('g.block[data-block="BLOCK"] > g.closed > rect.bg'));
  result.opened = shown();
  result.placed = {};  // where the script put each box and each edge's end, for comparison
  for (const g of document.querySelectorAll('g.panel > g.content > g.boxes > g.box')) {
    result.placed[g.getAttribute('data-id')] = g.getAttribute('transform');
  }
  result.paths = [...document.querySelectorAll('g.panel > g.content > g.edges > g.edge > path')]
    .map((p) => p.getAttribute('d'));
  result.labels = [...document.querySelectorAll('g.panel > g.content > g.edges > g.edge > text')]
    .map((t) => [+t.getAttribute('x'), +t.getAttribute('y')]);
  const box = document.querySelector('g.box[data-id="HOVER"] > rect.bg');
  box.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: 20, clientY: 20}));
  const tip = document.getElementById('tip');
  result.tip = tip.style.display === 'block' ? tip.textContent : null;
  click(document.querySelector('g.block[data-block="BLOCK"] > g.open > rect.cluster'));
  result.closed = shown();
  document.getElementById('open-all').click();
  result.all = shown();
  // wheel zooms about the pointer, a drag pans
  const svg = document.querySelector('svg.specc');
  const view = () => svg.querySelector('g.viewport').getAttribute('transform');
  result.view0 = view();
  svg.dispatchEvent(new WheelEvent('wheel', {deltaY: -200, clientX: 300, clientY: 200,
                                             bubbles: true, cancelable: true}));
  result.zoomed = view();
  svg.dispatchEvent(new MouseEvent('mousedown', {clientX: 100, clientY: 100, bubbles: true}));
  window.dispatchEvent(new MouseEvent('mousemove', {clientX: 150, clientY: 130}));
  window.dispatchEvent(new MouseEvent('mouseup', {clientX: 150, clientY: 130}));
  result.panned = view();
  svg.dispatchEvent(new MouseEvent('mousedown', {clientX: 150, clientY: 130, bubbles: true}));
  window.dispatchEvent(new MouseEvent('mouseup', {clientX: 150, clientY: 130}));  // a click
  // leave the page as the screenshot shows it: this block open, the tip hidden
  document.getElementById('close-all').click();
  click(document.querySelector('g.block[data-block="BLOCK"] > g.closed > rect.bg'));
  window.specc.fit();
  document.querySelector('svg.specc').dispatchEvent(new MouseEvent('mouseleave'));
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
})();
</script>"""


def chrome(tmp_path: Path, page: Path, *args: str) -> str:
    cmd = [CHROME, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", *args, page.as_uri()]
    # timeout: a guard against a hung browser, not a speed requirement
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def probe(tmp_path: Path, spec: str, block: str, hover: str) -> tuple[dict, Path]:
    page = tmp_path / "model.html"
    specc.draw(spec, page)
    probed = tmp_path / "probed.html"
    script = PROBE.replace("BLOCK", block).replace("HOVER", hover)
    probed.write_text(page.read_text().replace("</body>", script + "</body>"))
    dom = chrome(tmp_path, probed, "--dump-dom")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    text = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return json.loads(text), probed


def test_captioning_page_in_chromium(tmp_path: Path) -> None:
    path = str(HERE / "captioning.yaml")
    graph = load(path).graph
    groups = block_groups(graph)
    inside = {n for ns in groups.values() for n in ns}
    top = [*graph.inputs, *[n for n in graph.nodes if n not in inside], *groups]
    result, probed = probe(tmp_path, path, "enc.0", "stem")
    assert sorted(result["before"]) == sorted(top)  # every name drawn, no block's inside
    assert set(result["opened"]) - set(result["before"]) == \
        {"from stem", "enc.0.conv", "enc.0.bn", "enc.0.act"}
    assert "enc.0" not in result["opened"]  # the closed box gave way to the open block
    assert sorted(result["closed"]) == sorted(top)
    assert set(graph.nodes) <= set(result["all"])
    tip = result["tip"]
    assert tip and "stem: conv2d" in tip and "trainable: false" in tip and "padding: 1" in tip
    nums = [[float(v) for v in re.findall(r"-?[\d.]+", result[k])]
            for k in ("view0", "zoomed", "panned")]
    (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = nums
    assert z1 == pytest.approx(z0 * 1.3499, rel=1e-3)  # exp(200 * 0.0015)
    # the point under the pointer stays (in screen pixels; transforms are rounded to 0.1)
    assert 300 - x1 == pytest.approx((300 - x0) * z1 / z0, abs=0.25)
    assert 200 - y1 == pytest.approx((200 - y0) * z1 / z0, abs=0.25)
    assert (x2 - x1, y2 - y1, z2) == pytest.approx((50, 30, z1), abs=0.11)
    # the page script sizes the page as the SVG writer does
    size = document([place(build_view(graph))], set())[1:]
    assert result["page"] == pytest.approx(list(size), abs=0.11)
    shot = tmp_path / "captioning.png"
    chrome(tmp_path, probed, f"--screenshot={shot}", "--window-size=1280,900")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_resnet50_page_in_chromium(tmp_path: Path) -> None:
    graph = load("resnet50").graph
    groups = block_groups(graph)
    result, probed = probe(tmp_path, "resnet50", "layer1_0", "stem")
    assert len(result["before"]) == 1 + 6 + 16  # the input, six plain nodes, 16 blocks
    assert set(result["opened"]) - set(result["before"]) == \
        set(groups["layer1_0"]) | {"from stem_pool"}
    assert set(graph.nodes) <= set(result["all"])  # "open all" shows all 158 nodes
    assert "filters: 64" in result["tip"]
    # the page script re-arranges exactly as Python does (folded columns, one block open)
    p = place(build_view(graph))
    a = arrange(p, {"layer1_0"})
    for name, (x, y, w, h) in a.boxes.items():
        got = [float(v) for v in re.findall(r"-?[\d.]+", result["placed"][name])]
        assert got == pytest.approx([x - w / 2, y - h / 2], abs=0.11), name
    ts = label_ts(p.view)
    for k, (e, route, d) in enumerate(zip(p.view.edges, a.routes, result["paths"], strict=True)):
        pts = edge_points(a, e.src, e.dst, route, "TB")
        seg = p.geom.label_seg[k]
        lx, ly = label_at(pts, seg, ts[k] if seg < 0 else 0.5)
        assert result["labels"][k] == pytest.approx([lx + 4, ly + 3], abs=0.11)
        got = [float(v) for v in re.findall(r"-?[\d.]+", d)]
        want = [float(v) for v in re.findall(r"-?[\d.]+", path_d(pts, "TB"))]
        assert got == pytest.approx(want, abs=0.11), (e.src, e.dst)
    shot = tmp_path / "resnet50.png"
    chrome(tmp_path, probed, f"--screenshot={shot}", "--window-size=1280,900")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
