"""Crash-safe files: atomic writes, and checkpoints committed as a set.

A checkpoint ``TAG`` is three files in ``checkpoints/``: ``TAG.safetensors`` (the model's
state dict, loadable on its own), ``TAG.state.safetensors`` (optimizer tensors, RNG states)
and ``TAG.json`` (epoch, step, scalars, and where each tensor went). They are written into a
staging folder, fsynced, marked complete, then moved into place; a reader first rolls a
complete staging folder forward (or drops an incomplete one), so killing the process at any
instant leaves either the old checkpoint or the new one, never a mix. Nothing is unpickled:
tensors load through safetensors, everything else is JSON.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import SpecError
from .files import atomic_write, fsync_dir

_MARK = "COMPLETE"


# -- JSON encoding of nested state with tensors ---------------------------------------------


def encode(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """A JSON-able form of ``obj``; tensors/arrays go to ``tensors`` under ``prefix`` keys."""
    if isinstance(obj, torch.Tensor):
        key = prefix
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        key = prefix
        tensors[key] = torch.from_numpy(np.ascontiguousarray(obj)).clone()
        return {"__ndarray__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__dict__": {k: encode(v, f"{prefix}.{k}", tensors) for k, v in obj.items()}}
        return {"__items__": [[encode(k, f"{prefix}.k{i}", tensors),
                               encode(v, f"{prefix}.{i}", tensors)]
                              for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if "__ndarray__" in obj:
        return tensors[obj["__ndarray__"]].numpy()
    if "__dict__" in obj:
        return {k: decode(v, tensors) for k, v in obj["__dict__"].items()}
    if "__items__" in obj:
        return {decode(k, tensors): decode(v, tensors) for k, v in obj["__items__"]}
    if "__tuple__" in obj:
        return tuple(decode(v, tensors) for v in obj["__tuple__"])
    if "__float__" in obj:
        return float(obj["__float__"])
    return obj


# -- checkpoint sets --------------------------------------------------------------------------


def _files(tag: str) -> tuple[str, str, str]:
    return f"{tag}.safetensors", f"{tag}.state.safetensors", f"{tag}.json"


def _save_tensors(tensors: dict[str, torch.Tensor], path: Path, meta: dict[str, str]) -> None:
    from safetensors.torch import save_file

    # distinct storage per entry (shared weights would be refused by safetensors)
    seen: set[int] = set()
    out = {}
    for k, v in tensors.items():
        v = v.detach().cpu().contiguous()
        ptr = v.untyped_storage().data_ptr() if v.numel() else -1
        if ptr in seen:
            v = v.clone()
        seen.add(ptr)
        out[k] = v
    save_file(out, str(path), metadata=meta)


class CheckpointStore:
    """The ``checkpoints/`` folder of a run."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def recover(self) -> None:
        """Finish a commit interrupted after it was complete; drop an incomplete one."""
        if not self.folder.is_dir():
            return
        for staging in sorted(self.folder.glob(".staging-*")):
            if (staging / _MARK).exists():
                for f in staging.iterdir():
                    if f.name != _MARK:
                        os.replace(f, self.folder / f.name)
                fsync_dir(self.folder)
            shutil.rmtree(staging, ignore_errors=True)

    def save(self, tag: str, model_state: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        """Commit checkpoint ``tag``: model weights plus ``state`` (nested, may hold tensors)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.recover()
        weights, extra, info = _files(tag)
        staging = self.folder / f".staging-{tag}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        tensors: dict[str, torch.Tensor] = {}
        body = encode(state, "s", tensors)
        stamp = f"{state.get('epoch', 0)}:{state.get('step', 0)}"
        _save_tensors(model_state, staging / weights, {"checkpoint": stamp, "format": "pt"})
        _save_tensors(tensors or {"_": torch.zeros(0)}, staging / extra, {"checkpoint": stamp})
        (staging / info).write_text(json.dumps({"checkpoint": stamp, "state": body}, indent=1))
        for name in (weights, extra, info):
            with open(staging / name, "rb") as fh:
                os.fsync(fh.fileno())
        atomic_write(staging / _MARK, stamp)
        fsync_dir(staging)
        self.recover()

    def exists(self, tag: str) -> bool:
        self.recover()
        return all((self.folder / f).is_file() for f in _files(tag))

    def load(self, tag: str, map_location: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(model state dict, state) of checkpoint ``tag``."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        self.recover()
        weights, extra, info = (self.folder / f for f in _files(tag))
        if not weights.is_file() or not info.is_file():
            raise SpecError(f"no '{tag}' checkpoint in {self.folder}",
                            hint="the run may have stopped before its first checkpoint")
        try:
            model = load_file(str(weights), device=str(map_location))
            tensors = load_file(str(extra), device="cpu") if extra.is_file() else {}
            doc = json.loads(info.read_text())
        except (SafetensorError, OSError, ValueError) as exc:
            raise SpecError(f"checkpoint '{tag}' in {self.folder} is unreadable: {exc}") from None
        return model, decode(doc["state"], tensors)
