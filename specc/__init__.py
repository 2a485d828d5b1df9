"""specc: a declarative model-spec compiler for deep learning.

Public API (mirrors the CLI)::

    spec = specc.load("specs/dcn.yaml", overrides=["params.num_classes=5"])
    model = specc.build(spec)            # torch.nn.Module (torch.fx GraphModule)
    print(specc.summary(spec))
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import Any

from .errors import SpecError
from .registry import (
    register_activation,
    register_backend,
    register_dataset,
    register_initializer,
    register_layer,
    register_loss,
    register_metric,
    register_optimizer,
    register_schedule,
    register_trainer,
)

_LAZY = {
    "load": ("specc.assembled", "load"),
    "Spec": ("specc.assembled", "Spec"),
    "build": ("specc.api", "build"),
    "compile": ("specc.backends.builtin", "compile_spec"),
    "summary": ("specc.api", "summary"),
    "save_weights": ("specc.api", "save_weights"),
    "train": ("specc.train", ""),  # the package is callable: specc.train(spec, ...)
    "evaluate": ("specc.train.api", "evaluate"),
    "predict": ("specc.train.api", "predict"),
    "load_model": ("specc.train.api", "load_model"),
    "export": ("specc.backends.onnx.export", "export"),
    "InferenceSession": ("specc.backends.onnx.runtime", "InferenceSession"),
    "draw": ("specc.diagram", "draw"),
}


def __getattr__(name: str) -> Any:
    """Heavy parts (torch, onnxruntime) load on first use, so validation stays fast.

    No submodule of specc may be named like a public name other than ``train`` (the callable
    package): importing it would put the module where the function belongs. A test walks every
    submodule to keep it so.
    """
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        value = getattr(mod, attr) if attr else mod
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'specc' has no attribute {name!r}")


__all__ = ["SpecError", "__version__", "register_activation", "register_backend",
           "register_dataset", "register_initializer", "register_layer", "register_loss",
           "register_metric", "register_optimizer", "register_schedule", "register_trainer",
           *_LAZY]
