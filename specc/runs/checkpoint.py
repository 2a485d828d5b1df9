"""Crash-safe files: atomic writes, and checkpoints committed as a set.

A checkpoint ``TAG`` is three files in ``checkpoints/``: ``TAG.safetensors`` (the model's
state dict, loadable on its own), ``TAG.state.safetensors`` (optimizer tensors, RNG states)
and ``TAG.json`` (epoch, step, scalars, and where each tensor went). They are written into a
staging folder, fsynced, marked complete, then moved into place; the next writer rolls a
complete staging folder forward (or drops an incomplete one), so killing the process at any
instant leaves either the old checkpoint or the new one, never a mix. Readers write nothing:
they read each file of a complete staging folder in place of the committed one. Nothing is
unpickled: tensors load through safetensors, everything else is JSON (depth-bounded); links
out of the run folder, a FIFO or device, and malformed state are clear errors.
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
from ..fileio import (
    atomic_write,
    check_regular,
    fsync_dir,
    inside,
    read_safetensors,
    read_text_bounded,
)

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


def decode(obj: Any, tensors: dict[str, torch.Tensor], depth: int = 0) -> Any:
    """The nested state ``encode`` made; KeyError/TypeError/ValueError when malformed."""
    if depth > 100:
        raise ValueError("state nests deeper than 100 levels")
    d = depth + 1
    if isinstance(obj, list):
        return [decode(v, tensors, d) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors[_key(obj["__tensor__"])]
    if "__ndarray__" in obj:
        return tensors[_key(obj["__ndarray__"])].numpy()
    if "__dict__" in obj:
        return {k: decode(v, tensors, d) for k, v in _mapping(obj["__dict__"]).items()}
    if "__items__" in obj:
        return {_hashable(decode(k, tensors, d)): decode(v, tensors, d)
                for k, v in obj["__items__"]}
    if "__tuple__" in obj:
        return tuple(decode(v, tensors, d) for v in obj["__tuple__"])
    if "__float__" in obj:
        return float(obj["__float__"])
    return obj


def _key(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"tensor name must be a string, not {type(name).__name__}")
    return name


def _mapping(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise TypeError(f"'__dict__' must hold an object, not {type(obj).__name__}")
    return obj


def _hashable(key: Any) -> Any:
    hash(key)  # TypeError for a list key
    return key


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
    """The ``checkpoints/`` folder of a run; ``root`` (the run folder) bounds where links in
    it may point."""

    def __init__(self, folder: str | Path, root: str | Path | None = None) -> None:
        self.folder = Path(folder)
        self.root = Path(root) if root is not None else self.folder

    def recover(self) -> None:
        """Finish a commit interrupted after it was complete; drop an incomplete one.
        Writers only (save, a resumed training); readers use :meth:`_file`."""
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
        atomic_write(staging / _MARK, stamp, "checkpoint file")
        fsync_dir(staging)
        self.recover()

    def _file(self, tag: str, name: str) -> Path:
        """Where to read ``name`` of checkpoint ``tag``: a complete, not yet rolled forward
        staging folder wins (read in place, nothing moved)."""
        staging = self.folder / f".staging-{tag}"
        if (staging / _MARK).is_file() and (staging / name).is_file():
            return staging / name
        return self.folder / name

    def exists(self, tag: str) -> bool:
        """Whether checkpoint ``tag`` is there (in any form: :meth:`load` judges its files)."""
        return all(_present(self._file(tag, f)) for f in _files(tag))

    def load(self, tag: str, map_location: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(model state dict, state) of checkpoint ``tag``; reads only."""
        weights, extra, info = (self._file(tag, f) for f in _files(tag))
        if not _present(weights) or not _present(info):
            raise SpecError(f"no '{tag}' checkpoint in {self.folder}",
                            hint="the run may have stopped before its first checkpoint")
        for f in (weights, extra, info):
            if _present(f):
                inside(self.root, f, "checkpoint file")
        model = read_safetensors(weights, "checkpoint file", device=str(map_location))
        tensors = read_safetensors(extra, "checkpoint file") if _present(extra) else {}
        from .folder import RUN_FILE_LIMIT, parse_json

        check_regular(info, "checkpoint file", RUN_FILE_LIMIT)
        doc = parse_json(read_text_bounded(info, "checkpoint file", RUN_FILE_LIMIT), str(info))
        if not isinstance(doc, dict) or not isinstance(doc.get("state"), dict):
            raise SpecError("checkpoint JSON must be an object with a 'state' object",
                            file=str(info), hint="the file was changed or damaged; train again "
                            "or use the other checkpoint (--checkpoint best/last)")
        try:
            state = decode(doc["state"], tensors)
        except KeyError as exc:
            raise SpecError(f"checkpoint state names tensor {exc} that is not in {extra.name}",
                            file=str(info)) from None
        except (TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise SpecError(f"checkpoint state is malformed: {exc}", file=str(info)) from None
        if not isinstance(state, dict):
            raise SpecError("checkpoint state must be an object", file=str(info))
        for key in ("epoch", "step"):
            v = state.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise SpecError(f"checkpoint '{key}' must be a non-negative integer",
                                file=str(info), path=("state", key), received=v)
        if not isinstance(state.get("logs", {}), dict):
            raise SpecError("checkpoint 'logs' must be an object", file=str(info),
                            path=("state", "logs"))
        return model, state


def _kind(dtype: torch.dtype) -> str:
    if dtype.is_complex:
        return "complex"
    if dtype.is_floating_point:
        return "float"
    return "bool" if dtype == torch.bool else "int"


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def load_into(module: Any, state: dict[str, Any], where: Any,
              hint: str = "the checkpoint was changed, or comes from another spec") -> None:
    """``module.load_state_dict(state)``; missing, unexpected or wrong-shape tensors (a changed
    or tampered checkpoint) are a SpecError naming ``where`` and the first tensor at fault; so
    is a tensor of another kind (integer, bool or complex where the network holds floats)."""
    own = module.state_dict()
    for key, value in state.items():
        mine = own.get(key)
        if isinstance(value, torch.Tensor) and mine is not None and value.dtype != mine.dtype \
                and _kind(value.dtype) != _kind(mine.dtype):
            raise SpecError(f"the weights in {where} do not fit the network: '{key}' is "
                            f"{value.dtype} in the file but {mine.dtype} in the network",
                            hint=hint)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        why = lines[1] if len(lines) > 1 else (lines[0] if lines else "state does not fit")
        raise SpecError(f"the weights in {where} do not fit the network: {why[:300]}",
                        hint=hint) from None


def load_weights(module: Any, path: str | Path) -> None:
    """Load a safetensors weights file into a module (never unpickles); weights that do not
    fit are a SpecError naming the file."""
    state = read_safetensors(Path(path), "weights file")
    load_into(module, state, f"'{path}'", hint="were they saved from this spec?")
