"""The one pydantic base of every spec-facing model (layer, dataset and entry parameters, the
top level of a spec, the ``train:`` section)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors. The validator is built on first use (``defer_build``): a spec
    pays only for the models it uses, however many kinds and plugins are installed."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
