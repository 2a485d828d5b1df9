"""Phases: regimes run one after another inside one run, with one resumable state.

A composite regime (greedy layer-wise pretraining then fine-tuning, say) subclasses
:class:`CompositeRegime`; its ``train:`` section lists the phases::

    train:
      regime: pretrain_then_tune
      data: {dataset: digits}        # fields every regime shares: inherited by each phase
      phases:
        - {regime: contrastive_divergence, epochs: 5}
        - {regime: backprop, loss: cross_entropy, epochs: 10}

Each phase is validated against its own regime's config. Phase ``i + 1`` starts from the
weights phase ``i`` ended with (:meth:`CompositeRegime.handoff`). Every checkpoint a phase
writes carries the phase index and the epochs of the phases before it, so a run killed in any
phase resumes there exactly; metrics rows number epochs across phases and carry a ``phase``
column. Evaluation and prediction use the last phase's regime.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import Field, PrivateAttr

from ..errors import SpecError
from ..registry import abstract
from ..spec.training import TrainConfig
from .regime import Regime, damaged_state

#: The fields a phase inherits from the composite's section unless it sets them.
SHARED = ("data", "seed", "deterministic", "checkpoint", "metrics", "batch_size", "target")


class CompositeConfig(TrainConfig):
    """Regimes run in phases inside one run."""

    phases: list[dict[str, Any]] = Field(min_length=1, description="The phases in order: each "
                                         "a train: section of its own regime (regime and its "
                                         "fields); the shared fields are inherited.")
    _configs: list[TrainConfig] = PrivateAttr(default_factory=list)

    @classmethod
    def shorthand(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or not isinstance(raw.get("phases"), list):
            return raw
        inherited = {k: raw[k] for k in SHARED if k in raw}
        phases = [{**inherited, **p} if isinstance(p, dict) else p for p in raw["phases"]]
        return {**raw, "phases": phases}

    def cross_check(self) -> list[SpecError]:
        from ..spec.training import validate_train

        errs = super().cross_check()
        self._configs = []
        for i, raw in enumerate(self.phases):
            if "regime" not in raw:
                errs.append(SpecError("a phase names its regime", path=("phases", i, "regime")))
                continue
            try:
                self._configs.append(validate_train(raw))
            except SpecError as err:
                errs.append(err.prefixed(("phases", i)))
        return errs

    def phase(self, index: int) -> TrainConfig:
        """The validated section of phase ``index``."""
        if len(self._configs) != len(self.phases):
            errs = self.cross_check()
            if errs:
                raise SpecError.collect(errs)
        return self._configs[index]

    def regimes_used(self) -> set[str]:
        return {self.regime} | {r for c in self._configs for r in c.regimes_used()}


@abstract
class CompositeRegime(Regime):
    """Runs the phases of :class:`CompositeConfig` in order (subclass it and name it)."""

    Config = CompositeConfig

    def phase_regime(self, index: int, *, resume: bool = False, offset: int = 0) -> Regime:
        """The regime of phase ``index`` on a session of its own: that phase's section, and
        the run's checkpoints and metrics rows marked with the phase."""
        from ..registry import current

        cfg = self.cfg.phase(index)
        session = copy.copy(self.session)
        session.cfg = cfg
        session.resume = resume
        if self.session.run is not None:
            session.run = PhaseRun(self.session.run, index, offset)
        session.save = _phase_save(self.session, session, index, offset)  # type: ignore[method-assign]
        return current().trainers.get(cfg.regime)(session)

    def handoff(self, done: Regime, nxt: Regime) -> None:
        """Let phase ``nxt`` start from what ``done`` trained (its weights)."""
        nxt.initial_weights = done.weights()

    # -- the protocol, through the last phase ---------------------------------------------------
    def _last(self) -> Regime:
        last = self.phase_regime(len(self.cfg.phases) - 1)
        self.last = last
        return last

    def build_models(self) -> None:
        last = self._last()
        last.build_models()
        self.models = last.models

    def setup(self) -> None:
        last = self._last()
        last.setup()
        self.models, self.data = last.models, last.data

    def evaluate(self, split: str) -> dict[str, float]:
        return self.last.evaluate(split)

    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.last.predict(inputs)

    def confusion(self) -> Any:
        return self.last.confusion()

    # -- the loop -----------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        s = self.session
        start, offset = 0, 0
        if s.resume:
            _, state = s.load("last")
            with damaged_state():
                start, offset = int(state["phase"]), int(state["phase_offset"])
            if not 0 <= start < len(self.cfg.phases):
                raise SpecError(f"the 'last' checkpoint is of phase {start + 1}, but the spec "
                                f"has {len(self.cfg.phases)} phases",
                                hint="resume with the run's own spec")
        logs: dict[str, Any] = {}
        previous: Regime | None = None
        for i in range(start, len(self.cfg.phases)):
            regime = self.phase_regime(i, resume=s.resume and i == start, offset=offset)
            if previous is not None:
                self.handoff(previous, regime)
            s.progress.note(f"phase {i + 1}/{len(self.cfg.phases)}: regime '{regime.name}'")
            try:
                logs = regime.fit()
            finally:
                self.stop_reason, self.tracker = regime.stop_reason, regime.tracker
                self.models, self.last = regime.models, regime
            offset += int(regime.session.saved_epoch or 0)
            previous = regime
        return logs


class PhaseRun:
    """The run directory as a phase sees it: epochs numbered after the earlier phases' and
    rows marked with the phase (1-based)."""

    def __init__(self, run: Any, index: int, offset: int) -> None:
        self._run, self._index, self._offset = run, index, offset

    def log_epoch(self, row: dict[str, Any]) -> None:
        self._run.log_epoch({**row, "epoch": self._offset + row["epoch"],
                             "phase": self._index + 1})

    def load_rows(self, upto_epoch: int) -> None:
        self._run.load_rows(self._offset + upto_epoch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)


def _phase_save(parent: Any, session: Any, index: int, offset: int) -> Any:
    """``Session.save`` of a phase: every checkpoint records the phase and its epoch offset."""
    def save(tag: str, weights: dict[str, Any], state: dict[str, Any]) -> None:
        parent.save(tag, weights, {**state, "phase": index, "phase_offset": offset})
        if tag == "last":
            session.saved_epoch = state.get("epoch")
    return save
