"""Model metadata written into ``metadata_props`` on export and read back by the runtime.

Keys (all strings; JSON where structured):

- ``specc.version``, ``specc.spec_hash``, ``specc.name``, ``specc.family``, ``specc.network``
- ``specc.inputs`` / ``specc.outputs``: ``{name: {"shape": [null, ...], "dtype": ...,
  "feature_axis": int}}`` with ``null`` for the batch axis and other dynamic axes
- ``specc.labels``: JSON list of class labels (classifiers only)
- ``specc.activation``: the probability activation at the end of the first output
  (``softmax``/``sigmoid``), when there is one
- ``specc.classes``: the number of classes of the first output (classifiers trained on labels)
- ``specc.preprocess`` / ``specc.target_scale``: the run's fitted input preprocessing and target
  scaling (JSON, as in the run's ``data.json``)
- ``specc.preprocess_in_graph``: ``true`` when the graph applies that preprocessing and target
  scaling itself (the default export of a run), ``false`` for ``--bare`` exports
- ``specc.weights``: where the weights came from; ``specc.exporter``, ``specc.opset``
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import onnx

from ...types import TensorType, fmt_shape

PREFIX = "specc."


def describe(t: TensorType) -> dict[str, Any]:
    return {"shape": [None, *t.shape], "dtype": t.dtype, "feature_axis": t.feature_axis}


def build(*, inputs: Mapping[str, TensorType], outputs: Mapping[str, TensorType],
          version: str, spec_hash: str | None = None, name: str | None = None,
          family: str | None = None, network: str | None = None,
          labels: list[str] | None = None, activation: str | None = None,
          exporter: str | None = None, opset: int | None = None) -> dict[str, str]:
    """The ``specc.*`` metadata entries for a model."""
    meta: dict[str, Any] = {
        "version": version, "spec_hash": spec_hash, "name": name, "family": family,
        "network": network, "exporter": exporter, "opset": opset, "activation": activation,
        "inputs": json.dumps({n: describe(t) for n, t in inputs.items()}),
        "outputs": json.dumps({n: describe(t) for n, t in outputs.items()}),
        "labels": json.dumps(list(labels)) if labels else None,
    }
    return {PREFIX + k: str(v) for k, v in meta.items() if v is not None}


def attach(model: onnx.ModelProto, meta: Mapping[str, str], *, description: str | None = None,
           inputs: Mapping[str, TensorType] | None = None,
           outputs: Mapping[str, TensorType] | None = None) -> None:
    """Write ``meta`` into the model's metadata_props (replacing older ``specc.*`` entries) and
    describe each graph input/output in its doc string."""
    keep = [p for p in model.metadata_props if not p.key.startswith(PREFIX)]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    if description:
        model.doc_string = description
    for values, types in ((model.graph.input, inputs), (model.graph.output, outputs)):
        for vi in values:
            if types and vi.name in types:
                t = types[vi.name]
                vi.doc_string = (f"per-sample shape {fmt_shape(t.shape)} {t.dtype}; "
                                 "batch axis first and dynamic")


@dataclass
class ModelInfo:
    """What the runtime knows about a model from its metadata (empty for foreign models).
    Values are checked by :meth:`check` before use: a tampered or foreign ``specc.*`` entry is a
    :class:`SpecError` naming the key and the value, never a crash later."""

    props: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        return self.props.get(PREFIX + key)

    def _json(self, key: str) -> Any:
        raw = self.get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            return None

    @property
    def labels(self) -> list[str] | None:
        value = self._json("labels")
        return [str(v) for v in value] if isinstance(value, list) else None

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        return self._json("inputs") or {}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return self._json("outputs") or {}

    @property
    def target_scale(self) -> dict[str, dict[str, Any]] | None:
        return self._json("target_scale")

    @property
    def preprocess(self) -> dict[str, dict[str, Any]]:
        """The recorded input preprocessing (JSON records as in a run's ``data.json``)."""
        return self._json("preprocess") or {}

    @property
    def preprocess_in_graph(self) -> bool:
        """Whether the model applies its preprocessing (and target scaling) itself."""
        return self.get("preprocess_in_graph") == "true"

    @property
    def activation(self) -> str | None:
        return self.get("activation")

    @property
    def is_specc(self) -> bool:
        return self.get("version") is not None

    def check(self, inputs: Mapping[str, Sequence[int | None]],
              outputs: Mapping[str, Sequence[int | None]]) -> None:
        """Refuse malformed ``specc.*`` entries. ``inputs``/``outputs``: the graph's declared
        shapes (batch first, None for dynamic axes)."""
        from .metacheck import check_props

        check_props(self, inputs, outputs)
