"""The built-in backends, registered through the ``specc.backends`` entry-point group like any
plugin backend. This module is torch-free; each backend imports its toolkit when it compiles.

A backend is a class with ``name``, a one-line ``description`` and
``compile(spec, network=None, **options)`` returning the compiled artifact.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TorchBackend:
    """PyTorch: a ``torch.fx.GraphModule`` with generated straight-line ``forward``."""

    name: ClassVar[str] = "torch"
    description: ClassVar[str] = "torch.nn.Module (torch.fx GraphModule with generated forward)"

    def compile(self, spec: Any, network: str | None = None, **options: Any) -> Any:
        from .torch import build_module

        return build_module(spec.network(network), pretrained=spec.pretrained_for(network),
                            **options)


class OnnxBackend:
    """ONNX: an exported, checked ``.onnx`` file (options as :func:`specc.export`)."""

    name: ClassVar[str] = "onnx"
    description: ClassVar[str] = "ONNX file checked with onnx.checker and onnxruntime parity"

    def compile(self, spec: Any, network: str | None = None, **options: Any) -> Any:
        from .onnx.export import export

        return export(spec, options.pop("output", None), network=network, **options)


def compile_spec(spec: Any, backend: str = "torch", network: str | None = None,
                 **options: Any) -> Any:
    """Compile ``spec`` (path, name, dict or Spec) with a registered backend."""
    from ..assembled import Spec, load
    from ..registry import current

    if not isinstance(spec, Spec):
        spec = load(spec)
    cls = current().backends.get(backend)
    return cls().compile(spec, network, **options)
