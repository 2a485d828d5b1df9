"""The ``judge`` metric: a trained classifier run grades what a generator makes.

The adversarial regime gives its metrics ``extras["generate"]``, a callable
``generate(n, seed)`` returning n generator samples in the dataset's raw units. The judge (any
classifier run with one input, e.g. the ``dcn`` built-in trained on the same digits)
preprocesses them as in its own training and classifies them:

- ``judge_confidence``: its mean max probability on the generated samples;
- ``judge_real``: the same on its own held-out real samples (the indices in its split.json);
- ``judge_ratio``: confidence / real (the log key: monitor it as ``val_judge_ratio``);
- ``judge_min_class``: the smallest fraction of samples given to one class (mode collapse
  leaves some class near 0).

A judge run is loaded once per process (cached by its path and checkpoint time).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from ..entries import NoParams, SplitContext, SplitMetric
from ..errors import Shown, SpecError
from ..types import fmt_shape

BATCH = 500  # samples classified at once


class JudgeParams(NoParams):
    run: str = Field(description="The classifier run that judges the samples (a run folder).")
    samples: int = Field(1000, gt=0, le=1_000_000, description="Generated samples judged.")
    seed: int = Field(0, ge=0, description="Seed of the noise the samples are generated from.")


@dataclass
class Classifier:
    """A loaded judge run: its spec, regime (best weights) and data record."""

    dir: Path
    spec: Any
    regime: Any
    record: dict[str, Any]
    real: float | None = None  # mean max probability on its held-out split, once computed

    @property
    def input(self) -> tuple[str, Any]:
        """(name, type) of its one input."""
        return next(iter(self.spec.graph.inputs.items()))

    def probabilities(self, x: Any) -> Any:
        """Class probabilities (N, classes) of raw samples ``x`` (NumPy, the dataset's units)."""
        import numpy as np
        import torch

        from .api import input_tensors

        output = next(iter(self.record["classes"]))
        out = []
        for i in range(0, len(x), BATCH):
            tensors = input_tensors(self.dir, self.spec, self.record, x[i:i + BATCH])
            with torch.no_grad():
                probs = self.regime.predict(tensors)[output]
            out.append(probs.float().cpu().numpy().reshape(len(probs), -1))
        probs = np.concatenate(out)
        return np.concatenate([1 - probs, probs], axis=1) if probs.shape[1] == 1 else probs

    def held_out_confidence(self) -> float:
        """Mean max probability on the held-out samples recorded in the run's split.json."""
        if self.real is None:
            import numpy as np

            from ..data.prepare import load_raw
            from ..runs.folder import read_run_json

            split = read_run_json(self.dir, "split.json") or {}
            index = split.get("test_index", split.get("val_index"))
            if not isinstance(index, list) or not index:
                raise SpecError(f"judge run '{self.dir}' records no held-out samples in its "
                                "split.json", path=("run",), received=str(self.dir),
                                hint="train the judge with a held-out split, e.g. "
                                "split: {last: 1000}")
            cfg = self.spec.train.data
            raw = load_raw(cfg)
            x = raw.arrays[dict(cfg.inputs or {}).get(self.input[0], "x")]
            self.real = float(self.probabilities(x[np.asarray(index)]).max(axis=1).mean())
        return self.real


_CACHE: dict[tuple[str, int], Classifier] = {}


def load_judge(run: str) -> Classifier:
    """The classifier run ``run`` (loaded once per process and checkpoint), or a SpecError
    at the metric's ``run`` field."""
    from ..runs.checkpoint import CheckpointStore
    from ..runs.folder import is_run, read_data_record
    from .api import load_regime

    path = Path(run)
    if not path.is_dir() or not is_run(path):
        raise SpecError(f"judge run '{run}' is not a run folder", path=("run",), received=run,
                        hint="train the classifier first (specc train dcn --out RUN) and give "
                        "its folder")
    store = CheckpointStore(path / "checkpoints", root=path)
    tag = "best" if store.exists("best") else "last"
    stamps = [f.stat().st_mtime_ns for f in (path / "checkpoints").glob(f"{tag}.*")]
    key = (str(path.resolve()), max(stamps, default=0))
    if key not in _CACHE:
        try:
            spec, regime, _ = load_regime(path)
        except SpecError as err:
            raise SpecError(f"judge run '{run}' cannot be loaded: {err.issues[0].message}",
                            path=("run",), received=run) from None
        record = read_data_record(path)
        classes = record.get("classes") or {}
        if len(spec.graph.inputs) != 1 or len(classes) != 1:
            raise SpecError(f"judge run '{run}' is not a classifier with one input and one "
                            "class output", path=("run",), received=run,
                            hint="train a classifier such as the dcn built-in")
        _CACHE[key] = Classifier(path, spec, regime, record)
    return _CACHE[key]


def check_fits(judge: Classifier, sample: tuple[int, ...], run: str) -> None:
    """Refuse generated samples of a shape the judge's input cannot take (the same number
    of values is accepted: the judge's data view reshapes them)."""
    import math

    name, t = judge.input
    want = tuple(t.shape)
    if sample == want:
        return
    if None not in want and math.prod(want) == math.prod(sample):
        return
    raise SpecError(f"judge run '{run}' classifies inputs '{name}' of shape {fmt_shape(want)}; "
                    f"the generator makes samples of shape {fmt_shape(sample)}", path=("run",),
                    received=Shown(f"shape {fmt_shape(sample)}"),
                    hint="judge with a classifier trained on data like the GAN's")


class Judge(SplitMetric):
    """Mean max probability a trained classifier run gives generated samples, over its mean on
    real held-out samples (plus the confidence, the real figure and the smallest class share as
    judge_confidence, judge_real and judge_min_class)."""

    name = "judge"
    Params = JudgeParams
    mode = "max"
    task = "any"

    @classmethod
    def key(cls, p: JudgeParams) -> str:
        return "judge_ratio"

    @classmethod
    def evaluate(cls, p: JudgeParams, ctx: SplitContext) -> dict[str, float]:  # type: ignore[override]
        import numpy as np

        generate = ctx.extras.get("generate")
        if generate is None:
            raise SpecError("metric 'judge' grades a generator's samples; this regime trains no "
                            "generator", path=(), received="judge",
                            hint="use it with regime: adversarial")
        judge = load_judge(p.run)
        x = generate(p.samples, p.seed)
        x = x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
        check_fits(judge, tuple(x.shape[1:]), p.run)
        probs = judge.probabilities(x)
        real = judge.held_out_confidence()
        confidence = float(probs.max(axis=1).mean())
        shares = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]) / len(probs)
        return {"judge_ratio": confidence / real, "judge_confidence": confidence,
                "judge_real": real, "judge_min_class": float(shares.min())}
