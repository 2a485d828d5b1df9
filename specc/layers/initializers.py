"""Weight initialisers named in specs (Keras names), applied in torch builders.

Defaults follow Keras, which the course notes use: ``glorot_uniform`` kernels, zero biases,
``orthogonal`` recurrent kernels. ``torch_default`` keeps PyTorch's own initialisation.
"""

from __future__ import annotations

from typing import Any


def apply_init(tensor: Any, name: str, *, fan_axes: tuple[int, int] | None = None) -> None:
    """Initialise ``tensor`` in place with the named scheme (``name`` from ``Initializer``)."""
    import torch
    from torch import nn

    if name == "torch_default":
        return
    with torch.no_grad():
        if name == "zeros":
            tensor.zero_()
        elif name == "ones":
            tensor.fill_(1.0)
        elif name == "glorot_uniform":
            nn.init.xavier_uniform_(tensor) if tensor.dim() >= 2 else tensor.zero_()
        elif name == "glorot_normal":
            nn.init.xavier_normal_(tensor)
        elif name == "he_uniform":
            nn.init.kaiming_uniform_(tensor, nonlinearity="relu")
        elif name == "he_normal":
            nn.init.kaiming_normal_(tensor, nonlinearity="relu")
        elif name == "lecun_normal":
            fan_in = tensor[0].numel() if tensor.dim() > 1 else tensor.numel()
            nn.init.trunc_normal_(tensor, std=(1.0 / fan_in) ** 0.5)
        elif name == "orthogonal":
            nn.init.orthogonal_(tensor)
        elif name == "identity":
            if tensor.dim() != 2:
                raise ValueError("identity init needs a 2-D weight")
            tensor.copy_(torch.eye(tensor.shape[0], tensor.shape[1]))
        elif name == "uniform":
            nn.init.uniform_(tensor, -0.05, 0.05)
        elif name == "normal":
            nn.init.normal_(tensor, 0.0, 0.05)
        else:  # pragma: no cover - guarded by the Params Literal
            raise ValueError(f"unknown initializer {name!r}")
