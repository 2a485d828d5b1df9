"""SVG text of a diagram: one panel per network, boxes with their lines, curved edges labelled
with shapes, dashed shared-weight links, a legend. Standalone: styles inline, no fonts or
scripts fetched (generic monospace fonts only)."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .model import CHAR, LINE, PAD_Y, Box
from .scene import (
    CLUSTER_HEAD,
    CLUSTER_PAD,
    LEGEND,
    MARGIN,
    TITLE,
    Arranged,
    Placed,
    arrange,
    cluster_head,
    edge_points,
    label_at,
    label_ts,
    path_d,
)

STYLE = """
text{font-family:'DejaVu Sans Mono',Menlo,Consolas,'Liberation Mono',monospace;font-size:11px;fill:#212121}
.name{font-weight:bold}.kind{fill:#1a237e}.key{fill:#4e342e}.shape{fill:#1b5e20}.count{fill:#616161}
.title{font-size:13px;font-weight:bold}
.box>rect.bg{fill:#fff;stroke:#546e7a;stroke-width:1}
.input>rect.bg{fill:#e3f2fd;stroke:#1565c0;stroke-width:1.5}
.port>rect.bg{fill:#fafafa;stroke:#9e9e9e;stroke-dasharray:3 2}
.frozen>rect.bg,.frozen>.closed>rect.bg{fill:#eceff1;stroke:#78909c;stroke-dasharray:5 3}
.aux>rect.bg,.aux>.closed>rect.bg{fill:#fff3e0;stroke:#e65100;stroke-width:1.5}
.block>.closed>rect.bg,.block>rect.bg{fill:#f3e5f5;stroke:#6a1b9a;stroke-width:1.5}
.block>.closed>rect.stack{fill:#e1bee7;stroke:#6a1b9a}
.block-out>rect.bg{stroke-width:2.2}
.output>rect.bg,.output>.closed>rect.bg{stroke:#c62828;stroke-width:2.5}
rect.cluster{fill:#fbf6fc;stroke:#6a1b9a;stroke-width:1.5;stroke-dasharray:7 3}
.edge path{fill:none;stroke:#78909c;stroke-width:1.2}
.elabel{font-size:9px;fill:#37474f;paint-order:stroke;stroke:#fff;stroke-width:3px;
stroke-linejoin:round}
path.share{fill:none;stroke:#8e24aa;stroke-width:1.5;stroke-dasharray:5 4}
.slabel{font-size:9px;fill:#8e24aa}
.block{cursor:pointer}
"""
SHARE_ROOM = 110.0
ARROW = ('<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
         'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
         'fill="#78909c"/></marker>')
LEGEND_ITEMS = (("input", "input"), ("node output", "output"), ("node frozen", "frozen"),
                ("node aux", "aux loss"), ("block", "block"), ("share", "shared weights"))


def _lines(box: Box, w: float) -> str:
    out = []
    for i, (text, style) in enumerate(box.lines):
        y = PAD_Y + LINE * i + LINE * 0.78
        out.append(f'<text x="{w / 2:.1f}" y="{y:.1f}" text-anchor="middle" '
                   f'class="{style}">{escape(text)}</text>')
    return "".join(out)


def box_svg(box: Box, x0: float, y0: float) -> str:
    """A plain box (input, node, port) with its top-left corner at ``x0, y0``."""
    w, h = box.size
    return (f'<g class="box {" ".join(box.classes)}" data-id={quoteattr(box.id)} '
            f'transform="translate({x0:.1f},{y0:.1f})"><title>{escape(box.tip)}</title>'
            f'<rect class="bg" width="{w:.1f}" height="{h:.1f}" rx="4"/>{_lines(box, w)}</g>')


def collapsed_svg(box: Box) -> str:
    w, h = box.size
    return (f'<rect class="stack" x="4" y="4" width="{w:.1f}" height="{h:.1f}" rx="4"/>'
            f'<rect class="bg" width="{w:.1f}" height="{h:.1f}" rx="4"/>{_lines(box, w)}')


def cluster_svg(p: Placed, box: Box) -> str:
    """An open block: dashed frame, header, its inside laid out."""
    inner = p.inner[box.id]
    w, h = p.cluster_size(box.id)
    head = cluster_head(box)
    body = content_svg(inner, arrange(inner))
    return (f'<rect class="cluster toggle" width="{w:.1f}" height="{h:.1f}" rx="6"/>'
            f'<text x="{CLUSTER_PAD:.1f}" y="{CLUSTER_PAD + 8:.1f}" class="name toggle">'
            f'{escape(head)}</text><g transform="translate({CLUSTER_PAD:.1f},'
            f'{CLUSTER_PAD + CLUSTER_HEAD:.1f})">{body}</g>')


def edges_svg(p: Placed, a: Arranged) -> str:
    out = []
    ts = label_ts(p.view)
    for k, (e, route) in enumerate(zip(p.view.edges, a.routes, strict=True)):
        pts = edge_points(a, e.src, e.dst, route, p.direction)
        seg = p.geom.label_seg[k] if p.geom.label_seg else -1
        lx, ly = label_at(pts, seg, ts[k] if seg < 0 else 0.5, p.direction)
        anchor = 'text-anchor="middle"' if p.direction == "LR" else ""
        dy = -3 if p.direction == "LR" else 3
        out.append(f'<g class="edge" data-k="{k}" data-src={quoteattr(e.src)} '
                   f'data-dst={quoteattr(e.dst)}><path d="{path_d(pts, p.direction)}" '
                   f'marker-end="url(#arrow)"/><text class="elabel" x="{lx + 4:.1f}" '
                   f'y="{ly + dy:.1f}" {anchor}>{escape(e.label)}</text></g>')
    return "".join(out)


def shares_svg(p: Placed, a: Arranged) -> str:
    out = []
    for i, (s, t) in enumerate(p.view.shares):
        out.append(f'<g class="sharelink" data-k="{i}" data-src={quoteattr(s)} '
                   f'data-dst={quoteattr(t)}>{share_path(a, s, t, p.direction)}</g>')
    return "".join(out)


def share_path(a: Arranged, s: str, t: str, direction: str) -> str:
    """A dashed arc between two boxes that use one set of weights, bulging outwards."""
    (x0, y0, w0, h0), (x1, y1, w1, h1) = a.boxes[s], a.boxes[t]
    if direction == "LR":
        p, q, bend = (x0, y0 - h0 / 2), (x1, y1 - h1 / 2), (0.0, -40.0)
    else:
        p, q, bend = (x0 + w0 / 2, y0), (x1 + w1 / 2, y1), (40.0, 0.0)
    c1 = (p[0] + bend[0], p[1] + bend[1])
    c2 = (q[0] + bend[0], q[1] + bend[1])
    mx, my = (p[0] + q[0]) / 2 + bend[0] * 0.75, (p[1] + q[1]) / 2 + bend[1] * 0.75
    return (f'<path class="share" d="M{p[0]:.1f},{p[1]:.1f} C{c1[0]:.1f},{c1[1]:.1f} '
            f'{c2[0]:.1f},{c2[1]:.1f} {q[0]:.1f},{q[1]:.1f}"/><text class="slabel" '
            f'x="{mx + 2:.1f}" y="{my:.1f}">shares weights</text>')


def content_svg(p: Placed, a: Arranged, *, both: bool = False,
                expanded: frozenset[str] | set[str] = frozenset()) -> str:
    """Edges, then boxes, of one arranged view. ``both``: a block holds its closed and open
    forms (the page script shows one)."""
    boxes = []
    for box in p.view.boxes.values():
        cx, cy, w, h = a.boxes[box.id]
        if box.inner is None:
            boxes.append(box_svg(box, cx - w / 2, cy - h / 2))
            continue
        is_open = box.id in expanded
        parts = []
        if both or not is_open:
            hide = ' style="display:none"' if is_open else ""
            parts.append(f'<g class="closed"{hide}>{collapsed_svg(box)}</g>')
        if both or is_open:
            hide = "" if is_open else ' style="display:none"'
            parts.append(f'<g class="open"{hide}>{cluster_svg(p, box)}</g>')
        boxes.append(f'<g class="box {" ".join(box.classes)}" data-id={quoteattr(box.id)} '
                     f'data-block={quoteattr(box.id)} transform="translate({cx - w / 2:.1f},'
                     f'{cy - h / 2:.1f})"><title>{escape(box.tip)}</title>{"".join(parts)}</g>')
    return (f'<g class="edges">{edges_svg(p, a)}</g><g class="shares">{shares_svg(p, a)}</g>'
            f'<g class="boxes">{"".join(boxes)}</g>')


def legend_svg() -> str:
    out, x = [], 0.0
    for cls, label in LEGEND_ITEMS:
        if cls == "share":
            out.append(f'<path class="share" d="M{x:.1f},7 h22"/>')
            sw = 22.0
        else:
            out.append(f'<g class="box {cls}"><rect class="bg" x="{x:.1f}" width="18" '
                       f'height="14" rx="3"/></g>')
            sw = 18.0
        out.append(f'<text x="{x + sw + 4:.1f}" y="11" class="count">{escape(label)}</text>')
        x += sw + 4 + len(label) * CHAR + 16
    return "".join(out)


def min_width(p: Placed) -> float:
    """Room for the title and the legend."""
    return max((len(p.view.name) + 30) * CHAR * 1.2, 560.0)


def panel_size(p: Placed, a: Arranged) -> tuple[float, float]:
    arcs = SHARE_ROOM if p.view.shares else 0.0  # the shared-weight arcs bulge out
    return max(a.width + arcs, min_width(p)) + 2 * MARGIN, TITLE + a.height + MARGIN + LEGEND


def document(panels: list[Placed], expanded: set[str] | frozenset[str], *,
             both: bool = False) -> tuple[str, float, float]:
    """The ``<svg>`` element of all panels (side by side, or stacked for LR) and its size."""
    parts = []
    ox = oy = 0.0
    width = height = 0.0
    lr = bool(panels) and panels[0].direction == "LR"
    for i, p in enumerate(panels):
        a = arrange(p, expanded)
        pw, ph = panel_size(p, a)
        title = f"{p.view.name} · {p.view.params:,} params"
        parts.append(
            f'<g class="panel" data-panel="{i}" data-network={quoteattr(p.view.name)} '
            f'transform="translate({ox:.1f},{oy:.1f})">'
            f'<text class="title" x="{MARGIN:.1f}" y="18">{escape(title)}</text>'
            f'<g class="content" transform="translate({MARGIN:.1f},{TITLE:.1f})">'
            f'{content_svg(p, a, both=both, expanded=expanded)}</g>'
            f'<g class="legend" transform="translate({MARGIN:.1f},'
            f'{TITLE + a.height + MARGIN:.1f})">{legend_svg()}</g></g>')
        width, height = (max(width, pw), oy + ph) if lr else (ox + pw, max(height, ph))
        if lr:
            oy += ph + MARGIN
        else:
            ox += pw + MARGIN
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.1f} {height:.1f}"><defs>{ARROW}<style>{STYLE}</style></defs>'
           f'<rect width="100%" height="100%" fill="#fff"/>{"".join(parts)}</svg>')
    return svg, width, height
