"""The trainer (regime) protocol.

A regime is registered under ``specc.trainers``. It declares, on the class: its typed ``train:``
section (``Config``), the targets it trains against (``targets``), whether it runs in several
processes (``multiprocess``) and the metrics it logs itself (``own_metrics``, monitorable for
the best checkpoint and early stopping). The engine creates it with a :class:`Session` (device,
data, checkpoints, signals, progress) and calls :meth:`Regime.fit`; ``specc evaluate``,
``specc predict`` and the Python API call :meth:`Regime.build_models`, :meth:`load_weights`
and then :meth:`Regime.evaluate` or :meth:`Regime.predict`.

The loops are written once: :class:`~specc.train.epoch.EpochRegime` (epochs of steps),
:class:`~specc.train.fit.FitRegime` (accumulate over batches, then solve) and
:class:`~specc.train.composite.CompositeRegime` (phases). Module level imports stay torch-free
so validating a spec can look regimes up cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from ..registry import abstract
from ..spec.training import TrainConfig

if TYPE_CHECKING:
    import torch

    from ..data.prepare import OutputTarget
    from .session import Session

TARGETS = ("loss", "labels", "values", "input", "none")


class NonFinite(Exception):
    def __init__(self, value: float) -> None:
        super().__init__(value)
        self.value = value


@abstract
class Regime:
    """Base of training regimes: the protocol every regime declares."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    Config: ClassVar[type[TrainConfig]] = TrainConfig
    #: "loss" (per output, from its loss), "labels" (class labels or values of ``target``),
    #: "values" (float arrays), "input" (reconstruction) or "none".
    targets: ClassVar[str] = "none"
    multiprocess: ClassVar[bool] = False
    #: log key -> "min" | "max"; always logged (also as ``val_<key>``), monitorable.
    own_metrics: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.targets not in TARGETS:
            raise TypeError(f"{cls.__name__}.targets must be one of {', '.join(TARGETS)}, "
                            f"not {cls.targets!r}")

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cfg = session.cfg
        self.models: dict[str, Any] = {}
        self.stop_reason = "finished"
        self.tracker: Any = None  # the loop's best-value Tracker, for the run summary
        #: weights a fresh run starts from instead of data-dependent initialisation (the
        #: previous phase's, in a composite regime)
        self.initial_weights: dict[str, torch.Tensor] | None = None

    # -- the protocol -------------------------------------------------------------------------
    def build_models(self) -> None:
        """Build ``self.models`` (name -> module) on the session's device, nothing else."""
        raise NotImplementedError

    def setup(self) -> None:
        """:meth:`build_models`, the data (``self.data = session.tensor_data(...)``, see
        :meth:`output_targets`) and whatever the learning rule needs."""
        raise NotImplementedError

    def fit(self) -> dict[str, Any]:
        """Train and return the final logs (provided by the loops)."""
        raise NotImplementedError

    def evaluate(self, split: str) -> dict[str, float]:
        """Figures on a prepared split, keys without prefix (``{}`` for a regime with none)."""
        return {}

    def predict(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Outputs as at inference for preprocessed input tensors (on any device)."""
        raise NotImplementedError

    def confusion(self) -> torch.Tensor | None:
        """The confusion matrix of the last :meth:`evaluate` (a one-output classifier), else
        None."""
        return None

    # -- data ---------------------------------------------------------------------------------
    def output_targets(self, graph: Any) -> dict[str, OutputTarget]:
        """What each output of ``graph`` trains against, from the declared ``targets``."""
        from ..data.prepare import OutputTarget

        cfg = self.cfg
        if self.targets == "loss":
            losses = cfg.output_losses(graph.outputs)
            return {o: OutputTarget(graph.type_of(o), ol.loss.name if ol.loss else None,
                                    ol.target or cfg.target, mask=ol.mask)
                    for o, ol in losses.items()}
        if self.targets == "none":
            return {}
        target = "input" if self.targets == "input" else cfg.target
        return {o: OutputTarget(graph.type_of(o), None, target, classes=self.targets == "labels")
                for o in graph.outputs}

    def batch_size(self) -> int:
        """Samples per batch on this process (``full``: the split shared over processes)."""
        n = self.data.train.n
        bs = self.cfg.batch_size
        return -(-n // self.session.dist.world) if bs == "full" else int(bs)

    # -- weights and state ----------------------------------------------------------------------
    def weights(self) -> dict[str, torch.Tensor]:
        """State dict of the trained network(s); several networks get ``name.`` prefixes."""
        mods = {k: unwrap(m) for k, m in self.models.items()}
        if len(mods) == 1:
            return dict(next(iter(mods.values())).state_dict())
        return {f"{k}.{p}": v for k, m in mods.items() for p, v in m.state_dict().items()}

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        from ..runs.checkpoint import load_into

        mods = {k: unwrap(m) for k, m in self.models.items()}
        where = "the checkpoint"
        if len(mods) == 1:
            load_into(next(iter(mods.values())), state, where)
            return
        for k, m in mods.items():
            load_into(m, {p[len(k) + 1:]: v for p, v in state.items() if p.startswith(k + ".")},
                      f"{where} (network '{k}')")

    def state_dict(self) -> dict[str, Any]:
        """Training state beyond the weights (optimizer, running sums) for exact resume."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    # -- shared by the loops ------------------------------------------------------------------
    def initialize(self) -> None:
        """Before step 1 of a fresh run: the given initial weights, else data-dependent
        initialisation of the kinds that define it."""
        from .data_init import initialize_from_data

        if self.initial_weights is not None:
            self.load_weights(self.initial_weights)
        else:
            initialize_from_data(self)

    def check_finite(self, loss: torch.Tensor | float) -> float:
        """The loss as a float; raises NonFinite (on every process) if it is nan/inf."""
        value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
        if self.session.any_rank(not math.isfinite(value)):
            raise NonFinite(value if not math.isfinite(value) else float("nan"))
        return value

    def save_checkpoint(self, tag: str, position: dict[str, Any], logs: dict[str, Any],
                        extra: dict[str, Any] | None = None) -> None:
        """Write checkpoint ``tag``: the weights, ``position`` (epoch, step_in_epoch, step),
        and for ``last`` the RNG states, :meth:`state_dict` and ``extra``."""
        s = self.session
        state = {**position, "logs": logs, "networks": list(self.models),
                 "network_hash": network_hash(s.spec), "network_hashes": network_hashes(s.spec)}
        if tag == "last":
            state.update(rng=s.rng_state(), regime=self.state_dict(), **(extra or {}))
        s.save(tag, self.weights(), state)

    def load_last(self) -> dict[str, Any]:
        """Load the ``last`` checkpoint's weights, regime state and RNG states; returns the
        checkpoint's state for the loop to read its position."""
        from ..errors import SpecError

        s = self.session
        weights, state = s.load("last")
        if state.get("network_hash") not in (None, network_hash(s.spec)):
            now = network_hashes(s.spec)
            changed = [k for k, h in (state.get("network_hashes") or {}).items()
                       if now.get(k) != h]
            msg = "the networks of this spec differ from those of the run being resumed"
            if changed:
                names = ", ".join(f"'{k}'" for k in changed)
                msg = (f"network {names} of this spec differs from the run being resumed"
                       if len(changed) == 1 else
                       f"networks {names} of this spec differ from the run being resumed")
            raise SpecError(msg, hint="resume with the run's own spec (specc train RUN "
                            "--resume); start a new run for a changed network")
        self.load_weights(weights)
        with damaged_state():
            self.load_state_dict(state["regime"])
            s.set_rng_state(state["rng"])
            s.saved_epoch = int(state["epoch"])
        return state


@contextmanager
def damaged_state() -> Iterator[None]:
    """Turn a malformed resumable state into a clear error (``with damaged_state(): ...``)."""
    from ..errors import SpecError

    try:
        yield
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError) as exc:
        raise SpecError(f"the 'last' checkpoint cannot be resumed from: its state is "
                        f"incomplete or damaged ({type(exc).__name__}: {str(exc)[:200]})",
                        hint="the checkpoint was changed; train the run afresh") from None


def unwrap(m: Any) -> Any:
    """The module inside a DistributedDataParallel wrapper (or ``m``)."""
    return getattr(m, "module", m)


def network_hashes(spec: Any) -> dict[str, str]:
    """The hash of each network of a multi-network spec ({} for one network)."""
    import hashlib
    import json

    nets = spec.resolved.get("networks") or {}
    return {k: hashlib.sha256(json.dumps(v, sort_keys=True, default=str).encode()).hexdigest()[:16]
            for k, v in nets.items()}


def network_hash(spec: Any) -> str:
    import hashlib
    import json

    # what the weights depend on: not training, the inference forms or a sweep's search space
    nets = {k: v for k, v in spec.resolved.items()
            if k not in ("train", "specc_version", "forms", "sweep")}
    return hashlib.sha256(json.dumps(nets, sort_keys=True, default=str).encode()).hexdigest()[:16]
