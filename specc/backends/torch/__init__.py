"""PyTorch backend: compiles a LayerGraph into a torch.fx GraphModule."""

from .build import build_module, count_torch_params, example_inputs, final_activation

__all__ = ["build_module", "count_torch_params", "example_inputs", "final_activation"]
