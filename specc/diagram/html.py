"""The interactive page: one self-contained HTML file (inline SVG, CSS and a small vanilla
script; nothing fetched). Drag to pan, wheel to zoom, click a block to open or close it,
hover a box to see all its parameters.

The script re-does :func:`specc.diagram.scene.arrange` in JavaScript from each network's base
layout (embedded as JSON), so opening a block moves the rest of the drawing out of its way.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from .scene import CLUSTER_HEAD, CLUSTER_PAD, LEGEND, MARGIN, TITLE, Placed, label_ts
from .svg import SHARE_ROOM, document, min_width

SCRIPT = r"""
(function () {
  const data = JSON.parse(document.getElementById('specc-data').textContent);
  const svg = document.querySelector('svg.specc');
  const view = svg.querySelector('g.viewport');
  const open = new Set(data.expanded);
  const f1 = (v) => v.toFixed(1);
  const shift = (v, c, d) => (v > c + 1e-6 ? v + d : v < c - 1e-6 ? v - d : v);

  function arrange(p) {
    const boxes = {};
    for (const id of p.order) boxes[id] = p.boxes[id].slice();
    const routes = p.routes.map((r) => r.map((q) => q.slice()));
    const lr = p.direction === 'LR', o = lr ? 1 : 0, r = lr ? 0 : 1;
    for (const b of p.order) {
      if (!open.has(b) || !p.clusters[b]) continue;
      const [cx, cy, w, h] = boxes[b];
      const [W, H] = p.clusters[b];
      const dx = Math.max(W - w, 0), dy = Math.max(H - h, 0);
      const col = p.cols[b] || 0;
      const cO = lr ? cy : cx, cR = lr ? cx : cy, dO = lr ? dy : dx, dR = lr ? dx : dy;
      const move = (q, c) => {
        q[o] = shift(q[o], cO, dO / 2);
        if (c === col && q[r] > cR + 1e-6) q[r] += dR;
      };
      for (const id of p.order) if (id !== b) move(boxes[id], p.cols[id] || 0);
      routes.forEach((rt, k) => rt.forEach((q, i) => move(q, p.routeCols[k][i])));
      boxes[b][r] += dR / 2;
      boxes[b][2] = Math.max(W, w); boxes[b][3] = Math.max(H, h);
    }
    let lx = Infinity, ly = Infinity, hx = -Infinity, hy = -Infinity;
    for (const id of p.order) {
      const [x, y, w, h] = boxes[id];
      lx = Math.min(lx, x - w / 2); ly = Math.min(ly, y - h / 2);
      hx = Math.max(hx, x + w / 2); hy = Math.max(hy, y + h / 2);
    }
    for (const r of routes) for (const [x, y] of r) {
      lx = Math.min(lx, x); ly = Math.min(ly, y); hx = Math.max(hx, x); hy = Math.max(hy, y);
    }
    if (!p.order.length) { lx = ly = hx = hy = 0; }
    for (const id of p.order) { boxes[id][0] -= lx; boxes[id][1] -= ly; }
    for (const r of routes) for (const q of r) { q[0] -= lx; q[1] -= ly; }
    return { boxes, routes, width: hx - lx, height: hy - ly };
  }

  function ends(a, src, dst, route, lr) {
    const [sx, sy, sw, sh] = a.boxes[src], [tx, ty, tw, th] = a.boxes[dst];
    return lr ? [[sx + sw / 2, sy], ...route, [tx - tw / 2, ty]]
              : [[sx, sy + sh / 2], ...route, [tx, ty - th / 2]];
  }

  function pathD(pts, lr) {
    const d = ['M' + f1(pts[0][0]) + ',' + f1(pts[0][1])];
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
      if (lr) { const m = (x0 + x1) / 2; d.push(`C${f1(m)},${f1(y0)} ${f1(m)},${f1(y1)} ${f1(x1)},${f1(y1)}`); }
      else { const m = (y0 + y1) / 2; d.push(`C${f1(x0)},${f1(m)} ${f1(x1)},${f1(m)} ${f1(x1)},${f1(y1)}`); }
    }
    return d.join(' ');
  }

  function labelAt(pts, seg, t, lr) {
    const k = seg < 0 ? Math.floor((pts.length - 1) / 2) : seg;
    const [x0, y0] = pts[k], [x1, y1] = pts[k + 1], u = 1 - t;
    const a = u ** 3 + 3 * u * u * t, b = 3 * u * t * t, c = t ** 3, mid = 3 * u * u * t + b;
    if (lr) { const m = (x0 + x1) / 2; return [x0 * u ** 3 + m * mid + x1 * c, y0 * a + y1 * (b + c)]; }
    const m = (y0 + y1) / 2;
    return [x0 * a + x1 * (b + c), y0 * u ** 3 + m * mid + y1 * c];
  }

  function sharePath(a, s, t, lr) {
    const [x0, y0, w0, h0] = a.boxes[s], [x1, y1, w1, h1] = a.boxes[t];
    const p = lr ? [x0, y0 - h0 / 2] : [x0 + w0 / 2, y0];
    const q = lr ? [x1, y1 - h1 / 2] : [x1 + w1 / 2, y1];
    const b = lr ? [0, -40] : [40, 0];
    const d = `M${f1(p[0])},${f1(p[1])} C${f1(p[0] + b[0])},${f1(p[1] + b[1])} ` +
      `${f1(q[0] + b[0])},${f1(q[1] + b[1])} ${f1(q[0])},${f1(q[1])}`;
    return [d, (p[0] + q[0]) / 2 + b[0] * 0.75 + 2, (p[1] + q[1]) / 2 + b[1] * 0.75];
  }

  let total = [0, 0];
  function relayout() {
    let ox = 0, oy = 0, W = 0, H = 0;
    data.panels.forEach((p, i) => {
      const g = view.querySelector(`g.panel[data-panel="${i}"]`);
      const lr = p.direction === 'LR';
      const a = arrange(p);
      for (const el of g.querySelectorAll(':scope > g.content > g.boxes > g.box')) {
        const id = el.getAttribute('data-id');
        const [x, y, w, h] = a.boxes[id];
        el.setAttribute('transform', `translate(${f1(x - w / 2)},${f1(y - h / 2)})`);
        if (p.clusters[id]) {
          const on = open.has(id);
          el.querySelector(':scope > g.closed').style.display = on ? 'none' : '';
          el.querySelector(':scope > g.open').style.display = on ? '' : 'none';
          el.classList.toggle('is-open', on);
        }
      }
      for (const el of g.querySelectorAll(':scope > g.content > g.edges > g.edge')) {
        const k = +el.getAttribute('data-k');
        const [src, dst, seg, t] = p.edges[k];
        const pts = ends(a, src, dst, a.routes[k], lr);
        el.querySelector('path').setAttribute('d', pathD(pts, lr));
        const [lx, ly] = labelAt(pts, seg, seg < 0 ? t : 0.5, lr);
        const label = el.querySelector('text');
        label.setAttribute('x', f1(lx + 4)); label.setAttribute('y', f1(ly + (lr ? -3 : 3)));
      }
      for (const el of g.querySelectorAll(':scope > g.content > g.shares > g.sharelink')) {
        const [s, t] = p.shares[+el.getAttribute('data-k')];
        const [d, x, y] = sharePath(a, s, t, lr);
        el.querySelector('path').setAttribute('d', d);
        const tx = el.querySelector('text');
        tx.setAttribute('x', f1(x)); tx.setAttribute('y', f1(y));
      }
      g.querySelector(':scope > g.legend').setAttribute('transform',
        `translate(${data.margin},${f1(data.title + a.height + data.margin)})`);
      const pw = Math.max(a.width + (p.shares.length ? data.shareRoom : 0), p.minWidth) +
        2 * data.margin;
      const ph = data.title + a.height + data.margin + data.legend;
      g.setAttribute('transform', `translate(${f1(ox)},${f1(oy)})`);
      if (lr) { W = Math.max(W, pw); H = oy + ph; oy += ph + data.margin; }
      else { W = ox + pw; H = Math.max(H, ph); ox += pw + data.margin; }
    });
    total = [W, H];
    view.querySelector(':scope > rect.page').setAttribute('width', f1(W));
    view.querySelector(':scope > rect.page').setAttribute('height', f1(H));
  }

  // pan and zoom
  let z = 1, tx = 0, ty = 0;
  const apply = () => view.setAttribute('transform', `translate(${f1(tx)},${f1(ty)}) scale(${z.toFixed(4)})`);
  function fit() {
    const r = svg.getBoundingClientRect();
    z = Math.min(1, (r.width - 20) / total[0], (r.height - 54) / total[1]);
    tx = Math.max(10, (r.width - total[0] * z) / 2); ty = 44; apply();
  }
  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect(), mx = e.clientX - r.left, my = e.clientY - r.top;
    const nz = Math.min(8, Math.max(0.05, z * Math.exp(-e.deltaY * 0.0015)));
    tx = mx - (mx - tx) * nz / z; ty = my - (my - ty) * nz / z; z = nz; apply();
  }, { passive: false });
  let drag = null, moved = false;
  svg.addEventListener('mousedown', (e) => { drag = [e.clientX - tx, e.clientY - ty]; moved = false; });
  window.addEventListener('mousemove', (e) => {
    if (!drag) return;
    const nx = e.clientX - drag[0], ny = e.clientY - drag[1];
    if (Math.abs(nx - tx) + Math.abs(ny - ty) > 2) moved = true;
    tx = nx; ty = ny; apply();
  });
  window.addEventListener('mouseup', () => { drag = null; });

  // blocks open and close on click
  function toggle(id) { if (open.has(id)) open.delete(id); else open.add(id); relayout(); }
  svg.addEventListener('click', (e) => {
    if (moved) { moved = false; return; }
    const hit = e.target.closest('g.closed, .toggle');
    if (!hit) return;
    const block = hit.closest('g.block');
    if (block) toggle(block.getAttribute('data-block'));
  });
  const allIds = () => data.panels.flatMap((p) => Object.keys(p.clusters));
  document.getElementById('open-all').onclick = () => { allIds().forEach((b) => open.add(b)); relayout(); fit(); };
  document.getElementById('close-all').onclick = () => { open.clear(); relayout(); fit(); };
  document.getElementById('fit').onclick = fit;

  // hover: every parameter of the box under the pointer
  const tip = document.getElementById('tip');
  for (const el of svg.querySelectorAll('g.box')) {
    const t = el.querySelector(':scope > title');
    if (t) { el.dataset.tip = t.textContent; t.remove(); }
  }
  svg.addEventListener('mousemove', (e) => {
    const box = e.target.closest('g.box');
    if (!box || !box.dataset.tip || drag) { tip.style.display = 'none'; return; }
    tip.textContent = box.dataset.tip;
    tip.style.display = 'block';
    tip.style.left = (e.clientX + 14) + 'px'; tip.style.top = (e.clientY + 14) + 'px';
  });
  svg.addEventListener('mouseleave', () => { tip.style.display = 'none'; });

  relayout();
  fit();
  window.specc = { open, toggle, relayout, fit };
})();
"""

CSS = """
html,body{margin:0;height:100%;overflow:hidden;background:#fafafa;
font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
svg.specc{width:100vw;height:100vh;display:block;cursor:grab}
#bar{position:fixed;top:8px;right:8px;display:flex;gap:6px;align-items:center;
background:rgba(255,255,255,.92);border:1px solid #ccc;border-radius:6px;padding:4px 8px;
font-size:12px;color:#444}
#bar button{font-size:12px;cursor:pointer}
#tip{position:fixed;display:none;white-space:pre;background:#263238;color:#eceff1;
font:11px/1.35 'DejaVu Sans Mono',Menlo,Consolas,monospace;padding:6px 8px;border-radius:4px;
pointer-events:none;max-width:60vw;overflow:hidden;z-index:2}
.toggle{cursor:pointer}
"""


def panel_data(p: Placed) -> dict[str, Any]:
    """What the script needs to re-arrange one network."""
    seg = p.geom.label_seg or [-1] * len(p.view.edges)
    return {
        "direction": p.direction,
        "order": list(p.view.boxes),
        "boxes": {n: [round(x, 2), round(y, 2), *(round(v, 2) for v in p.view.boxes[n].size)]
                  for n, (x, y) in p.geom.pos.items()},
        "clusters": {b: [round(v, 2) for v in p.cluster_size(b)] for b in p.inner},
        "routes": [[[round(x, 2), round(y, 2)] for x, y in r] for r in p.geom.routes],
        "edges": [[e.src, e.dst, s, t] for e, s, t in zip(p.view.edges, seg, label_ts(p.view),
                                                           strict=True)],
        "shares": [list(s) for s in p.view.shares],
        "cols": {n: c for n, c in (p.geom.cols or {}).items() if c},
        "routeCols": p.geom.route_cols or [[0] * len(r) for r in p.geom.routes],
        "minWidth": round(min_width(p), 2),
    }


def page(name: str, panels: list[Placed], expanded: set[str] | frozenset[str]) -> str:
    """The whole HTML document."""
    svg, _, _ = document(panels, expanded, both=True)
    inner = svg[svg.index(">") + 1: svg.rindex("</svg>")]
    defs_end = inner.index("</defs>") + len("</defs>")
    body = inner[defs_end:].replace('<rect width="100%" height="100%" fill="#fff"/>',
                                    '<rect class="page" width="0" height="0" fill="#fff"/>', 1)
    svg_el = (f'<svg class="specc" xmlns="http://www.w3.org/2000/svg">{inner[:defs_end]}'
              f'<g class="viewport">{body}</g></svg>')
    data = {"panels": [panel_data(p) for p in panels], "expanded": sorted(expanded),
            "margin": MARGIN, "title": TITLE, "legend": LEGEND, "pad": CLUSTER_PAD,
            "head": CLUSTER_HEAD, "shareRoom": SHARE_ROOM}
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(name)} · specc draw</title>"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<style>{CSS}</style></head><body>"
            f"<div id=\"bar\"><b>{escape(name)}</b> drag to pan · wheel to zoom · click a "
            "block to open it <button id=\"open-all\">open all</button>"
            "<button id=\"close-all\">close all</button><button id=\"fit\">fit</button></div>"
            f"{svg_el}<div id=\"tip\"></div>"
            f"<script type=\"application/json\" id=\"specc-data\">{blob}</script>"
            f"<script>{SCRIPT}</script></body></html>\n")
