"""Where everything goes: each network laid out once with its blocks collapsed, each block's
inside laid out on its own, and :func:`arrange` opening blocks by making room around them.

Opening a block grows its box to the size of its inside; every point right of (below) its
centre moves right (down) by half the growth and every point left of (above) it moves left
(up), so nothing overlaps and the layout's order is kept. The page script of the HTML output
(``html.py``) does the same in JavaScript when a block is clicked.
"""

from __future__ import annotations

from dataclasses import dataclass

from .layout import RANK_GAP, Geometry, layout
from .model import CHAR, Box, View

MARGIN = 16.0
CLUSTER_PAD, CLUSTER_HEAD = 10.0, 22.0
TITLE, LEGEND = 28.0, 30.0


@dataclass
class Placed:
    """A view and its base layout (blocks collapsed); ``inner`` lays out each block's inside."""

    view: View
    geom: Geometry
    inner: dict[str, Placed]
    direction: str

    def cluster_size(self, block: str) -> tuple[float, float]:
        g = self.inner[block].geom
        head = len(cluster_head(self.view.boxes[block])) * CHAR * 1.1
        return (max(g.width, head) + 2 * CLUSTER_PAD,
                g.height + 2 * CLUSTER_PAD + CLUSTER_HEAD)


def cluster_head(box: Box) -> str:
    """The title of an open block."""
    return f"▾ {box.id} · {box.lines[1][0]}"


def place(view: View, direction: str = "TB", fold: bool = True) -> Placed:
    """Lay out ``view`` (folded into columns when long) and each block's inside (unfolded)."""
    sizes = {b.id: b.size for b in view.boxes.values()}
    gap = RANK_GAP
    if direction == "LR":  # the shape labels sit on horizontal edges: make room
        gap = max(gap, max((len(e.label) for e in view.edges), default=0) * 5.6 + 14)
    geom = layout(sizes, [(e.src, e.dst) for e in view.edges], direction, fold, gap)
    inner = {b.id: place(b.inner, direction, False) for b in view.boxes.values() if b.inner}
    return Placed(view, geom, inner, direction)


@dataclass
class Arranged:
    """Final box rectangles (centre x, centre y, width, height), edge bend points, extent."""

    boxes: dict[str, tuple[float, float, float, float]]
    routes: list[list[tuple[float, float]]]
    width: float
    height: float


def _shift(v: float, c: float, d: float) -> float:
    return v + d if v > c + 1e-6 else v - d if v < c - 1e-6 else v


def arrange(p: Placed, expanded: set[str] | frozenset[str] = frozenset()) -> Arranged:
    """Rectangles and routes with the blocks in ``expanded`` open.

    An open block grows across its layer both ways (everything beside it moves aside) and
    along the layers one way: what comes after it, in its own column of a folded layout,
    moves on."""
    lr = p.direction == "LR"
    cols = p.geom.cols or {}
    rcols = p.geom.route_cols or [[0] * len(r) for r in p.geom.routes]
    boxes = {n: [x, y, *p.view.boxes[n].size] for n, (x, y) in p.geom.pos.items()}
    routes = [[list(q) for q in r] for r in p.geom.routes]
    for b in p.view.boxes:  # graph order, as the page script does
        if b not in expanded or b not in p.inner:
            continue
        cx, cy, w, h = boxes[b]
        big_w, big_h = p.cluster_size(b)
        dx, dy = max(big_w - w, 0), max(big_h - h, 0)
        col = cols.get(b, 0)
        o, r = (1, 0) if lr else (0, 1)  # order axis, rank axis
        c_o, c_r = (cy, cx) if lr else (cx, cy)
        d_o, d_r = (dy, dx) if lr else (dx, dy)
        points = [(q, cols.get(n, 0)) for n, q in boxes.items() if n != b]
        points += [(q, c) for route, rc in zip(routes, rcols, strict=True)
                   for q, c in zip(route, rc, strict=True)]
        for q, c in points:
            q[o] = _shift(q[o], c_o, d_o / 2)
            if c == col and q[r] > c_r + 1e-6:
                q[r] += d_r
        boxes[b][r] += d_r / 2
        boxes[b][2], boxes[b][3] = max(big_w, w), max(big_h, h)
    pts = [q for route in routes for q in route]
    lo_x = min([r[0] - r[2] / 2 for r in boxes.values()] + [q[0] for q in pts], default=0.0)
    lo_y = min([r[1] - r[3] / 2 for r in boxes.values()] + [q[1] for q in pts], default=0.0)
    hi_x = max([r[0] + r[2] / 2 for r in boxes.values()] + [q[0] for q in pts], default=0.0)
    hi_y = max([r[1] + r[3] / 2 for r in boxes.values()] + [q[1] for q in pts], default=0.0)
    out = {n: (r[0] - lo_x, r[1] - lo_y, r[2], r[3]) for n, r in boxes.items()}
    rts = [[(q[0] - lo_x, q[1] - lo_y) for q in route] for route in routes]
    return Arranged(out, rts, hi_x - lo_x, hi_y - lo_y)


def edge_points(a: Arranged, src: str, dst: str, route: list[tuple[float, float]],
                direction: str) -> list[tuple[float, float]]:
    """From the side of ``src`` facing the next layer to the facing side of ``dst``."""
    sx, sy, sw, sh = a.boxes[src]
    tx, ty, tw, th = a.boxes[dst]
    if direction == "LR":
        return [(sx + sw / 2, sy), *route, (tx - tw / 2, ty)]
    return [(sx, sy + sh / 2), *route, (tx, ty - th / 2)]


def path_d(pts: list[tuple[float, float]], direction: str) -> str:
    """Smooth curve through ``pts``, tangent to the rank axis at every point."""
    d = [f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if direction == "LR":
            m = (x0 + x1) / 2
            d.append(f"C{m:.1f},{y0:.1f} {m:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        else:
            m = (y0 + y1) / 2
            d.append(f"C{x0:.1f},{m:.1f} {x1:.1f},{m:.1f} {x1:.1f},{y1:.1f}")
    return " ".join(d)


def label_at(pts: list[tuple[float, float]], seg: int = -1, t: float = 0.5,
             direction: str = "TB") -> tuple[float, float]:
    """The point at ``t`` along segment ``seg`` (-1: the middle one) of :func:`path_d`'s
    curve: labels of edges that fan out sit nearer their targets, of edges that fan in nearer
    their sources, so they do not sit on one another."""
    k = (len(pts) - 1) // 2 if seg < 0 else seg
    (x0, y0), (x1, y1) = pts[k], pts[k + 1]
    u = 1 - t
    a, b, c = u ** 3 + 3 * u * u * t, 3 * u * t * t, t ** 3  # p0 + c1 | c2 | p3 weights
    if direction == "LR":  # controls (m, y0), (m, y1)
        m = (x0 + x1) / 2
        return x0 * u ** 3 + m * (3 * u * u * t + b) + x1 * c, y0 * a + y1 * (b + c)
    m = (y0 + y1) / 2
    return x0 * a + x1 * (b + c), y0 * u ** 3 + m * (3 * u * u * t + b) + y1 * c


def label_ts(view: View) -> list[float]:
    """Where along its curve each edge's label goes (see :func:`label_at`)."""
    outs: dict[str, int] = {}
    ins: dict[str, int] = {}
    for e in view.edges:
        outs[e.src] = outs.get(e.src, 0) + 1
        ins[e.dst] = ins.get(e.dst, 0) + 1
    return [0.7 if outs[e.src] > 1 >= ins[e.dst] else 0.3 if ins[e.dst] > 1 >= outs[e.src]
            else 0.5 for e in view.edges]
