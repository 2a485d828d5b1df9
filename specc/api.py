"""Python API mirroring the CLI: load, build, summary, save_weights."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .assembled import Spec, load

if TYPE_CHECKING:
    import torch


def _spec(spec: Spec | str | Path | dict[str, Any]) -> Spec:
    return spec if isinstance(spec, Spec) else load(spec)


def build(spec: Spec | str | Path | dict[str, Any], network: str | None = None, *,
          seed: int | None = 0, logits: bool = False, device: str | None = None,
          dtype: str | None = None) -> torch.nn.Module:
    """Compile a spec (or one of its networks) into a ``torch.nn.Module``."""
    from .backends.torch import build_module

    s = _spec(spec)
    return build_module(s.network(network), seed=seed, logits=logits, device=device, dtype=dtype,
                        pretrained=s.pretrained_for(network))


def save_weights(module: torch.nn.Module, path: str | Path) -> Path:
    """Write a module's state dict as safetensors, atomically (temp file, fsync, rename)."""
    from safetensors.torch import save

    from .fileio import atomic_write

    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    return atomic_write(path, save(state), "weights file")


def summary(spec: Spec | str | Path | dict[str, Any]) -> str:
    """A Keras-style summary table as plain text."""
    from .summarize import summary_text

    return summary_text(_spec(spec))
