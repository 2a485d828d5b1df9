"""Weight initializers named in specs (Keras names), registry entries (``specc.initializers``).

Defaults follow Keras, which the course notes use: ``glorot_uniform`` kernels, zero biases,
``orthogonal`` recurrent kernels. ``torch_default`` keeps PyTorch's own initialisation. Some
take parameters: ``{normal: {std: 0.375}}``, ``{uniform: {limit: 0.5}}``. Pure Python at
import; torch is imported when an initializer is applied.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..entries import Choice, Initializer, NoParams
from ..registry import current


def apply_init(tensor: Any, choice: Choice) -> None:
    """Initialise ``tensor`` in place with ``choice`` (a validated initializer field)."""
    import torch

    with torch.no_grad():
        current().initializers.get(choice.name).apply(choice.params, tensor)


class TorchDefault(Initializer):
    """Keep PyTorch's own initialisation of the module."""

    name = "torch_default"

    @classmethod
    def apply(cls, p: Any, tensor: Any) -> None:
        return None


class Zeros(Initializer):
    """All zeros."""

    name = "zeros"
    aliases = ("Zeros",)

    @classmethod
    def apply(cls, p: Any, tensor: Any) -> None:
        tensor.zero_()


class Ones(Initializer):
    """All ones."""

    name = "ones"
    aliases = ("Ones",)

    @classmethod
    def apply(cls, p: Any, tensor: Any) -> None:
        tensor.fill_(1.0)


class ConstantParams(NoParams):
    value: float = Field(1.0, description="The value of every element.")


class Constant(Initializer):
    """Every element set to ``value``."""

    name = "constant"
    aliases = ("Constant",)
    Params = ConstantParams

    @classmethod
    def apply(cls, p: ConstantParams, tensor: Any) -> None:
        tensor.fill_(p.value)


class GlorotUniform(Initializer):
    """Glorot (Xavier) uniform; a 1-D tensor gets zeros."""

    name = "glorot_uniform"
    aliases = ("GlorotUniform", "xavier_uniform")

    @classmethod
    def apply(cls, p: Any, tensor: Any) -> None:
        from torch import nn

        nn.init.xavier_uniform_(tensor) if tensor.dim() >= 2 else tensor.zero_()


class GlorotNormal(Initializer):
    """Glorot (Xavier) normal."""

    name = "glorot_normal"
    aliases = ("GlorotNormal", "xavier_normal")

    @classmethod
    def apply(cls, p: Any, tensor: Any) -> None:
        from torch import nn

        nn.init.xavier_normal_(tensor)


class HeUniform(Initializer):
    """He (Kaiming) uniform for ReLU networks."""

    name = "he_uniform"
    aliases = ("HeUniform", "kaiming_uniform")

    @classmethod
    def apply(cls, p: Any, tensor: Any) -> None:
        from torch import nn

        nn.init.kaiming_uniform_(tensor, nonlinearity="relu")


class HeNormal(Initializer):
    """He (Kaiming) normal for ReLU networks."""

    name = "he_normal"
    aliases = ("HeNormal", "kaiming_normal")

    @classmethod
    def apply(cls, p: Any, tensor: Any) -> None:
        from torch import nn

        nn.init.kaiming_normal_(tensor, nonlinearity="relu")


class LecunNormal(Initializer):
    """Truncated normal with std sqrt(1 / fan_in) (SELU networks)."""

    name = "lecun_normal"
    aliases = ("LecunNormal",)

    @classmethod
    def apply(cls, p: Any, tensor: Any) -> None:
        from torch import nn

        fan_in = tensor[0].numel() if tensor.dim() > 1 else tensor.numel()
        nn.init.trunc_normal_(tensor, std=(1.0 / fan_in) ** 0.5)


class GainParams(NoParams):
    gain: float = Field(1.0, gt=0, description="Multiplies the orthogonal matrix.")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``."""

    name = "orthogonal"
    aliases = ("Orthogonal",)
    Params = GainParams

    @classmethod
    def apply(cls, p: GainParams, tensor: Any) -> None:
        from torch import nn

        nn.init.orthogonal_(tensor, gain=p.gain)


class Identity(Initializer):
    """The identity matrix (2-D weights only) times ``gain``."""

    name = "identity"
    aliases = ("Identity",)
    Params = GainParams

    @classmethod
    def apply(cls, p: GainParams, tensor: Any) -> None:
        import torch

        if tensor.dim() != 2:
            raise ValueError("identity init needs a 2-D weight")
        tensor.copy_(torch.eye(tensor.shape[0], tensor.shape[1]) * p.gain)


class UniformParams(NoParams):
    limit: float = Field(0.05, gt=0, description="Values are drawn from [-limit, limit].")


class Uniform(Initializer):
    """Uniform on [-limit, limit] (Keras RandomUniform; default limit 0.05)."""

    name = "uniform"
    aliases = ("RandomUniform", "random_uniform")
    Params = UniformParams

    @classmethod
    def apply(cls, p: UniformParams, tensor: Any) -> None:
        from torch import nn

        nn.init.uniform_(tensor, -p.limit, p.limit)


class NormalParams(NoParams):
    mean: float = Field(0.0, description="Mean of the normal distribution.")
    std: float = Field(0.05, gt=0, description="Standard deviation.")


class Normal(Initializer):
    """Normal with ``mean`` and ``std`` (Keras RandomNormal; default std 0.05)."""

    name = "normal"
    aliases = ("RandomNormal", "random_normal")
    Params = NormalParams

    @classmethod
    def apply(cls, p: NormalParams, tensor: Any) -> None:
        from torch import nn

        nn.init.normal_(tensor, p.mean, p.std)
