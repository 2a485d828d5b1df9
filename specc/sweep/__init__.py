"""Hyperparameter sweeps on Optuna: ``specc sweep SPEC`` runs the study that the spec's
``sweep:`` section describes, each trial an ordinary run folder (see README, Sweeps)."""

from .study import Sweep, load_sweep, open_sweep

__all__ = ["Sweep", "load_sweep", "open_sweep"]
