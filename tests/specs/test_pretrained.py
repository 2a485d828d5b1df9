"""Transfer learning (seed 003): ``pretrained:`` loads part of a network from a safetensors file,
``trainable: false`` freezes it, and training a new head leaves the frozen weights (and batch-norm
statistics) bit for bit as loaded. Every test writes its own weights file; nothing downloads."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

import specc
from specc.runs.folder import load_run
from specc.train.api import load_model, train

SPECS_DIR = Path(__file__).resolve().parents[2] / "specs"


def spec_doc(name: str) -> dict[str, Any]:
    return yaml.safe_load((SPECS_DIR / f"{name}.yaml").read_text())


def write_base(doc: dict[str, Any], path: Path, seed: int = 1) -> dict[str, torch.Tensor]:
    """Build ``doc`` with its own seed and save its weights: the 'pretrained' file."""
    specc.save_weights(specc.build(specc.load(doc), seed=seed), path)
    return load_file(str(path))


def vgg16_transfer(base: Path, data: Path) -> dict[str, Any]:
    """The course notes' recipe: VGG16's convolutional base, frozen and loaded from a file,
    with a new two-class head trained on small images."""
    doc = spec_doc("vgg16")
    doc["params"].update(size=32, num_classes=2)
    layers = [item for item in doc["layers"] if next(iter(item.values()))["name"].startswith("block")]
    for item in layers:
        next(iter(item.values()))["trainable"] = False
    doc["layers"] = layers + [
        {"flatten": {"name": "flatten"}},
        {"dense": {"units": 32, "activation": "relu", "name": "head_hidden"}},
        {"dense": {"units": 2, "activation": "softmax", "name": "head"}},
    ]
    doc["pretrained"] = {"file": str(base), "nodes": ["block*"]}
    doc["train"] = {"data": {"dataset": "npy", "path": str(data), "split": {"val": 0.25}},
                    "loss": "cross_entropy", "optimizer": {"adam": {"lr": 1e-3}},
                    "epochs": 2, "batch_size": 16, "metrics": ["accuracy"]}
    return doc


def test_vgg16_base_frozen_and_loaded_head_trained(tmp_path: Path) -> None:
    base_doc = spec_doc("vgg16")
    base_doc["params"].update(size=32, num_classes=10)
    base = write_base(base_doc, tmp_path / "vgg16_base.safetensors")
    rng = np.random.default_rng(0)
    x = rng.random((64, 3, 32, 32), dtype=np.float32)
    y = (x[:, 0].mean(axis=(1, 2)) > 0.5).astype(np.int64)
    np.savez(tmp_path / "images.npz", x=x, y=y)
    doc = vgg16_transfer(tmp_path / "vgg16_base.safetensors", tmp_path / "images.npz")
    spec = specc.load(doc)
    trainable, frozen = spec.param_counts
    assert frozen == 14_714_688  # VGG16's convolutional base, as Keras reports include_top=False
    assert trainable == 512 * 32 + 32 + 32 * 2 + 2

    fresh = specc.build(spec, seed=5)
    report = fresh.pretrained_report
    assert len(report.matched) == 26 and len(report.nodes) == 13
    assert not report.missing and not report.skipped
    assert report.unexpected == ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight",
                                 "predictions.bias", "predictions.weight"]  # the replaced top

    run = train(doc, out=tmp_path / "run", quiet=True)
    _, state, _ = load_run(run.dir, "last")
    start = dict(fresh.state_dict())
    for key, value in state.items():
        if key.startswith("block"):
            assert torch.equal(value, base[key]), f"{key} changed"
        else:
            assert not torch.equal(value, start[key]), f"{key} did not train"


def test_frozen_batch_norm_statistics_stay_bitwise(tmp_path: Path) -> None:
    doc = spec_doc("resnet")
    base = write_base(doc, tmp_path / "base.safetensors")
    for item in doc["layers"]:
        body = next(iter(item.values()))
        if body["name"].startswith(("stem", "stage1")):
            body["trainable"] = False
    doc["pretrained"] = {"file": "base.safetensors", "nodes": ["stem*", "stage1"]}
    doc["train"].update(epochs=1)
    doc["train"]["data"]["limit"] = 128
    path = tmp_path / "transfer.yaml"
    path.write_text(yaml.safe_dump(doc))  # a relative file is read from the spec's folder
    run = train(str(path), out=tmp_path / "run", quiet=True)
    _, state, _ = load_run(run.dir, "last")
    frozen = [k for k in state if k.startswith(("stem", "stage1"))]
    assert any("running_mean" in k for k in frozen)
    for key in frozen:
        assert torch.equal(state[key], base[key]), f"{key} changed"
    assert not torch.equal(state["stage2__c1.weight"], base["stage2__c1.weight"])
    # the run records the loaded weights, not the file: rebuilding it never reads the file
    assert "pretrained" not in yaml.safe_load((run.dir / "spec.resolved.yaml").read_text())
    (tmp_path / "base.safetensors").unlink()
    model = load_model(run.dir, checkpoint="last")
    assert torch.equal(model.state_dict()["stem.weight"], base["stem.weight"])


@pytest.fixture
def small(tmp_path: Path) -> tuple[dict[str, Any], Path, dict[str, torch.Tensor]]:
    doc = spec_doc("feed_forward")
    doc.pop("train")
    path = tmp_path / "ff.safetensors"
    return doc, path, write_base(doc, path)


def with_pretrained(doc: dict[str, Any], **cfg: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["pretrained"] = cfg
    return doc


def test_shape_mismatch_is_a_spec_error(small: Any) -> None:
    doc, path, _ = small
    doc = with_pretrained(doc, file=str(path), strict=False)
    doc["params"]["hidden"] = 32
    with pytest.raises(specc.SpecError) as err:
        specc.build(specc.load(doc))
    text = str(err.value)
    assert "hidden.weight' has shape [64, 64] in the file but [32, 64]" in text
    assert "output.weight' has shape [10, 64] in the file but [10, 32]" in text


def test_missing_and_unexpected_keys(small: Any, tmp_path: Path) -> None:
    doc, path, base = small
    partial = tmp_path / "partial.safetensors"
    save_file({"hidden.weight": base["hidden.weight"], "hidden.bias": base["hidden.bias"],
               "extra.weight": torch.zeros(3)}, str(partial))
    with pytest.raises(specc.SpecError, match="(?s)lack 2 weights.*output.bias.*unexpected.*extra"):
        specc.build(specc.load(with_pretrained(doc, file=str(partial))))
    with pytest.warns(UserWarning, match="missing"):
        model = specc.build(specc.load(with_pretrained(doc, file=str(partial), strict=False)))
    report = model.pretrained_report
    assert report.matched == ["hidden.bias", "hidden.weight"]
    assert report.missing == ["output.bias", "output.weight"]
    assert report.unexpected == ["extra.weight"]
    assert torch.equal(model.hidden.weight, base["hidden.weight"])
    # selecting only what the file has is strict-clean
    model = specc.build(specc.load(with_pretrained(doc, file=str(partial), nodes=["hid*"],
                                                   strict=False)))
    assert model.pretrained_report.missing == []


def test_dotted_node_names_and_prefix(tmp_path: Path) -> None:
    doc = spec_doc("resnet")
    doc.pop("train")
    state = load_file(str(specc.save_weights(specc.build(specc.load(doc), seed=3),
                                             tmp_path / "w.safetensors")))
    renamed = {"encoder." + k.replace("__", "."): v for k, v in state.items()}
    save_file(renamed, str(tmp_path / "dotted.safetensors"))
    model = specc.build(specc.load(with_pretrained(
        doc, file=str(tmp_path / "dotted.safetensors"), prefix="encoder.", nodes=["stage1"])))
    assert torch.equal(model.stage1__0__c1.weight, state["stage1__0__c1.weight"])
    assert not torch.equal(model.stem.weight, state["stem.weight"])
    assert len(model.pretrained_report.skipped) > 0


def test_bad_selection_and_file(small: Any, tmp_path: Path) -> None:
    doc, path, _ = small
    with pytest.raises(specc.SpecError, match="no node matches 'hiden'") as err:
        specc.build(specc.load(with_pretrained(doc, file=str(path), nodes=["hiden"])))
    assert "did you mean 'hidden'" in str(err.value)
    with pytest.raises(specc.SpecError, match="does not exist"):
        specc.build(specc.load(with_pretrained(doc, file=str(tmp_path / "nope.safetensors"))))
    with pytest.raises(specc.SpecError, match="unknown field"):
        specc.load(with_pretrained(doc, file=str(path), strickt=True))
