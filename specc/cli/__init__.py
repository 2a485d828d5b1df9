"""Command-line interface: ``specc validate | build | train | export | run | ...``.

The group lives in :mod:`specc.cli.app`; each module here adds its commands to it.
"""

from . import (  # noqa: F401  (each module registers its commands)
    core_cmds,
    draw_cmds,
    generate_cmds,
    onnx_cmds,
    plugin_cmds,
    regime_cmds,
    train_cmds,
    viz_cmds,
)
from .app import main

__all__ = ["main"]
