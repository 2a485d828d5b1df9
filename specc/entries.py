"""Base classes of the entries a spec chooses by name: losses, metrics, optimizers, schedules,
initializers and activation functions.

An entry is a class with ``name`` (snake_case), ``aliases``, ``Params`` (a pydantic model that
refuses unknown fields), ``doc`` (one line; default: the docstring's first line) and a builder
that imports torch inside it, so loading the registry to validate a spec never imports torch.
Built-in entries register through the entry-point groups plugins use (``specc.losses``, ...).

A spec names an entry as a bare name (``relu``) or, with parameters, as a one-key mapping
(``{normal: {std: 0.375}}``). :class:`RegistryName` and :class:`RegistryChoice` are the
pydantic field types that check such a value against the registry when a spec is validated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError, core_schema

from .registry import abstract, current
from .strict import Strict

if TYPE_CHECKING:
    import torch

    from .types import TensorType


class NoParams(Strict):
    """Parameters of an entry that takes none."""

    model_config = ConfigDict(frozen=True)


@abstract
class Entry:
    """Base of every named entry: ``name``, ``aliases``, ``Params`` and ``doc``."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    Params: ClassVar[type[BaseModel]] = NoParams
    doc: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "doc" not in cls.__dict__ and cls.__doc__:
            cls.doc = cls.__doc__.strip().splitlines()[0]


@dataclass(frozen=True)
class LossContext:
    """What a loss needs to know about the output it trains.

    ``omitted``: the activation the model left off that output (the prediction is logits);
    ``final``: the probability activation the output ends with at inference (None: linear)."""

    out: TensorType
    omitted: str | None = None
    final: str | None = None

    @property
    def axis(self) -> int:
        """The per-sample feature axis (0-based, non-negative)."""
        return self.out.feature_axis % max(self.out.rank, 1) if self.out.rank else 0

    @property
    def probabilities(self) -> bool:
        """Whether the model outputs probabilities (a final softmax/sigmoid it kept)."""
        return self.final is not None and self.omitted is None


@abstract
class Loss(Entry):
    """A loss: ``build(p, ctx)`` returns ``fn(pred, target) -> scalar tensor``.

    ``targets`` says what the targets are: ``"classes"`` (class indices or one-hot rows),
    ``"binary"`` (0/1 per unit), ``"signs"`` (0/1 or -1/+1; class indices with several units)
    or ``"values"``."""

    targets: ClassVar[str] = "values"

    @classmethod
    def build(cls, p: Any, ctx: LossContext) -> Callable[[torch.Tensor, torch.Tensor],
                                                         torch.Tensor]:
        raise NotImplementedError(f"loss '{cls.name}' has no builder")


@dataclass
class OutputKind:
    """How to read one output for metrics: ``multiclass`` (argmax over ``axis``), ``binary``
    (value > ``threshold``) or ``regression`` (``scale``/``shift`` give original units:
    original = value * scale + shift); ``classes`` for confusion matrices."""

    mode: str
    classes: int = 2
    axis: int = -1  # per-sample feature axis
    threshold: float = 0.5
    scale: Any = None
    shift: Any = None


@abstract
class Metric(Entry):
    """A metric over a split, streamed batch by batch.

    ``build(p, kind, device)`` returns a fresh streaming state with ``update(pred, target)``,
    ``compute() -> float`` and ``state`` (a dict of tensors, summed across processes and saved
    for resume). ``mode``: whether lower (``"min"``) or higher (``"max"``) is better; ``task``:
    the outputs it reads (``"classification"``, ``"regression"`` or ``"any"``)."""

    mode: ClassVar[str] = "max"
    task: ClassVar[str] = "any"

    @classmethod
    def key(cls, p: Any) -> str:
        """The log column of this metric with parameters ``p`` (default: its name)."""
        return cls.name

    @classmethod
    def build(cls, p: Any, kind: OutputKind, device: Any) -> Any:
        raise NotImplementedError(f"metric '{cls.name}' has no streaming state")


@dataclass
class SplitContext:
    """What a whole-split metric reads: the regime's ``predict`` (outputs as at inference),
    the split's input arrays (by graph input) and target arrays (by graph output), the
    network ``predict`` runs (``model``: for metrics that step it with its state carried, such
    as a free run), the split's other dataset arrays (``extras``: class labels ``y`` even when
    the regime trains without them) and the training split's context (``train``: for a metric
    fitted on it, such as a linear probe)."""

    split: str
    predict: Callable[[dict[str, Any]], dict[str, Any]]
    inputs: dict[str, Any]
    targets: dict[str, Any]
    model: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
    train: SplitContext | None = None


@abstract
class SplitMetric(Metric):
    """A metric that needs the model, not a stream of predictions (e.g. a free run):
    ``evaluate(p, ctx) -> float`` over a whole split."""

    @classmethod
    def evaluate(cls, p: Any, ctx: SplitContext) -> float:
        raise NotImplementedError(f"metric '{cls.name}' has no evaluate")


@abstract
class Optimizer(Entry):
    """An optimizer: ``build(p, params) -> torch.optim.Optimizer`` over trainable ``params``."""

    @classmethod
    def build(cls, p: Any, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        raise NotImplementedError(f"optimizer '{cls.name}' has no builder")


@abstract
class Schedule(Entry):
    """A learning-rate schedule stepped once per epoch: ``build(p, optimizer, epochs)`` returns
    a torch scheduler. One that reads a logged value names it with ``monitor(p)``; its
    ``step`` then receives that value."""

    @classmethod
    def build(cls, p: Any, optimizer: torch.optim.Optimizer, epochs: int) -> Any:
        raise NotImplementedError(f"schedule '{cls.name}' has no builder")

    @classmethod
    def monitor(cls, p: Any) -> tuple[str, str] | None:
        """(monitored log key as written, mode 'auto'|'min'|'max'), or None."""
        return None


@abstract
class Initializer(Entry):
    """A weight initializer: ``apply(p, tensor)`` fills ``tensor`` in place (under no_grad,
    from torch's global generator, which the builder seeds)."""

    @classmethod
    def apply(cls, p: Any, tensor: torch.Tensor) -> None:
        raise NotImplementedError(f"initializer '{cls.name}' has no apply")


@abstract
class Activation(Entry):
    """An element-wise activation function: ``build(p, axis)`` returns a torch module (``axis``:
    the batched feature axis, for softmax-like functions). ``function()`` may return a plain
    torch function the compiled forward calls directly (faster than a module call);
    ``uses_axis``: it is called with ``dim=axis``."""

    uses_axis: ClassVar[bool] = False

    @classmethod
    def build(cls, p: Any, axis: int) -> torch.nn.Module:
        raise NotImplementedError(f"activation '{cls.name}' has no builder")

    @classmethod
    def function(cls) -> Callable[..., Any] | None:
        return None


BASES: dict[str, type[Entry]] = {
    "losses": Loss, "metrics": Metric, "optimizers": Optimizer, "schedules": Schedule,
    "initializers": Initializer, "activations": Activation,
}


# -- field types: names checked against the registry -----------------------------------------


@dataclass(frozen=True)
class Choice:
    """A registry entry chosen by name with its validated parameters."""

    name: str
    params: BaseModel

    def dump(self) -> Any:
        """As a spec writes it: the bare name, or ``{name: {params}}`` without defaults."""
        p = self.params.model_dump(mode="json", exclude_defaults=True)
        return {self.name: p} if p else self.name


def _unknown(group: str, value: Any) -> PydanticCustomError:
    """A literal error listing the known names (shown as ``must be one of ...`` with a
    did-you-mean hint, as for any closed set of words)."""
    names = current()[group].names()
    expected = ", ".join(f"'{n}'" for n in names[:-1]) + f" or '{names[-1]}'" if names else ""
    return PydanticCustomError("literal_error", "Input should be {expected}",
                               {"expected": expected})


class RegistryName:
    """Field type marker: a string naming an entry of ``group`` (an alias becomes the name).

    ``Annotated[str, RegistryName("activations")]``; the JSON schema lists the known names."""

    def __init__(self, group: str) -> None:
        self.group = group

    def validate(self, value: Any) -> str:
        if not isinstance(value, str):
            raise PydanticCustomError("string_type", "must be a string")
        canon = current()[self.group].canonical(value)
        if canon is None:
            raise _unknown(self.group, value)
        return canon

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return core_schema.no_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string", "enum": current()[self.group].names()}


class RegistryChoice(RegistryName):
    """Field type marker: an entry of ``group`` with parameters, written ``name`` or
    ``{name: {params}}``; the value is a :class:`Choice` (dumped back as written)."""

    def validate(self, value: Any) -> Choice:  # type: ignore[override]
        if isinstance(value, Choice):
            return value
        if isinstance(value, str):
            name, params = value, {}
        elif isinstance(value, dict) and len(value) == 1:
            name, params = next(iter(value.items()))
            params = {} if params is None else params
        else:
            what = current()[self.group].what
            raise PydanticCustomError(
                "registry_choice", "must be {what} name or a mapping {form}",
                {"what": ("an " if what[0] in "aeiou" else "a ") + what,
                 "form": "{name: {parameters}}"})
        canon = super().validate(name)
        entry = current()[self.group].get(canon)
        if not isinstance(params, dict):
            raise PydanticCustomError("registry_choice", "parameters of {what} '{name}' must "
                                      "be a mapping", {"what": current()[self.group].what,
                                                       "name": canon})
        try:
            return Choice(canon, entry.Params.model_validate(params))
        except ValidationError as exc:
            raise PydanticCustomError("registry_choice", "{what} '{name}': {problems}", {
                "what": current()[self.group].what, "name": canon,
                "problems": "; ".join(_problem(e, entry.Params) for e in exc.errors())}) from None

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return core_schema.no_info_plain_validator_function(
            self.validate, serialization=core_schema.plain_serializer_function_ser_schema(
                lambda c: c.dump() if isinstance(c, Choice) else c))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        reg = current()[self.group]
        with_params = {n: reg.get(n).Params.model_json_schema() for n in reg.names()
                       if reg.get(n).Params.model_fields}
        return {"anyOf": [{"type": "string", "enum": reg.names()},
                          {"type": "object", "minProperties": 1, "maxProperties": 1,
                           "properties": with_params, "additionalProperties": False}]}


def _problem(e: Any, model: type[BaseModel]) -> str:
    where = ".".join(str(x) for x in e["loc"])
    if e["type"] == "extra_forbidden":
        allowed = ", ".join(model.model_fields) or "none"
        return f"unknown field '{where}' (allowed: {allowed})"
    msg = e["msg"].removeprefix("Value error, ")
    return f"{where}: {msg[0].lower() + msg[1:]}" if where else msg
