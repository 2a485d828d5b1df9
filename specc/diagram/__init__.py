"""Diagrams of specs: ``specc draw SPEC -o model.svg|model.html`` and ``specc.draw(spec, path)``.

Built from the compiled graph (every shape and parameter count is known before any tensor
exists); never imports torch. See :mod:`.model` (what a box shows), :mod:`.layout` (the layered
layout), :mod:`.scene` (opening blocks), :mod:`.svg` and :mod:`.html` (the two outputs).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ..errors import SpecError

FORMATS = (".svg", ".html")
DIRECTIONS = ("TB", "LR")


def check_output(path: str | Path) -> str:
    """The format of ``path`` (``.svg`` or ``.html``); a SpecError for anything else."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".htm":
        suffix = ".html"
    if suffix not in FORMATS:
        raise SpecError("the output file must end in .svg or .html",
                        received=str(path), hint="e.g. -o model.svg or -o model.html")
    try:
        st = os.stat(p)
    except OSError:
        return suffix
    if not stat.S_ISREG(st.st_mode):
        raise SpecError(f"output '{path}' is not a regular file; specc only writes regular "
                        "files", hint="give a new file name")
    return suffix


def load_any(spec: Any, overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """A Spec from a Spec, dict, spec file, built-in name or run folder."""
    from ..assembled import Spec, load

    if isinstance(spec, Spec):
        return load(spec.resolved, overrides) if overrides else spec
    if isinstance(spec, (str, Path)) and Path(spec).is_dir():
        from ..runs.folder import load_spec

        return load_spec(spec, overrides)
    return load(spec, overrides)


def render(spec: Any, fmt: str = ".svg", *, direction: str = "TB", expand: bool = False,
           network: str | None = None) -> str:
    """The diagram of a loaded spec as SVG or HTML text."""
    from .model import build_view
    from .scene import place

    if direction not in DIRECTIONS:
        raise SpecError("direction must be TB or LR", received=direction)
    nets = spec.networks
    if network is not None:
        nets = {network: spec.network(network)}
    panels = [place(build_view(g, name), direction) for name, g in nets.items()]
    expanded = {b for p in panels for b in p.inner} if expand else set()
    if fmt == ".html":
        from .html import page

        return page(spec.name, panels, expanded)
    from .svg import document

    return document(panels, expanded)[0]


def draw(spec: Any, path: str | Path, *, overrides: list[str] | tuple[str, ...] = (),
         direction: str = "TB", expand: bool = False, network: str | None = None) -> Path:
    """Draw ``spec`` (a Spec, dict, spec file, built-in name or run folder) to ``path``: an
    ``.svg`` picture or a self-contained interactive ``.html`` page. Blocks are drawn closed
    unless ``expand``. Returns the path written; bad input raises :class:`SpecError`."""
    from ..fileio import atomic_output

    fmt = check_output(path)
    text = render(load_any(spec, overrides), fmt, direction=direction.upper(), expand=expand,
                  network=network)
    with atomic_output(path, "diagram") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


__all__ = ["check_output", "draw", "render"]
