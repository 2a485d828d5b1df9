"""The judge metric: a trained classifier run grades a generator's samples (issue 13)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from specc.entries import Choice, SplitContext
from specc.errors import SpecError
from specc.registry import current
from specc.train import judge as judge_mod
from specc.train.api import predict, train
from specc.train.judge import JudgeParams
from specc.train.metrics import evaluate_split

CLASSIFIER = {"specc": 1, "name": "digits_judge", "inputs": {"image": [1, 8, 8]},
              "layers": ["flatten", {"dense": {"units": 10, "activation": "softmax"}}],
              "train": {"data": {"dataset": "digits", "split": {"last": 300}, "scale": "unit"},
                        "loss": "cross_entropy", "optimizer": {"adam": {"lr": 0.01}},
                        "epochs": 4, "batch_size": 64}}


@pytest.fixture(scope="module")
def judge_run(tmp_path_factory):
    """A small digits classifier trained here (about a second)."""
    return train(CLASSIFIER, out=tmp_path_factory.mktemp("judge") / "run", quiet=True).dir


def held_out(run) -> np.ndarray:
    """The classifier's held-out digits in raw units (0-16), from its split.json."""
    index = json.loads((run / "split.json").read_text())["val_index"]
    return load_digits().images.astype(np.float32)[index]


def context(generate=None) -> SplitContext:
    extras = {} if generate is None else {"generate": generate}
    return SplitContext("val", lambda inputs: {}, {}, {}, None, extras)


def judged(run, generate, samples: int = 300) -> dict[str, float]:
    choice = Choice("judge", JudgeParams(run=str(run), samples=samples, seed=3))
    return evaluate_split([Choice("accuracy", None), choice], context(generate))


def test_real_held_out_digits_score_a_ratio_of_one(judge_run) -> None:
    real = held_out(judge_run)
    seeds = []

    def generate(n: int, seed: int) -> torch.Tensor:
        seeds.append((n, seed))
        return torch.from_numpy(real[:n])

    got = judged(judge_run, generate)
    assert seeds == [(300, 3)]
    assert set(got) == {"judge_ratio", "judge_confidence", "judge_real", "judge_min_class"}
    assert got["judge_confidence"] == pytest.approx(got["judge_real"], rel=1e-6)
    assert got["judge_ratio"] == pytest.approx(1.0, rel=1e-6)
    probs = predict(judge_run, real[:, None], labels=False)  # the run's own predict path
    assert got["judge_real"] == pytest.approx(float(probs.max(axis=1).mean()), rel=1e-6)
    labels = probs.argmax(axis=1)
    assert got["judge_min_class"] == pytest.approx(np.bincount(labels, minlength=10).min() / 300)
    assert 0.5 < got["judge_real"] < 1.0


def test_a_collapsed_generator_leaves_classes_empty(judge_run) -> None:
    real = held_out(judge_run)
    got = judged(judge_run, lambda n, seed: torch.from_numpy(np.repeat(real[:1], n, axis=0)),
                 samples=50)
    assert got["judge_min_class"] == 0.0
    p = predict(judge_run, real[:1][:, None], labels=False)
    assert got["judge_confidence"] == pytest.approx(float(p.max()), rel=1e-6)
    assert current().metrics.get("judge").mode == "max"


def test_the_judge_run_is_loaded_once_per_checkpoint(judge_run) -> None:
    first = judge_mod.load_judge(str(judge_run))
    assert judge_mod.load_judge(str(judge_run)) is first
    ckpt = next((judge_run / "checkpoints").glob("best.*"))
    st = ckpt.stat()
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert judge_mod.load_judge(str(judge_run)) is not first


def error_text(run, generate) -> str:
    with pytest.raises(SpecError) as info:
        judged(run, generate)
    return info.value.render(color=False)


def test_a_judge_run_that_is_not_a_run_folder_is_refused(tmp_path) -> None:
    text = error_text(tmp_path, lambda n, seed: torch.zeros(n, 1, 8, 8))
    assert f"train.metrics[1].judge.run: judge run '{tmp_path}' is not a run folder" in text
    assert "(received '/" in text and "hint: train the classifier first" in text


def test_samples_that_do_not_fit_the_judge_input_are_refused(judge_run) -> None:
    text = error_text(judge_run, lambda n, seed: torch.zeros(n, 1, 28, 28))
    assert ("train.metrics[1].judge.run: judge run" in text and "classifies inputs 'image' of "
            "shape (1, 8, 8); the generator makes samples of shape (1, 28, 28) "
            "(received shape (1, 28, 28))" in text)
    ok = judged(judge_run, lambda n, seed: torch.zeros(n, 64))  # same values: the view fits
    assert 0 < ok["judge_confidence"] <= 1


def test_a_regime_without_a_generator_is_refused(judge_run) -> None:
    text = error_text(judge_run, None)
    assert "train.metrics[1].judge: metric 'judge' grades a generator's samples; this " \
        "regime trains no generator (received 'judge')" in text
    assert "regime: adversarial" in text


def test_training_with_the_judge_but_no_generator_exits_2(judge_run, tmp_path) -> None:
    from click.testing import CliRunner

    from specc.cli import main

    spec = dict(CLASSIFIER, train=dict(CLASSIFIER["train"], epochs=1,
                                       metrics=[{"judge": {"run": str(judge_run)}}]))
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    res = CliRunner().invoke(main, ["train", str(path), "--out", str(tmp_path / "run"), "-q"])
    assert res.exit_code == 2, res.output
    assert "train.metrics[0].judge: metric 'judge' grades a generator's samples" in res.output
    assert "Traceback" not in res.output


def gan(data: dict, x: list[int], judge: str, epochs: int = 1) -> dict:
    """A tiny adversarial spec whose samples the judge grades."""
    n = int(np.prod(x))
    return {"specc": 1, "name": "judged_gan",
            "networks": {
                "generator": {"inputs": {"z": [4]}, "layers": [
                    {"dense": {"units": n, "activation": "tanh"}}, {"reshape": {"shape": x}}]},
                "discriminator": {"inputs": {"x": x}, "layers": ["flatten", {"dense": {"units": 1}}]}},
            "train": {"regime": "adversarial", "data": data, "epochs": epochs, "batch_size": 64,
                      "optimizer": {"adam": {"lr": 1.0e-3, "beta1": 0.5}}, "grid": {"every": 0},
                      "metrics": [{"judge": {"run": judge, "samples": 200}}]}}


def test_an_adversarial_run_logs_the_judge_and_keeps_its_best(judge_run, tmp_path) -> None:
    data = {"dataset": "digits", "split": {"last": 300}, "scale": "unit",
            "normalize": {"mean": 0.5, "std": 0.5}}
    run = train(gan(data, [1, 8, 8], str(judge_run), epochs=2), out=tmp_path / "gan", quiet=True)
    rows = run.metrics
    assert len(rows) == 2
    real = judge_mod.load_judge(str(judge_run)).held_out_confidence()
    for row in rows:
        assert row["val_judge_real"] == pytest.approx(real, rel=1e-5)
        assert row["val_judge_ratio"] == pytest.approx(row["val_judge_confidence"] / real, rel=1e-5)
        assert 0 <= row["val_judge_min_class"] <= 0.1 + 1e-9  # 10 classes: at most 1/10
    assert "best: val_judge_ratio" in (run.dir / "summary.txt").read_text()


def test_a_judge_that_does_not_take_the_samples_exits_2(judge_run, tmp_path) -> None:
    from click.testing import CliRunner

    from specc.cli import main

    data = {"dataset": "iris", "split": {"val": 0.2}, "scale": "standard"}
    path = tmp_path / "gan.json"
    path.write_text(json.dumps(gan(data, [4], str(judge_run))))
    res = CliRunner().invoke(main, ["train", str(path), "--out", str(tmp_path / "run"), "-q"])
    assert res.exit_code == 2, res.output
    assert ("train.metrics[0].judge.run: judge run" in res.output and "classifies inputs 'image' "
            "of shape (1, 8, 8); the generator makes samples of shape (4,)" in res.output)
    assert "(received shape (4,))" in res.output and "Traceback" not in res.output
