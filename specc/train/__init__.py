"""Training: trainer regimes, losses, optimizers, metrics, checkpoints and run directories.

``specc.train(...)`` is callable (it runs :func:`specc.train.api.train`) while ``specc.train``
stays the package holding the training engine.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .api import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
