"""Honest evaluation: a held-out test split that neither training nor model selection sees,
and reports that say which split a figure comes from (issue 10, part 7); seeds and split
fractions are validated; predict refuses inputs without samples."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from specc.cli import main
from specc.data.base import RawData
from specc.data.splits import split_indices
from specc.errors import SpecError
from specc.spec.training import SplitConfig, validate_train
from specc.train.api import evaluate, predict, train

IRIS = """
specc: 1
name: iris_mlp
labels: [setosa, versicolor, virginica]
inputs: {x: [4]}
layers:
  - dense: {units: 8, activation: relu}
  - dense: {units: 3, activation: softmax}
train:
  data: {dataset: iris, split: {val: 0.2, test: 0.2, seed: 1, stratify: true}, scale: standard}
  loss: cross_entropy
  optimizer: {adam: {lr: 0.05}}
  epochs: 3
  batch_size: 32
  metrics: [accuracy]
"""


def raw(n: int, classes: int = 3) -> RawData:
    return RawData({"x": np.zeros((n, 2)), "y": np.arange(n) % classes}, "classification")


def test_val_and_test_parts_are_disjoint_and_cover_the_data():
    parts, record = split_indices(150, SplitConfig(val=0.1, test=0.2, seed=3, stratify=True),
                                  raw(150), series=False)
    sizes = {k: len(v) for k, v in parts.items()}
    assert sizes == {"train": 105, "val": 15, "test": 30}
    together = np.concatenate(list(parts.values()))
    assert sorted(together.tolist()) == list(range(150))
    assert record["n_test"] == 30 and record["n_val"] == 15
    y = np.arange(150) % 3
    assert np.bincount(y[parts["test"]]).tolist() == [10, 10, 10]  # stratified


@pytest.mark.parametrize("split,sizes", [
    ({"last": 10}, {"train": 140, "val": 10}),
    ({"val": 0.1, "test": 0.2, "order": "last"}, {"train": 105, "val": 15, "test": 30}),
    ({"test": 0.2}, {"train": 120, "test": 30}),
    ({"val": 20, "test": 10}, {"train": 120, "val": 20, "test": 10}),
])
def test_split_forms(split, sizes):
    parts, _ = split_indices(150, SplitConfig(**split), raw(150), series=False)
    assert {k: len(v) for k, v in parts.items()} == sizes
    if SplitConfig(**split).order == "last":
        n_train = sizes["train"]
        assert parts["train"].tolist() == list(range(n_train))
        if "val" in parts:
            assert parts["val"][0] == n_train


@pytest.mark.parametrize("train_cfg,path,words", [
    ({"seed": -1}, ("seed",), "must be >= 0"),
    ({"seed": 2**32}, ("seed",), "must be <= 4294967295"),
    ({"data": {"dataset": "iris", "split": {"val": 0.2, "seed": 2**40}}},
     ("data", "split", "seed"), "must be <= 4294967295"),
    ({"data": {"dataset": "iris", "split": {"val": math.inf}}}, ("data", "split", "val"),
     "finite number"),
    ({"data": {"dataset": "iris", "split": {"test": math.nan}}}, ("data", "split", "test"),
     "finite number"),
])
def test_seeds_and_fractions_out_of_range_are_validation_errors(train_cfg, path, words):
    cfg = {"data": "iris", "loss": "cross_entropy", **train_cfg}
    with pytest.raises(SpecError) as err:
        validate_train(cfg)
    issues = err.value.issues
    assert len(issues) == 1, [i.text() for i in issues]  # no union noise
    assert issues[0].path == path and words in issues[0].message


def test_cli_seed_out_of_range_exits_2(spec_file, tmp_path):
    path = spec_file(IRIS)
    for seed in ("-1", str(2**32), str(10**30)):
        res = CliRunner().invoke(main, ["train", str(path), "--seed", seed, "--out",
                                        str(tmp_path / "run")])
        assert res.exit_code == 2, res.output
        assert "--seed" in res.output and "0<=x<=4294967295" in res.output, res.output
        res = CliRunner().invoke(main, ["train", str(path), "--set", f"train.seed={seed}"])
        assert res.exit_code == 2 and "train.seed" in res.output, res.output
    for args in (["export", str(path), "-o", str(tmp_path / "m.onnx")], ["build", str(path)]):
        res = CliRunner().invoke(main, [*args, "--seed", str(10**23)])
        assert res.exit_code == 2 and "--seed" in res.output, res.output
    spec = spec_file(IRIS.replace("seed: 1,", "seed: .inf,"), "bad.yaml")
    res = CliRunner().invoke(main, ["validate", str(spec)])
    assert res.exit_code == 2 and "train.data.split.seed" in res.output, res.output


def test_labels_of_the_wrong_length_are_a_validation_error(spec_file):
    import specc

    path = spec_file(IRIS.replace("[setosa, versicolor, virginica]", "[setosa, versicolor]"))
    with pytest.raises(SpecError, match="labels lists 2 class names but output") as err:
        specc.load(path)
    assert err.value.issues[0].path == ("labels",) and err.value.issues[0].line == 3
    bare = spec_file(IRIS.split("train:")[0].replace("virginica]", "virginica, other]"), "b.yaml")
    with pytest.raises(SpecError, match="labels lists 4 class names but output 'dense_2' has "
                       "3 units"):
        specc.load(bare)  # no train section: the single output's width
    dup = spec_file(IRIS.replace("virginica]", "setosa]"), "d.yaml")
    with pytest.raises(SpecError, match="class labels must be distinct"):
        specc.load(dup)


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("iris")
    spec = folder / "iris.yaml"
    spec.write_text(IRIS.lstrip())
    return train(spec, out=folder / "run", quiet=True)


def test_evaluate_reports_the_test_split_by_default(iris_run):
    split = json.loads((iris_run.dir / "split.json").read_text())
    assert split["n_test"] == 30 and split["n_val"] == 30
    logged = set(iris_run.metrics[-1])
    assert not any(k.startswith("test_") for k in logged)  # training never looks at test
    result = evaluate(iris_run.dir)
    assert result["split"] == "test" and result["n"] == 30
    assert result["selection"] is False and "held-out test split" in result["note"]
    assert sum(map(sum, result["confusion"])) == 30
    val = evaluate(iris_run.dir, split="val")
    assert val["split"] == "val" and val["n"] == 30 and val["selection"] is True
    assert "chose the model" in val["note"] and "optimistic" in val["note"]
    assert "hold out a test split" not in val["note"]  # it has one
    last = evaluate(iris_run.dir, split="val", checkpoint="last")
    assert last["selection"] is False
    assert evaluate(iris_run.dir, split="train")["n"] == 90


def test_cli_evaluate_says_which_split(iris_run):
    runner = CliRunner()
    res = runner.invoke(main, ["evaluate", str(iris_run.dir)])
    assert res.exit_code == 0, res.output
    assert "test split: 30 samples" in res.output
    assert "figures from the held-out test split" in res.output
    assert "selection  " not in res.output and "note" not in res.output  # not metrics
    res = runner.invoke(main, ["evaluate", str(iris_run.dir), "--split", "val"])
    assert res.exit_code == 0 and "val split: 30 samples" in res.output
    assert "so this figure is optimistic" in " ".join(res.output.split())
    res = runner.invoke(main, ["evaluate", str(iris_run.dir), "--split", "val", "--json"])
    data = json.loads(res.output)
    assert data["split"] == "val" and data["selection"] is True


def test_without_a_test_split_evaluate_warns_and_suggests_one(spec_file, tmp_path):
    path = spec_file(IRIS.replace("val: 0.2, test: 0.2", "val: 0.2").replace("epochs: 3",
                                                                          "epochs: 1"))
    run = train(path, out=tmp_path / "run", quiet=True)
    result = evaluate(run.dir)
    assert result["split"] == "val" and result["selection"] is True
    assert "split: {val: 0.1, test: 0.2}" in result["note"]
    with pytest.raises(SpecError, match="no 'test' split"):
        evaluate(run.dir, split="test")


def test_predict_refuses_inputs_without_samples(iris_run, tmp_path):
    with pytest.raises(SpecError, match="holds no samples"):
        predict(iris_run.dir, np.zeros((0, 4), np.float32))
    with pytest.raises(SpecError, match="complex"):
        predict(iris_run.dir, np.ones((1, 4), np.complex64))
    np.save(tmp_path / "none.npy", np.zeros((0, 4), np.float32))
    res = CliRunner().invoke(main, ["predict", str(iris_run.dir), "--input",
                                    str(tmp_path / "none.npy")])
    assert res.exit_code == 2 and "holds no samples" in res.output, res.output
    (tmp_path / "head.csv").write_text("a,b,c,d\n")
    res = CliRunner().invoke(main, ["predict", str(iris_run.dir), "--input",
                                    str(tmp_path / "head.csv")])
    assert res.exit_code == 2 and "no numeric rows" in res.output, res.output
    res = CliRunner().invoke(main, ["predict", str(iris_run.dir), "--input", "/dev/zero"])
    assert res.exit_code == 2 and "device" in res.output, res.output


def test_predict_refuses_a_png_decompression_bomb(iris_run, tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 0, 0, 0, 0)  # 3.6e9 pixels declared
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
                                       chunk(b"IDAT", zlib.compress(b"\0" * 64)) +
                                       chunk(b"IEND", b""))
    res = CliRunner().invoke(main, ["predict", str(iris_run.dir), "--input",
                                    str(tmp_path / "bomb.png")])
    assert res.exit_code == 2, res.output
    assert "--input" in res.output and "3,600,000,000 pixels" in res.output
