"""``train.data``: where the data comes from, how it is split, shaped and preprocessed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from ..errors import SpecError
from .choices import Section

MAX_SEED = 2**32 - 1  # numpy's seed range (torch accepts more)


class SplitConfig(Section):
    """How samples are held out. Fractions (0-1) or counts of samples."""

    val: float = Field(0.0, ge=0, allow_inf_nan=False,
                       description="Validation fraction (<1) or sample count (>=1).")
    test: float = Field(0.0, ge=0, allow_inf_nan=False,
                        description="Test fraction or count: held out from training and model "
                        "selection, reported by evaluate.")
    order: Literal["random", "last"] = Field(
        "random", description="random: shuffled with seed (as scikit-learn's train_test_split); "
        "last: the held-out samples are the last ones in dataset order.")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed of random splits.")
    stratify: bool = Field(False, description="Keep class proportions in random splits.")

    @classmethod
    def shorthand(cls, raw: Any) -> Any:
        """``{last: N}`` is short for ``{val: N, order: last}``."""
        if isinstance(raw, dict) and "last" in raw:
            raw = dict(raw)
            raw.setdefault("val", raw.pop("last"))
            raw["order"] = "last"
        return raw


class WindowConfig(Section):
    """Sliding windows over a series: ``size`` steps in, the value ``horizon`` steps later out."""

    size: int = Field(gt=0)
    horizon: int = Field(1, gt=0)
    stride: int = Field(1, gt=0)
    target: Literal["next", "sequence"] = Field(
        "next", description="next: the value `horizon` steps after the window; sequence: the "
        "window shifted by `horizon` (sequence-to-sequence).")


class Normalize(Section):
    mean: list[float] | float
    std: list[float] | float


class AugmentConfig(Section):
    """Random augmentation of training samples (never applied to validation or test data)."""

    rotation: float = Field(0.0, ge=0, le=180, description="Max rotation in degrees (+-).")
    width_shift: float = Field(0.0, ge=0, lt=1, description="Max horizontal shift, fraction of width.")
    height_shift: float = Field(0.0, ge=0, lt=1, description="Max vertical shift, fraction of height.")
    shear: float = Field(0.0, ge=0, lt=90, description="Max shear angle in degrees (Keras shear_range).")
    zoom: float | tuple[float, float] = Field(
        0.0, description="Zoom range: z gives [1-z, 1+z]; or [low, high].")
    horizontal_flip: bool = False
    vertical_flip: bool = False
    fill: Literal["nearest", "constant", "reflect"] = "nearest"
    gaussian_noise: float = Field(0.0, ge=0, description="Std of additive Gaussian noise.")
    masking_noise: float = Field(0.0, ge=0, lt=1, description="Fraction of values set to zero.")


class DataConfig(Section):
    """Where the data comes from and how it is shaped. Keys other than the generic ones below
    are the dataset's own parameters (e.g. ``path`` for csv), validated by the dataset."""

    model_config = ConfigDict(extra="allow")

    dataset: str
    split: SplitConfig | Literal["own", "none"] | None = Field(
        None, description="Held-out split; default: the dataset's own, else {val: 0.2, seed: 0}.")
    view: Literal["auto", "image", "sequence", "flat", "series"] = Field(
        "auto", description="series: each split of a series dataset as one sequence, the "
        "target at every step the next value (teacher forcing).")
    window: WindowConfig | None = None
    scale: Literal["none", "unit", "standard", "minmax"] = Field(
        "none", description="unit: divide by the data's maximum (pixels to [0,1]); standard / "
        "minmax: fitted on the training split only.")
    scale_target: Literal["none", "standard", "minmax"] | None = Field(
        None, description="Scale regression targets (metrics stay in original units); default: "
        "as `scale` for windowed series, else none.")
    rescale: float | None = Field(None, description="Multiply inputs by this (e.g. 1/255).")
    normalize: Normalize | None = None
    augment: AugmentConfig | None = None
    inputs: dict[str, str] | None = Field(None, description="Graph input -> dataset array.")
    targets: dict[str, str] | None = Field(None, description="Graph output -> dataset array.")
    limit: int | None = Field(None, gt=0, description="Use only the first N samples.")
    binary: str | int | None = Field(None, description="One class against the rest: label 1 "
                                     "for this class (a label name or index), 0 for the others.")

    @classmethod
    def shorthand(cls, raw: Any) -> Any:
        """``data: iris`` is short for ``data: {dataset: iris}``."""
        return {"dataset": raw} if isinstance(raw, str) else raw

    @property
    def dataset_params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def check_data(data: DataConfig) -> list[SpecError]:
    """Problems between fields of ``train.data``, with paths inside ``train``."""
    errs = []
    split = data.split
    if isinstance(split, SplitConfig):
        for key in ("val", "test"):
            v = getattr(split, key)
            if 0 < v and v >= 1 and v != int(v):
                errs.append(SpecError("must be a fraction below 1 or a whole number of samples",
                                      path=("data", "split", key), received=v))
        if split.val < 1 and split.test < 1 and split.val + split.test >= 1:
            errs.append(SpecError("val + test must leave some training data",
                                  path=("data", "split"), received=split.val + split.test))
    aug = data.augment
    if aug is not None and isinstance(aug.zoom, tuple) and not 0 < aug.zoom[0] <= aug.zoom[1]:
        errs.append(SpecError("zoom range must be [low, high] with 0 < low <= high",
                              path=("data", "augment", "zoom"), received=list(aug.zoom)))
    if aug is not None and isinstance(aug.zoom, float) and not 0 <= aug.zoom < 1:
        errs.append(SpecError("zoom must be in [0, 1)", path=("data", "augment", "zoom"),
                              received=aug.zoom))
    return errs
