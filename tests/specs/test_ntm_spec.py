"""The ``neural_turing_machine`` spec (issue 14 part 2): trained as shipped it meets its bar
(< 1 wrong bit per sequence on the held-out copy sequences; seeds 0-2 did at epochs 11-14, a few
minutes), carries the copy over to sequences twice as long, and its ``step`` form equals the
whole forward and exports with parity. ``python -m benchmarks.ntm`` reports the timings."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
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
def test_ntm_meets_its_bar_and_its_step_form_exports(tmp_path: Path) -> None:
    from specc.data.synthetic import copy_sequences
    from specc.train.copy_metrics import count_bit_errors

    doc = copy.deepcopy(yaml.safe_load(SPEC.read_text()))
    doc["train"]["epochs"] = 25  # seeds 0-2 went below 1 bit at epochs 14, 11 and 11
    run = train(doc, out=tmp_path / "run", quiet=True)
    errors = [row["val_bit_errors"] for row in run.metrics]
    assert errors[0] > 0.5 * RANDOM, errors  # it starts near a guess
    assert min(errors) < 1.0, errors
    model = load_model(run.dir)  # the best checkpoint
    # length 20, twice the longest trained: a controller that memorised the training lengths
    # gets ~60 of the 160 bits wrong; heads that walk the memory get a few at most
    arrays = copy_sequences(np.random.default_rng(1), 200, 8, 20, 20, 20)
    x20, y20, mask20 = (torch.from_numpy(arrays[k]) for k in ("x", "y", "mask"))
    with torch.inference_mode():
        long = float(count_bit_errors(model(x20), y20, mask20).mean())
    assert long < 16.0, long
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
