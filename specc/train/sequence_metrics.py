"""``exact_sequence``: a token decoder run greedily over a whole split, compared with the
targets.

The decoder starts from the first token of each sample's teacher-forced input (the start
token), feeds each step's most probable token back through the regime's ``predict`` (the
network as at inference; the same tokens as :func:`specc.forms.greedy_decode` and the exported
``greedy_decode`` form), and runs as many steps as the targets have. It logs the fraction of
sequences decoded exactly (``exact_sequence``) and of tokens right position by position
(``token_accuracy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..entries import NoParams, SplitContext, SplitMetric
from ..errors import SpecError

if TYPE_CHECKING:
    import torch

CHUNK = 256  # samples decoded together


class DecodeParams(NoParams):
    input: str | None = Field(None, description="The token input fed back (default: the "
                              "network's one integer input).")
    output: str | None = Field(None, description="The output read, a distribution over tokens "
                               "at every step (default: the network's one output).")


def greedy_tokens(predict: Any, inputs: dict[str, torch.Tensor], token_input: str, output: str,
                  steps: int) -> torch.Tensor:
    """Greedy decoding for ``steps`` steps from the first token of ``inputs[token_input]``:
    each step runs the network on the tokens so far and appends the most probable next token.
    Returns the decoded tokens (N, steps)."""
    import torch

    tokens = inputs[token_input][:, :1]
    for _ in range(steps):
        probs = predict({**inputs, token_input: tokens})[output]
        tokens = torch.cat([tokens, probs[:, -1].argmax(-1, keepdim=True).to(tokens)], dim=1)
    return tokens[:, 1:]


def _names(p: DecodeParams, ctx: SplitContext, metric: str) -> tuple[str, str]:
    """(token input, output) of the decoder; errors located in the metric's own fields."""
    ints = [k for k, v in ctx.inputs.items() if not v.is_floating_point()]
    token_input = p.input or (ints[0] if len(ints) == 1 else None)
    if token_input is None or token_input not in ctx.inputs:
        raise SpecError(f"metric '{metric}' decodes a token input; the network's inputs are "
                        + ", ".join(ctx.inputs), path=("input",), received=p.input or metric,
                        hint=f"name it: {{{metric}: {{input: NAME}}}}")
    if ctx.inputs[token_input].is_floating_point():
        raise SpecError(f"metric '{metric}' feeds tokens back into input '{token_input}', which "
                        "does not take integer token ids", path=("input",), received=token_input)
    output = p.output or (next(iter(ctx.targets)) if len(ctx.targets) == 1 else None)
    if output is None or output not in ctx.targets:
        raise SpecError(f"metric '{metric}' reads one output; the network's outputs are "
                        + ", ".join(ctx.targets), path=("output",), received=p.output or metric,
                        hint=f"name it: {{{metric}: {{output: NAME}}}}")
    return token_input, output


def decoded(p: DecodeParams, ctx: SplitContext, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(greedy tokens, target tokens) of ``ctx``'s split, both (N, T) on the CPU."""
    import torch

    token_input, output = _names(p, ctx, metric)
    targets = torch.as_tensor(ctx.targets[output])
    if targets.dim() != 2 or targets.is_floating_point():
        raise SpecError(f"metric '{metric}' compares token sequences, but output '{output}' "
                        f"has targets of shape {tuple(targets.shape[1:])} ({targets.dtype})",
                        path=("output",), received=metric, hint="targets: token ids (N, T)")
    inputs = {k: torch.as_tensor(v) for k, v in ctx.inputs.items()}
    chunks = [greedy_tokens(ctx.predict, {k: v[s:s + CHUNK] for k, v in inputs.items()},
                            token_input, output, targets.shape[1]).cpu()
              for s in range(0, len(targets), CHUNK)]
    tokens = torch.cat(chunks) if chunks else targets.clone()
    return tokens, targets


class ExactSequence(SplitMetric):
    """Fraction of samples whose greedily decoded token sequence equals the target exactly
    (column exact_sequence), and of tokens right (column token_accuracy)."""

    name = "exact_sequence"
    aliases = ("exact_caption",)
    Params = DecodeParams

    @classmethod
    def evaluate(cls, p: DecodeParams, ctx: SplitContext) -> dict[str, float]:  # type: ignore[override]
        tokens, targets = decoded(p, ctx, cls.name)
        right = (tokens == targets).double()
        if not len(targets):
            return {"exact_sequence": 0.0, "token_accuracy": 0.0}
        return {"exact_sequence": float(right.min(dim=1).values.mean()),
                "token_accuracy": float(right.mean())}
