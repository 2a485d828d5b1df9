"""A layered (Sugiyama) layout, in pure Python: cycle removal, layering, dummy nodes for long
edges, barycenter crossing reduction, and coordinates by weighted isotonic regression.

Written here rather than taken from a package: the graphs are small DAGs in a known order, and
a few hundred lines give full control of sizes, directions and speed (no graphviz binary).

Coordinates are computed along two axes: ``rank`` (down the layers) and ``order`` (across a
layer); :func:`layout` maps them onto x/y for top-to-bottom (TB) or left-to-right (LR).
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass

RANK_GAP = 48.0  # between layers (room for the edge labels)
ORDER_GAP = 28.0  # between boxes of one layer
DUMMY = 12.0  # width an edge passing through a layer takes
SWEEPS = 12
MAX_BENDS = 20_000  # edge bend points at most; longer edges beyond it are drawn direct
FOLD_GAP, FOLD_PAD = 56.0, 48.0  # between folded columns; room above and below them
SCREEN = 1.6  # width / height a folded drawing aims at
FOLD_MIN = 1200.0  # a drawing shorter than this (px along the layers) is never folded


@dataclass
class Geometry:
    """Box centres, the bend points of each edge (same order as the edges given) and the
    extent of the drawing (it starts at 0, 0)."""

    pos: dict[str, tuple[float, float]]
    routes: list[list[tuple[float, float]]]
    width: float
    height: float
    label_seg: list[int] | None = None  # per edge: the segment its label sits on (-1: middle)
    cols: dict[str, int] | None = None  # folded column (row for LR) of each box
    route_cols: list[list[int]] | None = None  # and of each bend point


def _acyclic(ids: list[str], edges: list[tuple[str, str]]
             ) -> tuple[list[tuple[str, str]], list[str]]:
    """Edges with any that close a cycle reversed (depth-first, in ``ids`` order; a compiled
    graph has none, a collapsed one normally none), and a topological order that keeps
    ``ids`` order where it can."""
    succs: dict[str, list[str]] = {n: [] for n in ids}
    for a, b in edges:
        if a != b:
            succs[a].append(b)
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    back: set[tuple[str, str]] = set()
    for root in ids:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succs[root]))]
        while stack:
            n, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[n] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((n, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succs[nxt])))
    dag = [(b, a) if (a, b) in back else (a, b) for a, b in edges if a != b]
    index = {n: i for i, n in enumerate(ids)}
    indeg = dict.fromkeys(ids, 0)
    out: dict[str, list[str]] = {n: [] for n in ids}
    for a, b in dag:
        indeg[b] += 1
        out[a].append(b)
    ready = [index[n] for n in ids if indeg[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = ids[heapq.heappop(ready)]
        order.append(n)
        for m in out[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                heapq.heappush(ready, index[m])
    return dag, order


def _layers(order: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the sources. Where there are several inputs, the nodes that only the
    later inputs reach sit as low as they can (just above their consumers), so a second input
    enters where it is used, not at the top; sinks sit just below their last input."""
    preds: dict[str, list[str]] = {n: [] for n in order}
    succs: dict[str, list[str]] = {n: [] for n in order}
    for a, b in edges:
        preds[b].append(a)
        succs[a].append(b)
    rank: dict[str, int] = {}
    for n in order:
        rank[n] = max((rank[p] + 1 for p in preds[n]), default=0)
    sources = [n for n in order if not preds[n] and succs[n]]
    if len(sources) > 1:
        height: dict[str, int] = {}
        for n in reversed(order):
            height[n] = max((height[s] + 1 for s in succs[n]), default=0)
        main = max(sources, key=lambda n: height[n])  # the first of the longest
        reach, todo = {main}, [main]
        while todo:
            for s in succs[todo.pop()]:
                if s not in reach:
                    reach.add(s)
                    todo.append(s)
        bottom = max(rank.values())
        for n in reversed(order):
            if n not in reach and (succs[n] or preds[n]):  # an unused input stays put
                rank[n] = min((rank[s] - 1 for s in succs[n]), default=bottom)
        for n in order:
            if n not in reach and not succs[n] and preds[n]:
                rank[n] = max(rank[p] for p in preds[n]) + 1
    return rank


def _crossings(upper: list[str], lower: list[str], down: dict[str, list[str]]) -> int:
    pos = {n: i for i, n in enumerate(lower)}
    seen: list[int] = []
    total = 0
    for n in upper:
        ends = sorted(pos[m] for m in down.get(n, ()) if m in pos)
        for e in ends:
            total += len(seen) - bisect.bisect_right(seen, e)
        for e in ends:
            bisect.insort(seen, e)
    return total


def _order(layers: list[list[str]], up: dict[str, list[str]],
           down: dict[str, list[str]]) -> list[list[str]]:
    """Barycenter sweeps down and up; the ordering with the fewest crossings wins."""

    def count(ls: list[list[str]]) -> int:
        return sum(_crossings(ls[i], ls[i + 1], down) for i in range(len(ls) - 1))

    best = [list(layer) for layer in layers]
    best_n = count(best)
    cur = [list(layer) for layer in layers]
    for sweep in range(SWEEPS):
        if best_n == 0:
            break
        rng = range(1, len(cur)) if sweep % 2 == 0 else range(len(cur) - 2, -1, -1)
        nbrs = up if sweep % 2 == 0 else down
        for i in rng:
            ref = cur[i - 1] if sweep % 2 == 0 else cur[i + 1]
            pos = {n: k for k, n in enumerate(ref)}
            keyed = []
            for k, n in enumerate(cur[i]):
                ps = [pos[m] for m in nbrs.get(n, ()) if m in pos]
                keyed.append((sum(ps) / len(ps) if ps else k, k, n))
            cur[i] = [n for _, _, n in sorted(keyed)]
        n_cross = count(cur)
        if n_cross < best_n:
            best, best_n = [list(layer) for layer in cur], n_cross
    return best


def _isotonic(targets: list[float], weights: list[float], gaps: list[float]) -> list[float]:
    """Positions closest (weighted least squares) to ``targets`` with ``x[i+1] - x[i] >=
    gaps[i]``: pool-adjacent-violators on the targets less the cumulative gaps."""
    offs = [0.0]
    for g in gaps:
        offs.append(offs[-1] + g)
    blocks: list[list[float]] = []  # [weighted mean, weight, count]
    for t, w, o in zip(targets, weights, offs, strict=True):
        blocks.append([t - o, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for m, _, c in blocks:
        out.extend([m] * int(c))
    return [v + o for v, o in zip(out, offs, strict=True)]


def _coords(layers: list[list[str]], size: dict[str, float], up: dict[str, list[str]],
            down: dict[str, list[str]], dummy: set[str]) -> dict[str, float]:
    """Order-axis centres: each box pulled towards its neighbours' mean, boxes kept apart;
    edge bends weigh more, so long edges run straight."""
    x: dict[str, float] = {}
    for layer in layers:
        at = 0.0
        for n in layer:
            x[n] = at + size[n] / 2
            at += size[n] + ORDER_GAP
    for sweep in range(8):
        rng = range(len(layers)) if sweep % 2 == 0 else range(len(layers) - 1, -1, -1)
        for i in rng:
            layer = layers[i]
            targets, weights = [], []
            for n in layer:
                nb = (up if sweep % 2 == 0 else down).get(n, [])
                nb = nb or (down if sweep % 2 == 0 else up).get(n, [])
                targets.append(sum(x[m] for m in nb) / len(nb) if nb else x[n])
                weights.append(4.0 if n in dummy else 1.0)
            gaps = [(size[a] + size[b]) / 2 + ORDER_GAP for a, b in zip(layer, layer[1:], strict=False)]
            for n, v in zip(layer, _isotonic(targets, weights, gaps), strict=True):
                x[n] = v
    return x


def layout(sizes: dict[str, tuple[float, float]], edges: list[tuple[str, str]],
           direction: str = "TB", fold: bool = False, gap: float = RANK_GAP) -> Geometry:
    """Place boxes of ``sizes`` (id -> width, height, in topological order) and route
    ``edges`` between them, top to bottom (``TB``) or left to right (``LR``). ``fold``: a
    long chain of layers is cut into columns (rows) that fit a screen. ``gap``: between
    layers."""
    ids = list(sizes)
    if not ids:
        return Geometry({}, [[] for _ in edges], 0.0, 0.0, [-1] * len(edges), {},
                        [[] for _ in edges])
    lr = direction == "LR"
    across = {n: (h if lr else w) for n, (w, h) in sizes.items()}
    along = {n: (w if lr else h) for n, (w, h) in sizes.items()}
    dag, order = _acyclic(ids, edges)
    rank = _layers(order, dag)
    n_layers = max(rank.values()) + 1
    layers: list[list[str]] = [[] for _ in range(n_layers)]
    for n in ids:
        layers[rank[n]].append(n)
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    chains: list[list[str]] = []
    dummy: set[str] = set()
    spans = sorted(range(len(dag)), key=lambda k: rank[dag[k][1]] - rank[dag[k][0]])
    routed, spent = set(), 0
    for k in spans:  # bends for the shortest edges first, within the budget
        spent += rank[dag[k][1]] - rank[dag[k][0]] - 1
        if spent > MAX_BENDS:
            break
        routed.add(k)
    for k, (a, b) in enumerate(dag):
        chain = [a]
        for r in range(rank[a] + 1, rank[b]) if k in routed else ():
            d = f"\0{k}:{r}"
            dummy.add(d)
            across[d], along[d] = DUMMY, 0.0
            layers[r].append(d)
            chain.append(d)
        chain.append(b)
        for s, t in zip(chain, chain[1:], strict=False):
            down.setdefault(s, []).append(t)
            up.setdefault(t, []).append(s)
        chains.append(chain)
    layers = _order(layers, up, down)
    o = _coords(layers, across, up, down, dummy)
    depth = [max((along[n] for n in layer), default=0.0) for layer in layers]
    layer_of = {n: i for i, layer in enumerate(layers) for n in layer}
    folded = _fold(layers, depth, o, across, chains, lr, gap) if fold else None
    if folded is None:
        col = dict.fromkeys(range(len(layers)), 0)
        starts, shifts, pad = [0.0], [0.0], 0.0
    else:
        col, starts, shifts, pad = folded
    r_at: list[float] = []
    at = 0.0
    for i, d in enumerate(depth):
        if i and col[i] != col[i - 1]:
            at = 0.0
        r_at.append(pad + at + d / 2)
        at += d + gap
    lo = min(o[n] - across[n] / 2 for n in o)
    o = {n: v - lo + shifts[col[layer_of[n]]] for n, v in o.items()}
    rank_extent = max(r_at[i] + d / 2 for i, d in enumerate(depth)) + pad
    col_end: dict[int, float] = {}
    for i, d in enumerate(depth):
        col_end[col[i]] = max(col_end.get(col[i], 0.0), r_at[i] + d / 2)
    order_extent = max(o[n] + across[n] / 2 for n in o)

    def point(n: str) -> tuple[float, float]:
        return (r_at[layer_of[n]], o[n]) if lr else (o[n], r_at[layer_of[n]])

    def raw(orde: float, rnk: float) -> tuple[float, float]:
        return (rnk, orde) if lr else (orde, rnk)

    pos = {n: point(n) for n in ids}
    routes, label_seg, route_cols = [], [], []
    chain_of = {(c[0], c[-1]): c for c in chains}
    gutter_use: dict[int, int] = {}
    for a, b in edges:
        if a == b:
            routes.append([])
            route_cols.append([])
            label_seg.append(-1)
            continue
        c = chain_of.get((a, b)) or list(reversed(chain_of[(b, a)]))
        route: list[tuple[float, float]] = []
        rcols: list[int] = []
        seg = -1
        for k, (s, t) in enumerate(zip(c, c[1:], strict=False)):
            if k:
                route.append(point(s))
                rcols.append(col[layer_of[s]])
            cs, ct = col[layer_of[s]], col[layer_of[t]]
            if cs != ct:  # across a fold: down past the column, over, up to the next top
                lane = gutter_use.get(min(cs, ct), 0)
                gutter_use[min(cs, ct)] = lane + 1
                g = (starts[max(cs, ct)] - FOLD_GAP / 2) + (lane % 4) * 5 - 7
                bottom = col_end[min(cs, ct)] + pad / 2 + (lane % 4) * 4
                top = pad / 2 - (lane % 4) * 4
                if seg < 0:  # label beside the drop (TB) or on the way back (LR)
                    seg = len(route) + (2 if lr else 0)
                route += [raw(o[s], bottom), raw(g, bottom), raw(g, top), raw(o[t], top)]
                rcols += [cs, cs, ct, ct]
        routes.append(route)
        route_cols.append(rcols)
        label_seg.append(seg)
    cols = {n: col[layer_of[n]] for n in ids}
    return Geometry(pos, routes, rank_extent if lr else order_extent,
                    order_extent if lr else rank_extent, label_seg, cols, route_cols)


def _fold(layers: list[list[str]], depth: list[float], o: dict[str, float],
          across: dict[str, float], chains: list[list[str]], lr: bool, gap: float,
          ) -> tuple[dict[int, int], list[float], list[float], float] | None:
    """Cut a long, narrow layout into side-by-side columns (rows for LR) so that it fits a
    screen: cuts go where the fewest edges cross. None when folding would not help."""
    rank_ext = sum(depth) + gap * (len(depth) - 1)
    width = max(o[n] + across[n] / 2 for n in o) - min(o[n] - across[n] / 2 for n in o)
    want = SCREEN if not lr else 1 / SCREEN  # width / height of the folded drawing
    k = round(math.sqrt(want * rank_ext / max(width, 1.0))) if not lr else \
        round(math.sqrt(rank_ext / max(width, 1.0) / SCREEN))
    k = min(k, len(layers) // 3)
    if k < 2 or rank_ext < FOLD_MIN:
        return None
    layer_of = {n: i for i, layer in enumerate(layers) for n in layer}
    crossing = [0] * len(layers)  # edges between layer i-1 and i
    for c in chains:
        for s, t in zip(c, c[1:], strict=False):
            crossing[max(layer_of[s], layer_of[t])] += 1
    target = rank_ext / k
    col: dict[int, int] = {}
    cuts: list[int] = []
    at, start = 0.0, 0.0
    for i, d in enumerate(depth):
        if len(cuts) < k - 1 and i > 0 and at + d / 2 - start > target:
            window = [j for j in range(max(i - 2, (cuts[-1] if cuts else 0) + 1), i + 1)]
            best = min(window, key=lambda j: (crossing[j], abs(j - i)))
            cuts.append(best)
            start = sum(depth[:best]) + gap * best
        at += d + gap
    c = 0
    for i in range(len(layers)):
        if c < len(cuts) and i == cuts[c]:
            c += 1
        col[i] = c
    starts, shifts, right = [], [], 0.0
    for ci in range(len(cuts) + 1):
        ns = [n for i, layer in enumerate(layers) if col[i] == ci for n in layer]
        left = min(o[n] - across[n] / 2 for n in ns)
        wide = max(o[n] + across[n] / 2 for n in ns) - left
        start = right + (FOLD_GAP if ci else 0.0)
        starts.append(start)
        shifts.append(start - left)
        right = start + wide
    lo = min(o[n] - across[n] / 2 for n in o)
    shifts = [s + lo for s in shifts]  # o is shifted by -lo before these apply
    return col, starts, shifts, FOLD_PAD
