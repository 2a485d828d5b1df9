"""Helpers for the layer-kind tests: build a kind, run a batch, check shape and count."""

from __future__ import annotations

from typing import Any

import torch

from specc.layers.base import LayerKind
from specc.types import TensorType

DYNAMIC = 5  # size used for a dynamic (None) axis when making a batch


def torch_count(module: torch.nn.Module) -> tuple[int, int]:
    """(parameters, buffers other than BatchNorm's counter), as the contract counts them."""
    trainable = sum(p.numel() for p in module.parameters())
    frozen = sum(b.numel() for n, b in module.named_buffers()
                 if not n.endswith("num_batches_tracked"))
    return trainable, frozen


def types(*shapes: tuple[int | None, ...], dtype: str = "float32",
          feature_axis: int = -1) -> list[TensorType]:
    return [TensorType(tuple(s), dtype, feature_axis) for s in shapes]


def batch_for(t: TensorType, batch: int = 3) -> torch.Tensor:
    shape = (batch, *(DYNAMIC if d is None else d for d in t.shape))
    if t.dtype.startswith("int"):
        return torch.randint(0, 10, shape)
    return torch.randn(shape)


def run(kind: type[LayerKind], params: dict[str, Any] | None, inputs: list[TensorType],
        *, train: bool = False, xs: list[torch.Tensor] | None = None,
        ) -> tuple[TensorType, torch.nn.Module, torch.Tensor]:
    """Validate ``params``, infer, build and run a batch of 3; assert the output shape equals
    the inferred one (batch prepended; dynamic axes match any size) and ``count_params``
    equals torch's count."""
    p = kind.Params.model_validate(params or {})
    out = kind.infer(p, inputs)
    module = kind.build(p, inputs)
    module.train(train)
    xs = xs if xs is not None else [batch_for(t) for t in inputs]
    y = module(*xs)
    got = tuple(y.shape)
    assert len(got) == out.rank + 1 and got[0] == xs[0].shape[0], (got, out)
    assert all(d is None or d == g for d, g in zip(out.shape, got[1:], strict=True)), (got, out)
    assert kind.count_params(p, inputs) == torch_count(module)
    return out, module, y
