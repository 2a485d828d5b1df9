"""Command-line interface: ``specc validate | build | train | export | run | ...``.

The group lives in :mod:`specc.cli.app`; each module here adds its commands to it.
"""

from . import core_cmds, onnx_cmds, plugin_cmds, train_cmds  # noqa: F401  (register commands)
from .app import main

__all__ = ["main"]
