"""The ``neural_turing_machine`` spec (issue 14 part 2): it learns the copy task on a short run,
and its ``step`` form exports with parity. The full bar (< 1 wrong bit per sequence within 20
minutes) is ``python -m benchmarks.ntm``."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml

import specc
from specc.train.api import load_model, train

SPEC = Path(__file__).resolve().parents[2] / "specs" / "neural_turing_machine.yaml"
RANDOM = 22.0  # wrong bits per sequence of a constant guess: half of 8 x 5.5 on average


def test_spec_declares_the_step_form_and_the_masked_loss() -> None:
    spec = specc.load(str(SPEC))
    assert list(spec.forms) == ["step"]
    assert spec.train.losses["bits"].mask == "mask"
    assert spec.graph.type_of("bits").shape == (22, 8)


@pytest.mark.slow
def test_ntm_learns_and_its_step_form_exports(tmp_path: Path) -> None:
    doc = copy.deepcopy(yaml.safe_load(SPEC.read_text()))
    doc["train"]["data"].update(n=1700)  # 1200 fresh sequences an epoch, 500 held out
    doc["train"]["epochs"] = 2
    run = train(doc, out=tmp_path / "run", quiet=True)
    errors = [row["val_bit_errors"] for row in run.metrics]
    assert errors[-1] < 0.8 * RANDOM, errors  # well below a guess after 2400 sequences
    model = load_model(run.dir)
    machine = next(m for m in model.modules() if getattr(m, "stateful", False))
    x = torch.zeros(3, 22, 10)
    x[:, 0, 8] = 1.0
    x[:, 1:4, :8] = torch.randint(0, 2, (3, 3, 8), generator=torch.Generator().manual_seed(0))
    x[:, 4, 9] = 1.0
    with torch.inference_mode():
        full = model(x)
        state, steps = machine.initial_state(3), []
        for t in range(22):
            y, state = machine.step(x[:, t], state)
            steps.append(torch.sigmoid(y))
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-6, rtol=1e-6)
    result = specc.export(run.dir, tmp_path / "step.onnx", form="step")
    assert result.parity.ok
