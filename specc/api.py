"""Python API mirroring the CLI: load, build, summary, save_weights."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SpecError
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
    return build_module(s.network(network), seed=seed, logits=logits, device=device, dtype=dtype)


def build_all(spec: Spec | str | Path | dict[str, Any], *, seed: int | None = 0,
              device: str | None = None) -> dict[str, torch.nn.Module]:
    """Every network of a spec, each seeded differently but deterministically."""
    from .backends.torch import build_module

    s = _spec(spec)
    return {name: build_module(g, seed=None if seed is None else seed + i, device=device)
            for i, (name, g) in enumerate(s.networks.items())}


def save_weights(module: torch.nn.Module, path: str | Path) -> Path:
    """Write a module's state dict as safetensors, atomically (temp file, fsync, rename)."""
    from safetensors.torch import save

    from .fileio import atomic_write

    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    return atomic_write(path, save(state), "weights file")


def load_weights(module: torch.nn.Module, path: str | Path, strict: bool = True) -> Any:
    """Load safetensors weights into a module (never unpickles)."""
    from .fileio import read_safetensors

    p = Path(path)
    state = read_safetensors(p, "weights file")
    try:
        return module.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        raise SpecError(f"weights in '{p}' do not fit the model: {str(exc).splitlines()[0]}",
                        hint="were they saved from this spec?") from None


def summary(spec: Spec | str | Path | dict[str, Any]) -> str:
    """A Keras-style summary table as plain text."""
    from .summarize import summary_text

    return summary_text(_spec(spec))
