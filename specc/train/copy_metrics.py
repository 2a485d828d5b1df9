"""``bit_errors``: wrong bits per sequence on the masked steps of a bit-sequence task.

The network's output (probabilities, as at inference) is thresholded at 0.5 and compared with
the targets at the steps the dataset's mask array marks (the copy task's recall steps); the
count of wrong bits of each sequence is averaged over the sequences. It reads the whole split
(the mask is a dataset array, not a stream of predictions), so it is logged on the validation
split: ``val_bit_errors``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..data.prepare import mask_key
from ..entries import NoParams, SplitContext, SplitMetric
from ..errors import SpecError, did_you_mean

PATH = ("train", "metrics")
CHUNK = 512  # sequences run together


class BitErrorsParams(NoParams):
    mask: str | None = Field(None, description="Dataset array marking the steps that count "
                             "(default: the output's loss mask, else the array 'mask').")
    output: str | None = Field(None, description="Graph output read (default: the only one).")


def count_bit_errors(probs: Any, target: Any, mask: Any) -> Any:
    """Wrong bits per sequence (n,): ``probs``/``target`` (n, time, bits), ``mask`` (n, time)
    or the targets' shape."""
    wrong = ((probs > 0.5) != (target > 0.5)).to(probs.dtype)
    m = mask.to(probs.dtype)
    m = m.reshape(m.shape + (1,) * (wrong.dim() - m.dim()))
    return (wrong * m).flatten(1).sum(dim=1)


class BitErrors(SplitMetric):
    """Wrong bits per sequence (threshold 0.5) on the steps a mask array marks, averaged over
    sequences."""

    name = "bit_errors"
    Params = BitErrorsParams
    mode = "min"
    task = "any"

    @classmethod
    def evaluate(cls, p: BitErrorsParams, ctx: SplitContext) -> float:
        import torch

        out = cls._output(p, ctx)
        if p.mask is None and mask_key(out) in ctx.targets:
            mask = torch.as_tensor(ctx.targets[mask_key(out)])
        else:
            key = p.mask or "mask"
            if key not in ctx.extras:
                raise SpecError(f"metric '{cls.name}' reads the mask array '{key}', which the "
                                "dataset does not have", path=PATH, received=key,
                                hint=did_you_mean(key, list(ctx.extras))
                                or "arrays: " + ", ".join(ctx.extras))
            mask = torch.as_tensor(ctx.extras[key])
        target = torch.as_tensor(ctx.targets[out])
        n = len(target)
        if n == 0:
            return float("nan")
        total = 0.0
        for start in range(0, n, CHUNK):
            part = slice(start, start + CHUNK)
            probs = ctx.predict({k: v[part] for k, v in ctx.inputs.items()})[out].cpu()
            total += float(count_bit_errors(probs, target[part].to(probs.dtype)
                                            .reshape(probs.shape), mask[part]).sum())
        return total / n

    @staticmethod
    def _output(p: BitErrorsParams, ctx: SplitContext) -> str:
        outputs = [k for k in ctx.targets if mask_key(k.removesuffix(":mask")) != k]
        if p.output is not None:
            if p.output not in ctx.targets:
                raise SpecError(f"metric 'bit_errors' reads output '{p.output}', which has no "
                                "targets", path=PATH, received=p.output,
                                hint=did_you_mean(p.output, outputs))
            return p.output
        if len(outputs) != 1:
            raise SpecError("metric 'bit_errors' reads one output; name it with "
                            "{bit_errors: {output: NAME}}", path=PATH,
                            received=f"{len(outputs)} outputs with targets")
        return outputs[0]
