"""ONNX backend: export with checks (``export``, ``export_module``), int8 quantization and the
onnxruntime session (``InferenceSession``)."""

from .convert import DEFAULT_OPSET
from .export import ExportResult, export, export_module
from .parity import ParityReport, check_parity
from .quantize import QuantizeReport, quantize_model
from .runtime import InferenceSession

__all__ = ["DEFAULT_OPSET", "ExportResult", "InferenceSession", "ParityReport", "QuantizeReport",
           "check_parity", "export", "export_module", "quantize_model"]
