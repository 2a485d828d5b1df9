"""The training preprocessing as part of the exported graph.

A run records, per float input, the deterministic steps its data went through (``data.json``:
rescale, unit/standard/minmax scaling, normalize; see :func:`specc.data.prepare.apply_preprocess`)
and, per regression output, the target scaling to undo. :func:`wrap` puts both around the
network as torch ops in the same order and float32 arithmetic, so the exported ``.onnx`` file
takes raw inputs and gives outputs in the targets' units, exactly as ``specc predict`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...types import TensorType

WRAPPED = "network"  # the attribute holding the network inside the wrapper


def steps(rec: Mapping[str, Any], t: TensorType) -> list[tuple[str, np.ndarray]]:
    """The record's steps for input type ``t`` (none for integer ids and booleans)."""
    if t.dtype.startswith(("int", "uint", "bool")):
        return []
    from ...data.prepare import preprocess_steps

    return preprocess_steps(dict(rec), t)


def wrap(module: Any, inputs: Mapping[str, TensorType],
         records: Mapping[str, Mapping[str, Any]],
         target_scale: Mapping[str, Mapping[str, Any]], outputs: list[str]) -> Any | None:
    """``module`` with the input preprocessing before it and the target scaling undone after
    it, or None when there is nothing to add."""
    import torch
    from torch import nn

    pre = {n: steps(records[n], t) for n, t in inputs.items() if n in records}
    post = {o: target_scale[o] for o in outputs if target_scale.get(o)}
    if not any(pre.values()) and not post:
        return None

    class WithPreprocessing(nn.Module):
        """Raw inputs -> training preprocessing -> network -> outputs in target units."""

        def __init__(self) -> None:
            super().__init__()
            self.add_module(WRAPPED, module)
            self.names = list(inputs)
            self.pre = [[(op, f"pre_{i}_{k}") for k, (op, _) in enumerate(pre.get(n, []))]
                        for i, n in enumerate(self.names)]
            for i, n in enumerate(self.names):
                for k, (_, value) in enumerate(pre.get(n, [])):
                    self.register_buffer(f"pre_{i}_{k}", torch.from_numpy(value.copy()))
            self.post = []
            for j, o in enumerate(outputs):
                if o in post:
                    self.register_buffer(f"post_{j}_scale",
                                         torch.tensor(post[o]["scale"], dtype=torch.float32))
                    self.register_buffer(f"post_{j}_shift",
                                         torch.tensor(post[o]["shift"], dtype=torch.float32))
                    self.post.append(j)

        def raw_inputs(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            """Raw inputs whose preprocessed values are ``feeds`` (for the parity check: random
            values of the scale the network was trained on, whatever the data's units)."""
            return {k: unapply(records[k], v, inputs[k]) if k in pre else v
                    for k, v in feeds.items()}

        def forward(self, *xs: Any) -> Any:
            args = []
            for x, ops in zip(xs, self.pre, strict=True):
                for op, name in ops:
                    c = getattr(self, name)
                    x = x * c if op == "mul" else (x - c if op == "sub" else x / c)
                args.append(x)
            out = getattr(self, WRAPPED)(*args)
            if not self.post:
                return out
            outs = list(out) if isinstance(out, tuple) else [out]
            for j in self.post:
                outs[j] = outs[j] * getattr(self, f"post_{j}_scale") + \
                    getattr(self, f"post_{j}_shift")
            return tuple(outs) if isinstance(out, tuple) else outs[0]

    return WithPreprocessing()


def unapply(rec: Mapping[str, Any], x: np.ndarray, t: TensorType) -> np.ndarray:
    """Raw inputs from preprocessed ones (the inverse of :func:`steps`; float32 rounding)."""
    ops = steps(rec, t)
    if not ops:
        return x
    out = x.astype(np.float32, copy=True)
    for op, c in reversed(ops):
        if op == "mul":
            out /= c
        elif op == "sub":
            out += c
        else:
            out *= c
    return out
