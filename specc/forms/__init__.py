"""Inference forms: named ways to run a network beside its forward (DESIGN.md section 5b).

``step`` (one time step, the state in and out), ``greedy_decode`` (an autoregressive decoder
unrolled to a fixed length), ``free_run`` (a closed loop over a fixed horizon after a warm-up)
and ``cut`` (the sub-graph between named nodes). A spec declares them under ``forms:``;
``specc export RUN --form NAME`` writes one to ONNX with the usual parity check.
"""

from .modules import NEXT, FormModule, build_form, greedy_decode
from .spec import CutForm, Form, FreeRunForm, GreedyDecodeForm, StepForm, validate_forms
from .stepping import TIME_LOCAL, check_steppable

__all__ = ["NEXT", "TIME_LOCAL", "CutForm", "Form", "FormModule", "FreeRunForm",
           "GreedyDecodeForm", "StepForm", "build_form", "check_steppable", "greedy_decode",
           "validate_forms"]
