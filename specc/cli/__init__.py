"""Command-line interface: ``specc validate | build | train | export | run | ...``.

The group lives in :mod:`specc.cli.app`; each module here adds its commands to it, and is
imported the first time one of its commands runs (``app.COMMAND_MODULES``), so ``specc
validate`` does not pay for the training, export and drawing commands.
"""

from .app import main

__all__ = ["main"]
