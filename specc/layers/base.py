"""The layer-kind contract every built-in and plugin layer follows.

A kind is a class with:

- ``name``: the spec keyword (snake_case, unique) and optional ``aliases`` (Keras names);
- ``Params``: a pydantic model (subclass :class:`Params`, so unknown fields are rejected);
- ``infer(params, inputs) -> TensorType``: the pure shape rule, raising :class:`SpecError`
  (via :func:`shape_error`) for incompatible inputs; no torch here;
- ``count_params(params, inputs) -> (trainable, non_trainable)``: must equal what torch
  reports for the built module (parameters; buffers other than counters as non-trainable);
- ``build(params, inputs) -> torch.nn.Module``: imports torch inside the method, so loading
  the registry for validation never imports torch. The module's ``forward`` takes one tensor
  per input and returns one tensor. It must honour ``self.training`` for its inference form
  (dropout off, noise off, sampling -> mean). A module that contributes an auxiliary loss
  (sparsity, KL) sets ``self.aux_loss`` to a scalar tensor in each training forward.

Optional: ``min_inputs``/``max_inputs``, ``regimes`` (trainer regimes it supports, None = all),
``init_from_data`` (weights set from the data before step 1),
``export_note`` (why it cannot export to ONNX, or None), ``feature_axis`` for fused activations.
Fused ``activation:`` is applied by the backend when ``Params`` has an ``activation`` field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import ConfigDict

from ..entries import Choice, RegistryChoice, RegistryName
from ..errors import Shown, SpecError, fmt_shapes
from ..registry import abstract
from ..strict import Strict
from ..types import TensorType

if TYPE_CHECKING:
    import torch

#: An activation function's name, checked against the ``activations`` registry group.
ActivationName = Annotated[str, RegistryName("activations")]
#: An initializer, ``name`` or ``{name: {params}}``, checked against ``initializers``.
Initializer = Annotated[Choice, RegistryChoice("initializers")]


class Params(Strict):
    """Base of every kind's parameters: unknown fields are errors, values are checked strictly."""

    model_config = ConfigDict(frozen=True, validate_default=True)


class NoParams(Params):
    """Parameters of a kind that takes none."""


@dataclass(frozen=True)
class Example:
    """A case the shared layer harness runs for a kind (see ``specc.testing``).

    ``layer`` is one sequential ``layers:`` item in YAML flow style, e.g.
    ``"conv2d: {filters: 4, kernel: 3}"``; ``inputs`` the per-sample input shapes (None =
    dynamic axis); ``output`` the expected per-sample output shape.
    """

    layer: str
    inputs: tuple[tuple[int | None, ...], ...]
    output: tuple[int | None, ...] | None = None
    dtype: str = "float32"


@abstract
class LayerKind:
    """Base class of layer kinds. Subclasses set ``name`` and ``Params`` and implement ``infer``
    and ``build`` (and ``count_params`` when the kind has weights)."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    Params: ClassVar[type[Params]] = NoParams
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    category: ClassVar[str] = "core"
    regimes: ClassVar[tuple[str, ...] | None] = None
    export_note: ClassVar[str | None] = None
    #: Per-sample axis a fused softmax acts on (-1 vectors/sequences; 0 channels-first maps).
    feature_axis: ClassVar[int | None] = None
    #: False when the kind's own ``activation`` field is internal (e.g. a recurrent cell's).
    fuses_activation: ClassVar[bool] = True
    #: Cases for the shared harness: shape rule vs torch, parameter count, ONNX parity.
    examples: ClassVar[tuple[Example, ...]] = ()

    @classmethod
    def infer(cls, p: Any, inputs: list[TensorType]) -> TensorType:
        raise NotImplementedError(f"layer kind '{cls.name}' has no shape rule")

    @classmethod
    def count_params(cls, p: Any, inputs: list[TensorType]) -> tuple[int, int]:
        return (0, 0)

    @classmethod
    def build(cls, p: Any, inputs: list[TensorType]) -> torch.nn.Module:
        raise NotImplementedError(f"layer kind '{cls.name}' has no torch builder")

    @classmethod
    def init_from_data(cls, p: Any, module: torch.nn.Module, x: torch.Tensor,
                       generator: torch.Generator) -> None:
        """Optional: set ``module``'s weights from ``x``, the activations arriving at the node
        over a seeded sample of the training split (``rbf``: k-means++ centres). A kind that
        overrides this is run once before step 1 by ``specc.train.data_init``."""

    @classmethod
    def draw(cls, p: Any, module: torch.nn.Module, ctx: Any) -> Any:
        """Optional: the picture ``specc sample RUN`` makes of a trained run whose network has
        a node of this kind (an RBM's filters, a SOM's U-matrix). ``ctx`` is a
        :class:`specc.viz.DrawContext` (the run's spec, graph, model, the node's name, the
        output path, ``n``, ``seed``, ``split``, ``what`` and helpers to save a figure or an
        image grid). Return the written path, or None when this kind has nothing to draw
        (the next node, then the built-in pictures, are tried)."""
        return None

    @classmethod
    def summary(cls) -> str:
        """First line of the docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


# -- helpers for shape rules --------------------------------------------------------------------


def shape_error(message: str, received: Any = None, hint: str | None = None) -> SpecError:
    """A shape-rule error; the graph stage adds the node path, the kind and the producers.

    ``received``: the offending input (a ``TensorType``: ``received shape (?, 8) from x``), all
    the inputs of a multi-input kind (a list of ``TensorType``: ``received shapes (4,), (6,)
    from a, b``, never shortened), or any value (shown without quotes).
    """
    if received is None:
        return SpecError(message, hint=hint)
    if isinstance(received, TensorType):
        return SpecError(message, received=Shown(fmt_shapes([received])), hint=hint)
    if isinstance(received, (list, tuple)) and received and all(
            isinstance(t, TensorType) for t in received):
        return SpecError(message, received=Shown(fmt_shapes(received), full=True), hint=hint)
    return SpecError(message, received=Shown(str(received)), hint=hint)


def expect_rank(t: TensorType, ranks: int | tuple[int, ...], what: str) -> None:
    """Raise unless ``t`` has one of ``ranks`` per-sample axes; ``what`` names the layout."""
    ranks = (ranks,) if isinstance(ranks, int) else ranks
    if t.rank not in ranks:
        raise shape_error(f"expects input of rank {' or '.join(map(str, ranks))} {what} per sample", t)


def expect_float(t: TensorType) -> None:
    if not t.dtype.startswith(("float", "bfloat")):
        raise shape_error("expects a floating-point input", t.dtype,
                          hint="integer token ids go through an 'embedding' layer first")


def expect_features(t: TensorType, axis: int | None = None, what: str = "feature axis") -> int:
    """A float input with a known feature axis (default: its own); returns the feature count."""
    expect_float(t)
    if t.rank == 0:
        raise shape_error("expects at least one feature axis", t)
    return expect_known(t, t.feature_axis if axis is None else axis, what)


def expect_known(t: TensorType, axis: int, what: str) -> int:
    """The size of ``axis``; a dynamic axis here is an error naming ``what``."""
    size = t.shape[axis]
    if size is None:
        raise shape_error(f"needs a known {what} size", t)
    return size


def conv_out(size: int | None, kernel: int, stride: int, padding: str | int, dilation: int = 1) -> int | None:
    """Output length of a convolution/pooling along one axis (Keras 'valid'/'same' or explicit)."""
    if size is None:
        return None
    eff = dilation * (kernel - 1) + 1
    if padding == "same":
        return -(-size // stride)
    pad = 0 if padding == "valid" else int(padding) * 2
    return (size + pad - eff) // stride + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding that gives Keras/TensorFlow 'same' output for one axis."""
    eff = dilation * (kernel - 1) + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return (total // 2, total - total // 2)
