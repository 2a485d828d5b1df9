"""Data-dependent initialisation: run once before step 1 on the training split, seeded, kept in
the checkpoints, never repeated on resume; its errors are located at the node."""

from __future__ import annotations

import copy

import pytest
import torch
from safetensors.torch import load_file

import specc.layers.rbf as rbf
from specc.data.xor import CORNERS
from specc.errors import SpecError
from specc.train.api import train

SPEC = {
    "specc": 1, "name": "rbfnet", "inputs": {"x": [2]},
    "layers": [{"rbf": {"units": 4, "trainable_centres": False, "name": "basis"}},
               {"dense": {"units": 2, "activation": "softmax", "name": "out"}}],
    "train": {"data": {"dataset": "xor", "copies": 10, "noise": 0.05,
                       "split": {"val": 0.2, "seed": 0}},
              "loss": "cross_entropy", "epochs": 1, "batch_size": 8},
}


def centres(run_dir) -> torch.Tensor:
    return load_file(run_dir / "checkpoints/last.safetensors")["basis.centres"]


def test_centres_come_from_the_training_split_and_are_deterministic(tmp_path) -> None:
    train(SPEC, out=tmp_path / "a", quiet=True)
    train(SPEC, out=tmp_path / "b", quiet=True)
    a = centres(tmp_path / "a")
    assert torch.equal(a, centres(tmp_path / "b"))
    # fixed centres stay where k-means put them: one per noisy corner
    assert torch.cdist(torch.from_numpy(CORNERS), a).min(1).values.max() < 0.06
    widths = load_file(tmp_path / "a/checkpoints/last.safetensors")["basis.widths"]
    assert not torch.allclose(widths, torch.ones(4))  # set from the spread, then trained


def test_another_seed_is_another_placement_of_the_same_clusters(tmp_path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["train"]["seed"] = 3
    train(SPEC, out=tmp_path / "a", quiet=True)
    train(spec, out=tmp_path / "b", quiet=True)
    a, b = centres(tmp_path / "a"), centres(tmp_path / "b")
    assert torch.cdist(a, b).min(1).values.max() < 1e-5


def test_resume_does_not_repeat_it(tmp_path, monkeypatch) -> None:
    train(SPEC, out=tmp_path / "run", quiet=True)
    before = centres(tmp_path / "run")

    def refuse(*args, **kwargs):
        raise AssertionError("k-means ran again on resume")

    monkeypatch.setattr(rbf, "kmeans", refuse)
    train(resume=tmp_path / "run", epochs=2, quiet=True)
    assert torch.equal(centres(tmp_path / "run"), before)


def test_too_few_samples_is_located_at_the_node(tmp_path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["layers"][0]["rbf"]["units"] = 20
    spec["train"]["data"].update(copies=4)
    with pytest.raises(SpecError) as err:
        train(spec, out=tmp_path / "run", quiet=True)
    issue = err.value.issues[0]
    assert "20 centres needs at least 20 training samples" in issue.message
    assert issue.path[:2] == ("layers", 0)


def test_the_fit_loop_runs_it_too_with_the_documented_seeding(tmp_path) -> None:
    """least_squares on fixed radial basis units (the classic RBF network): the centres are
    k-means++/k-means on the whole (small) training split, seeded by train.seed."""
    from specc.data.prepare import prepare

    spec = copy.deepcopy(SPEC)
    spec["layers"][0]["rbf"]["trainable_widths"] = False
    spec["train"] = {"regime": "least_squares", "readout": "out", "ridge": 1e-3, "seed": 4,
                     "metrics": ["accuracy"],
                     "data": SPEC["train"]["data"]}
    run = train(spec, out=tmp_path / "run", quiet=True)
    graph = run.spec.graph
    prep = prepare(run.spec.train.data, graph.inputs, {})
    x = torch.from_numpy(prep.parts["train"].inputs["x"]).double()
    want = rbf.kmeans(x, 4, torch.Generator().manual_seed(4))
    assert torch.allclose(centres(tmp_path / "run"), want.float())
    widths = load_file(tmp_path / "run/checkpoints/last.safetensors")["basis.widths"]
    assert torch.allclose(widths, torch.full((4,), rbf.width_from_spread(want)))
    assert run.evaluate()["accuracy"] == 1.0


def test_the_sample_is_bounded_and_seeded() -> None:
    from types import SimpleNamespace

    from specc.train.data_init import MAX_SAMPLES, _sample

    part = SimpleNamespace(n=MAX_SAMPLES + 904,
                           inputs={"x": torch.arange(MAX_SAMPLES + 904.0)[:, None]})
    a = _sample(part, ["x"], torch.Generator().manual_seed(0))["x"]
    b = _sample(part, ["x"], torch.Generator().manual_seed(0))["x"]
    assert a.shape == (MAX_SAMPLES, 1) and torch.equal(a, b)
    assert bool((a[1:] > a[:-1]).all())  # distinct samples, in split order
    small = SimpleNamespace(n=10, inputs={"x": torch.zeros(10, 1)})
    assert _sample(small, ["x"], torch.Generator())["x"] is small.inputs["x"]
