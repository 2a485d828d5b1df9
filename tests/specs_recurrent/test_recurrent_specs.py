"""The recurrent specs (FAMILIES.md rows 5-9): parameter counts, training steps, ONNX axes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import specc
from specc.backends.onnx import export_module
from specc.backends.onnx.export import int_highs
from specc.backends.onnx.parity import random_inputs

from ._util import RECURRENT, require_data, spec_path


def lstm_twin(name: str) -> Any:
    """Spec ``name`` with every gru node turned into an lstm of the same size."""
    doc = {k: v for k, v in specc.load(spec_path(name)).resolved.items() if k != "specc_version"}
    doc["nodes"] = {n: {**node, "op": "lstm" if node["op"] == "gru" else node["op"]}
                    for n, node in doc["nodes"].items()}
    return specc.load(doc)


def torch_count(spec: Any) -> int:
    return sum(p.numel() for p in specc.build(spec).parameters())


def test_gru_has_fewer_parameters_than_the_same_network_with_an_lstm() -> None:
    gru = specc.load(spec_path("gru"))
    lstm = lstm_twin("gru")
    assert [n.kind for n in lstm.graph.nodes.values()] == ["lstm", "dense"]
    assert gru.param_counts[0] == torch_count(gru) == 14_858
    assert lstm.param_counts[0] == torch_count(lstm) == 19_594
    # 3 gate blocks to the LSTM's 4, each 64 * (8 inputs + 64 recurrent + 2 biases)
    assert lstm.param_counts[0] - gru.param_counts[0] == 64 * (8 + 64 + 2)


def test_stacked_gru_returns_sequences_between_layers_with_both_dropouts() -> None:
    nodes = list(specc.load(spec_path("stacked_gru")).graph.nodes.values())
    grus = [n for n in nodes if n.kind == "gru"]
    assert len(grus) == 2
    assert grus[0].params.return_sequences and not grus[1].params.return_sequences
    assert grus[0].type.shape == (None, 32)
    assert all(g.params.dropout > 0 and g.params.recurrent_dropout > 0 for g in grus)


def test_rnn_clips_gradients_and_reads_digits_as_rows() -> None:
    spec = specc.load(spec_path("rnn"))
    assert spec.train.clip is not None and spec.train.clip.norm
    assert [n.kind for n in spec.graph.nodes.values()][0] == "simple_rnn"
    assert spec.graph.inputs["rows"].shape == (None, 8)


def regime(name: str, overrides: list[str] = ()) -> Any:
    """The spec's own trainer set up on its own data, without a run directory."""
    from specc.registry import current
    from specc.train.progress import Progress
    from specc.train.session import Session

    spec = specc.load(spec_path(name), overrides)
    session = Session(spec, spec.train, device=torch.device("cpu"), run=None,
                      progress=Progress("quiet"))
    trainer = current().trainers.get(spec.train.regime)(session)
    trainer.setup()
    return trainer


SMALL = {"char_rnn": ["params.units=64", "train.data.max_chars=20000"]}
# lstm_stock starts as persistence (its change head is zero-initialised), near its optimum
FALL = {"lstm_stock": 0.99}


@pytest.mark.parametrize("name", RECURRENT)
def test_a_few_training_steps_reduce_the_loss(name: str) -> None:
    require_data(name)
    trainer = regime(name, SMALL.get(name, []))
    n = trainer.data.train.n
    batch = trainer.data.train.batch(torch.linspace(0, n - 1, 16).long(), torch.device("cpu"))
    losses = [trainer.train_step(batch) for _ in range(12)]  # each is the loss before its step
    assert np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < FALL.get(name, 0.9) * losses[0], losses


SEQ_LENS, BATCHES = (1, 5, 50), (1, 7, 64)


@pytest.mark.parametrize("name", RECURRENT)
def test_onnx_export_keeps_batch_and_sequence_axes_dynamic(name: str, tmp_path: Path) -> None:
    spec = specc.load(spec_path(name))
    graph = spec.graph
    module = specc.build(spec).eval()
    path = tmp_path / f"{name}.onnx"
    export_module(module, path, inputs=graph.inputs, outputs=graph.output_types,
                  exporter="torchscript")
    model = onnx.load(str(path))
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param and not dims[0].dim_value, f"{value.name}: batch axis fixed"
        assert dims[1].dim_param and not dims[1].dim_value or (
            value.name in graph.outputs and graph.type_of(value.name).rank == 1), \
            f"{value.name}: sequence axis fixed"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    highs = int_highs(graph)
    for seq in SEQ_LENS:
        for batch in BATCHES:
            feeds = random_inputs(graph.inputs, batch, seq, rng, highs)
            got = session.run(None, feeds)[0]
            with torch.no_grad():
                want = module(*(torch.from_numpy(feeds[n]) for n in graph.inputs)).numpy()
            assert got.shape == want.shape, (seq, batch)
            assert np.abs(got - want).max() <= 1e-4, (seq, batch)
