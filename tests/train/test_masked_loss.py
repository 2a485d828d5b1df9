"""Loss masks (``losses: {y: {loss: ..., mask: ARRAY}}``), the ``bit_errors`` metric and
training data drawn afresh every epoch (the copy task)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from specc.data.loader import masked
from specc.data.synthetic import Copy, CopyParams
from specc.errors import SpecError
from specc.train.api import load_model, train
from specc.train.copy_metrics import count_bit_errors

# a per-step dense layer over the copy task: small and fast, enough to test the plumbing
SPEC = yaml.safe_load("""\
specc: 1
name: masked_copy
inputs: {sequence: [null, 6]}
nodes:
  step: {op: dense, in: sequence, units: 4}
  bits: {op: sigmoid, in: step}
outputs: [bits]
train:
  data: {dataset: copy, n: 48, bits: 4, min_length: 1, max_length: 3, split: {last: 16}}
  losses:
    bits: {loss: binary_cross_entropy, mask: mask}
  optimizer: {adam: {lr: 1.0e-2}}
  epochs: 2
  batch_size: 8
  metrics: [bit_errors]
""")


def _doc(**data: object) -> dict:
    doc = copy.deepcopy(SPEC)
    doc["train"]["data"].update(data)
    return doc


def test_masked_keeps_the_marked_elements_only() -> None:
    pred = torch.arange(12.0).reshape(1, 3, 4)
    target = -pred
    mask = torch.tensor([[0.0, 1.0, 0.0]])
    p, t = masked(pred, target, mask)
    assert torch.equal(p, pred[0, 1:2]) and torch.equal(t, target[0, 1:2])
    assert masked(pred, target, None) == (pred, target)


def test_loss_is_averaged_over_masked_steps(tmp_path: Path) -> None:
    run = train(_doc(), out=tmp_path / "run", quiet=True)
    rows = (run.dir / "metrics.csv").read_text().splitlines()
    header, last = rows[0].split(","), rows[-1].split(",")
    logged = dict(zip(header, last, strict=True))
    model = load_model(run.dir, checkpoint="last")
    raw = Copy.load(CopyParams(n=48, bits=4, min_length=1, max_length=3))
    x, y, m = (torch.as_tensor(raw.arrays[k][-16:]) for k in ("x", "y", "mask"))
    with torch.no_grad():
        probs = model(x)
    keep = m > 0
    by_hand = torch.nn.functional.binary_cross_entropy(probs[keep], y[keep])
    unmasked = torch.nn.functional.binary_cross_entropy(probs, y)
    assert float(logged["val_loss"]) == pytest.approx(float(by_hand), rel=1e-4, abs=1e-5)
    assert float(logged["val_loss"]) != pytest.approx(float(unmasked), rel=1e-4)
    bits = count_bit_errors(probs, y, m).mean()
    assert float(logged["val_bit_errors"]) == pytest.approx(float(bits), abs=1e-3)


def test_mask_naming_a_missing_array_is_located(tmp_path: Path) -> None:
    doc = _doc()
    doc["train"]["losses"]["bits"]["mask"] = "masks"
    with pytest.raises(SpecError) as err:
        train(doc, out=tmp_path / "run", quiet=True)
    text = str(err.value)
    assert "train.losses.bits.mask" in text and "has no array 'masks'" in text
    assert "received 'masks'" in text and "did you mean 'mask'" in text


def test_bit_errors_by_hand() -> None:
    probs = torch.tensor([[[0.9, 0.2], [0.6, 0.4], [0.1, 0.1]],
                          [[0.4, 0.7], [0.8, 0.8], [0.3, 0.9]]])
    target = torch.tensor([[[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]],
                           [[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    # sequence 0: step 0 one wrong, step 1 one wrong (step 2 unmasked); sequence 1: step 2 one
    assert count_bit_errors(probs, target, mask).tolist() == [2.0, 1.0]


def test_copy_is_fresh_each_epoch_and_reproducible() -> None:
    p = CopyParams(n=64, bits=4, max_length=5, seed=3)
    first, again = Copy.load_epoch(p, 0, "train"), Copy.load_epoch(p, 0, "train")
    second = Copy.load_epoch(p, 1, "train")
    assert np.array_equal(first.arrays["x"], again.arrays["x"])
    assert not np.array_equal(first.arrays["x"], second.arrays["x"])
    assert not np.array_equal(first.arrays["x"], Copy.load(p).arrays["x"])
    lengths = [Copy.load_epoch(CopyParams(n=200, max_length=6, curriculum=2), e, "train")
               .arrays["length"].max() for e in (0, 1, 2, 4, 20)]
    assert lengths == [1, 1, 2, 3, 6]


def test_training_split_is_redrawn_each_epoch(tmp_path: Path) -> None:
    from specc.data.loader import TensorData
    from specc.data.prepare import OutputTarget, mask_key, prepare
    from specc.spec.training import DataConfig
    from specc.types import TensorType

    cfg = DataConfig(**SPEC["train"]["data"])
    prep = prepare(cfg, {"sequence": TensorType((None, 6))},
                   {"bits": OutputTarget(TensorType((None, 4)), "binary_cross_entropy",
                                         mask="mask")})
    data = TensorData(prep)
    held = data.parts["val"].inputs["sequence"].clone()
    data.refresh(0)
    x0 = data.train.inputs["sequence"].clone()
    data.refresh(1)
    train = data.train
    assert train.n == 32 and not torch.equal(x0, train.inputs["sequence"])
    assert torch.equal(held, data.parts["val"].inputs["sequence"])  # held out: unchanged
    params = {k: v for k, v in SPEC["train"]["data"].items() if k not in ("dataset", "split")}
    fresh = Copy.load_epoch(CopyParams(**params), 1, "train")
    assert torch.equal(train.targets[mask_key("bits")], torch.as_tensor(
        fresh.arrays["mask"][:32]))


def test_a_batch_whose_mask_marks_nothing_adds_no_loss() -> None:
    from types import SimpleNamespace

    from specc.data.prepare import mask_key
    from specc.train.backprop import Backprop

    pred = torch.full((2, 3, 4), 0.5, requires_grad=True)
    stub = SimpleNamespace(loss_fns={"y": torch.nn.functional.binary_cross_entropy},
                           losses={"y": SimpleNamespace(weight=1.0)},
                           network=SimpleNamespace(aux_losses=lambda: []))
    target = torch.ones(2, 3, 4)
    none = Backprop._loss(stub, {"y": pred}, {"y": target, mask_key("y"): torch.zeros(2, 3)})
    assert float(none) == 0.0
    none.backward()  # still part of the graph: a zero gradient, not an error
    assert torch.equal(pred.grad, torch.zeros_like(pred))
    some = torch.zeros(2, 3)
    some[0, 1] = 1
    one = Backprop._loss(stub, {"y": pred}, {"y": target, mask_key("y"): some})
    assert float(one) == pytest.approx(float(np.log(2.0)), rel=1e-6)
