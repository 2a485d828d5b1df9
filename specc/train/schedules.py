"""Learning-rate schedules named in ``train.schedule``, registry entries (``specc.schedules``).
Pure Python at import; torch inside the builders. :class:`specc.train.optim.Schedule` runs
the chosen one once per epoch."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..entries import NoParams, Schedule


class StepParams(NoParams):
    step_size: int = Field(gt=0, description="Epochs between decays.")
    gamma: float = Field(0.1, gt=0, description="Factor applied to the rate at each decay.")


class StepLR(Schedule):
    """Multiply lr by gamma every step_size epochs."""

    name = "step"
    aliases = ("step_lr", "StepLR")
    Params = StepParams

    @classmethod
    def build(cls, p: StepParams, optimizer: Any, epochs: int) -> Any:
        from torch.optim import lr_scheduler

        return lr_scheduler.StepLR(optimizer, step_size=p.step_size, gamma=p.gamma)


class CosineParams(NoParams):
    t_max: int | None = Field(None, gt=0, description="Epochs of one cosine half-period "
                              "(default: train.epochs).")
    eta_min: float = Field(0.0, ge=0, description="The lowest rate.")


class Cosine(Schedule):
    """Cosine annealing."""

    name = "cosine"
    aliases = ("cosine_annealing", "CosineAnnealing")
    Params = CosineParams

    @classmethod
    def build(cls, p: CosineParams, optimizer: Any, epochs: int) -> Any:
        from torch.optim import lr_scheduler

        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=p.t_max or max(epochs, 1),
                                              eta_min=p.eta_min)


class PlateauParams(NoParams):
    monitor: str = Field("val_loss", description="The logged value watched.")
    factor: float = Field(0.1, gt=0, lt=1)
    patience: int = Field(10, ge=0)
    min_delta: float = Field(1e-4, ge=0)
    min_lr: float = Field(0.0, ge=0)
    mode: Literal["auto", "min", "max"] = "auto"


class ReduceOnPlateau(Schedule):
    """Multiply lr by factor when the monitored value stalls."""

    name = "reduce_on_plateau"
    aliases = ("plateau", "ReduceLROnPlateau")
    Params = PlateauParams

    @classmethod
    def monitor(cls, p: PlateauParams) -> tuple[str, str] | None:
        return p.monitor, p.mode

    @classmethod
    def build(cls, p: PlateauParams, optimizer: Any, epochs: int) -> Any:
        from torch.optim import lr_scheduler

        from ..spec.training import resolve_mode

        return lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=resolve_mode(p.monitor, p.mode), factor=p.factor,
            patience=p.patience, threshold=p.min_delta, threshold_mode="abs", min_lr=p.min_lr)
