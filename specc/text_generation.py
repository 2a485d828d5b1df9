"""Sample text from a trained character-level model (the ``char_rnn`` family).

The run directory records the dataset's vocabulary (``data.json``, written by the training
engine); character ids are indices into it. Generation feeds the prompt, then repeatedly
samples the next character from the model's distribution at the last step, sharpened or
flattened by a temperature, and appends it. The model sees at most ``context`` characters
(default: the training window), as it did in training.

A recurrent model (one that can run one step at a time, see :mod:`specc.forms`) carries its
state instead: the prompt is read once, then each character costs one step rather than a run
over the whole window. Within the window both give the same distribution; beyond it the
state remembers every character so far.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError

DEFAULT_CONTEXT = 100
MAX_LENGTH = 100_000  # characters per call: one model step each
MAX_PROMPT = 100_000
MAX_RECORD_BYTES = 16 * 2**20  # data.json


@dataclass
class TextModel:
    """A trained character model with its vocabulary, ready to sample from."""

    model: Any  # ids (1, length) -> probabilities, through the run's regime
    vocab: list[str]
    context: int
    per_step: bool  # the output is a distribution at every step (T, V), not only the last
    fixed: bool = False  # the input has a fixed length: exactly ``context`` characters
    #: A new stateful reader, ``feed(ids) -> probabilities after them``; None when the
    #: network cannot run one step at a time.
    stepper: Callable[[], Callable[[list[int]], Any]] | None = None

    @property
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.vocab)}


def load_text_model(run: str | Path, *, checkpoint: str = "best",
                    context: int | None = None) -> TextModel:
    """The network of a run trained on a character series, with its vocabulary."""
    from .runs.folder import resolve_run, run_file
    from .train.api import load_regime

    path = resolve_run(run)
    record_file = run_file(path, "data.json")  # a regular file inside the run, or None
    record = _read_record(record_file) if record_file is not None else {}
    vocab = record.get("vocab")
    if not vocab:
        raise SpecError(f"run '{run}' has no character vocabulary to generate with",
                        hint="generate samples from runs trained on text (e.g. the char_rnn "
                        "spec, dataset pydoc_topics or text_file)")
    spec, regime, _ = load_regime(path, checkpoint=checkpoint)
    if len(spec.networks) != 1:
        raise SpecError(f"generate needs a run of one network; spec '{spec.name}' has "
                        f"{len(spec.networks)}")
    graph = spec.graph
    (name, t), = _one("input", graph.inputs).items()
    if not t.dtype.startswith("int") or t.rank != 1:
        raise SpecError(f"generate needs a network whose input is a sequence of character ids "
                        f"(int, shape [length]); input '{name}' is {t.dtype} of shape "
                        f"{list(t.shape)}")
    (out, ot), = _one("output", graph.output_types).items()
    if ot.rank not in (1, 2) or (ot.shape[-1] or 0) < len(vocab):
        raise SpecError(f"generate needs an output giving one probability per character "
                        f"({len(vocab)}); output '{out}' has shape {list(ot.shape)}")
    if context is None:
        window = spec.train.data.window if spec.train is not None else None
        context = window.size if window is not None else DEFAULT_CONTEXT
    fixed = t.shape[0] is not None
    if fixed:
        context = t.shape[0]
    if context < 1:
        raise SpecError("the context must be at least 1 character", received=context)
    def model(ids: Any) -> Any:
        return regime.predict({name: ids})[out]

    return TextModel(model, list(vocab), context, ot.rank == 2, fixed,
                     _stepper(regime, graph, name, out))


def _stepper(regime: Any, graph: Any, name: str, out: str) -> Any:
    """A factory of stateful readers over the regime's network, or None (not steppable)."""
    from .forms.runner import runner_class
    from .forms.stepping import check_steppable

    net = getattr(getattr(regime, "network", None), "net", None)
    try:
        check_steppable(graph)
    except SpecError:
        return None
    if net is None:
        return None
    runner = runner_class()(net, graph).eval()

    def start() -> Callable[[list[int]], Any]:
        import torch

        state = runner.initial_state(1)
        device = next(net.parameters()).device

        one = torch.zeros((1, 1), dtype=torch.int64, device=device)

        def feed(ids: list[int]) -> Any:
            """Probabilities after reading ``ids`` (a prompt at once, then one step each)."""
            mode = "step" if len(ids) == 1 else "run"
            x = one.fill_(ids[0]) if mode == "step" else \
                torch.tensor([ids], dtype=torch.int64, device=device)
            with torch.no_grad():
                probs = runner.evaluate({name: x}, [out], mode, state)[out]
            return probs[0, -1] if probs.dim() == 3 else probs[0]

        return feed

    return start


def _read_record(path: Path) -> dict[str, Any]:
    """The run's ``data.json``; its vocabulary must be a list of distinct characters."""
    if path.stat().st_size > MAX_RECORD_BYTES:
        raise SpecError(f"the run's data record is larger than {MAX_RECORD_BYTES:,} bytes",
                        file=str(path), hint="the run folder was edited; train again")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError, OSError) as exc:
        raise SpecError(f"cannot read the run's data record: {type(exc).__name__}",
                        file=str(path)) from None
    vocab = record.get("vocab") if isinstance(record, dict) else None
    if vocab is not None and not (
            isinstance(vocab, list) and all(isinstance(c, str) and len(c) == 1 for c in vocab)
            and len(set(vocab)) == len(vocab)):
        raise SpecError("the run's vocabulary is not a list of distinct characters",
                        file=str(path), path=("vocab",),
                        hint="the run folder was edited; train again")
    return record if isinstance(record, dict) else {}


def _one(what: str, items: dict[str, Any]) -> dict[str, Any]:
    if len(items) != 1:
        raise SpecError(f"generate needs a network with one {what}; this one has "
                        f"{len(items)} ({', '.join(items)})")
    return items


def encode(text: str, vocab: list[str]) -> list[int]:
    """Character ids of ``text``; characters outside ``vocab`` are a SpecError."""
    index = {c: i for i, c in enumerate(vocab)}
    unknown = sorted({c for c in text if c not in index})
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        hint = f"the run's vocabulary has {len(vocab)} characters"
        if any(c.lower() in index for c in unknown) and all(c == c.lower() for c in vocab
                                                             if c.isalpha()):
            hint += "; it was trained on lowercase text"
        raise SpecError(f"the prompt has {len(unknown)} character(s) the model was not trained "
                        f"on: {shown}", path=("--prompt",), received=text, hint=hint)
    return [index[c] for c in text]


def next_distribution(tm: TextModel, ids: list[int]) -> Any:
    """The model's probabilities of the next character after ``ids`` (the last ``context``).

    Units past the vocabulary (a wider output layer) never saw a target and are left out."""
    import torch

    x = torch.tensor([ids[-tm.context:]], dtype=torch.int64)
    with torch.inference_mode():
        probs = tm.model(x)
    return vocab_distribution(probs[0, -1] if tm.per_step else probs[0], tm)


def vocab_distribution(probs: Any, tm: TextModel) -> Any:
    """The probabilities of the vocabulary's characters (float64, summing to 1)."""
    probs = probs.double()[:len(tm.vocab)]
    return probs / probs.sum()


def sample_next(probs: Any, temperature: float, generator: Any) -> int:
    """One id from ``probs`` at ``temperature`` (0: the most likely id)."""
    import torch

    if temperature == 0:
        return int(probs.argmax())
    if temperature == 1:  # the distribution itself: no round trip through the logarithm
        return int(torch.multinomial(probs, 1, generator=generator))
    logits = torch.log(probs.clamp_min(1e-30)) / temperature
    return int(torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator))


def generate(run: str | Path | TextModel, *, length: int = 200, temperature: float = 1.0,
             prompt: str = "", seed: int | None = None, checkpoint: str = "best",
             context: int | None = None, windowed: bool = False) -> str:
    """``length`` characters sampled from a trained character model after ``prompt``.

    ``run``: a run directory (or a loaded :class:`TextModel`). ``temperature`` divides the
    log-probabilities: 1 samples the model's distribution, lower is more conservative, 0 is
    greedy (always the most likely character). ``seed`` makes the sample reproducible. An
    empty prompt starts after a newline (or the first vocabulary character), repeated to fill
    the input of a model that reads a fixed number (a Markov chain's context). A recurrent
    model carries its state from character to character; ``windowed`` (or an explicit
    ``context``) re-runs it over the last ``context`` characters for each one instead. Returns only the generated
    characters, not the prompt.
    """
    import torch

    if not 0 <= length <= MAX_LENGTH:
        raise SpecError(f"the length must be between 0 and {MAX_LENGTH:,} characters",
                        path=("--length",), received=length)
    if len(prompt) > MAX_PROMPT:
        raise SpecError(f"the prompt is longer than {MAX_PROMPT:,} characters",
                        path=("--prompt",), received=f"{len(prompt):,} characters")
    if not temperature >= 0:
        raise SpecError("the temperature must be >= 0 (0 is greedy)", path=("--temperature",),
                        received=temperature)
    tm = run if isinstance(run, TextModel) else load_text_model(run, checkpoint=checkpoint,
                                                                context=context)
    start = [tm.index.get("\n", 0)] * (tm.context if tm.fixed else 1)
    ids = encode(prompt, tm.vocab) if prompt else start
    if tm.fixed and len(ids) < tm.context:
        raise SpecError(f"this model reads exactly {tm.context} characters: give a prompt of "
                        f"at least {tm.context}", path=("--prompt",), received=len(ids))
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    out: list[str] = []
    threads = torch.get_num_threads()
    # One sample at a time is too small to share between threads; on a busy machine extra
    # threads only wait for each other (measured 13x slower with 2 threads on 2 shared cores).
    torch.set_num_threads(1)
    windowed = windowed or context is not None  # an explicit window is honoured
    try:
        feed = tm.stepper() if tm.stepper is not None and not windowed and length else None
        with torch.inference_mode():  # once, not per character
            probs = vocab_distribution(feed(ids), tm) if feed is not None else None
            for i in range(length):
                if feed is None:
                    probs = next_distribution(tm, ids)
                nxt = sample_next(probs, temperature, generator)
                ids.append(nxt)
                out.append(tm.vocab[nxt])
                if feed is not None and i + 1 < length:
                    probs = vocab_distribution(feed([nxt]), tm)
    finally:
        torch.set_num_threads(threads)
    return "".join(out)
