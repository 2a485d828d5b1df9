"""Keras-style model summaries (node, kind, output shape, parameters; totals)."""

from __future__ import annotations

from typing import Any

from .assembled import Spec
from .graph.ir import LayerGraph


def rows(graph: LayerGraph) -> list[tuple[str, str, str, str, str]]:
    out = []
    for name, t in graph.inputs.items():
        out.append((name, "input", str(t), "0", ""))
    for name, node in graph.nodes.items():
        kind = node.kind + (f" + {node.activation}" if node.activation else "")
        n = node.n_trainable + node.n_frozen
        extra = []
        if node.share:
            extra.append(f"shares {node.share}")
        if not node.trainable:
            extra.append("frozen")
        out.append((name, kind, str(node.type), f"{n:,}", ", ".join(node.inputs) +
                    (f" ({'; '.join(extra)})" if extra else "")))
    return out


def totals(graph: LayerGraph) -> dict[str, Any]:
    t, f = graph.param_counts
    return {"total": t + f, "trainable": t, "non_trainable": f, "bytes": (t + f) * 4}


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def summary_text(spec: Spec) -> str:
    lines = []
    for gname, graph in spec.networks.items():
        lines.append(f'Model: "{gname}"')
        table = [("Node", "Kind", "Output shape", "Param #", "Inputs"), *rows(graph)]
        widths = [max(len(r[i]) for r in table) for i in range(5)]
        sep = "-" * (sum(widths) + 8)
        for i, r in enumerate(table):
            lines.append("  ".join(c.ljust(w) if j != 3 else c.rjust(w)
                                   for j, (c, w) in enumerate(zip(r, widths, strict=False))).rstrip())
            if i == 0:
                lines.append(sep)
        tot = totals(graph)
        lines.append(sep)
        lines.append(f"Total params: {tot['total']:,} ({human_bytes(tot['bytes'])})")
        lines.append(f"Trainable params: {tot['trainable']:,}")
        lines.append(f"Non-trainable params: {tot['non_trainable']:,}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
