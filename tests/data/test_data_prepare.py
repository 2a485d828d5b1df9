"""Splitting, shaping, scaling and checking data against a network's inputs and outputs."""

from __future__ import annotations

import numpy as np
import pytest

from specc.data.prepare import OutputTarget, apply_preprocess, prepare, windows
from specc.errors import SpecError
from specc.spec.data_section import DataConfig
from specc.types import TensorType


def cfg(**kw) -> DataConfig:
    return DataConfig(**kw)


def classes(n: int) -> dict[str, OutputTarget]:
    return {"out": OutputTarget(TensorType((n,)), "cross_entropy")}


def test_random_split_matches_sklearn():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    p = prepare(cfg(dataset="digits", split={"val": 0.2, "seed": 0}),
                {"x": TensorType((64,))}, classes(10))
    d = load_digits()
    xtr, xva, ytr, yva = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    np.testing.assert_array_equal(p.parts["train"].inputs["x"], xtr.astype(np.float32))
    np.testing.assert_array_equal(p.parts["val"].targets["out"], yva)
    assert p.split_record["n_val"] == 360


def test_last_split_and_three_way_split():
    p = prepare(cfg(dataset="iris", split={"last": 30}), {"x": TensorType((4,))}, classes(3))
    assert p.parts["val"].index.tolist() == list(range(120, 150))
    p = prepare(cfg(dataset="iris", split={"val": 0.1, "test": 0.2, "seed": 1, "stratify": True}),
                {"x": TensorType((4,))}, classes(3))
    assert (p.parts["train"].n, p.parts["val"].n, p.parts["test"].n) == (105, 15, 30)
    assert np.bincount(p.parts["test"].targets["out"]).tolist() == [10, 10, 10]
    assert p.held_out() == "test"
    everything = np.concatenate([q.index for q in p.parts.values()])
    assert sorted(everything.tolist()) == list(range(150))


def test_own_split_is_default():
    p = prepare(cfg(dataset="mnist5k", scale="unit", limit=None), {"x": TensorType((784,))},
                classes(10))
    assert p.parts["val"].n == 1000 and p.split_record["kind"] == "own"
    assert p.parts["train"].inputs["x"].max() == 1.0


@pytest.mark.parametrize("shape,view", [((1, 8, 8), "auto"), ((8, 8), "auto"), ((64,), "auto"),
                                        ((1, 8, 8), "image"), ((8, 8), "sequence"),
                                        ((64,), "flat"), ((None, 8), "auto")])
def test_digits_views(shape, view):
    p = prepare(cfg(dataset="digits", view=view), {"x": TensorType(shape)}, classes(10))
    x = p.parts["train"].inputs["x"]
    want = tuple(8 if d is None else d for d in shape)
    assert x.shape[1:] == want
    from sklearn.datasets import load_digits

    first = load_digits().images[p.parts["train"].index[0]]
    np.testing.assert_array_equal(x[0].reshape(8, 8), first)  # rows stay rows


def test_wrong_feature_count_is_refused():
    with pytest.raises(SpecError) as err:
        prepare(cfg(dataset="iris"), {"x": TensorType((5,))}, classes(3))
    issue = err.value.issues[0]
    assert "dataset 'iris' gives samples of shape (4,)" in issue.message
    assert "input 'x' of shape (5,)" in issue.message
    assert issue.path == ("train", "data", "dataset") and "4 features" in issue.hint


def test_label_out_of_range_is_refused():
    with pytest.raises(SpecError, match=r"labels range over 0\.\.9 \(10 classes\) but output "
                       r"'out' has 5 units") as err:
        prepare(cfg(dataset="digits"), {"x": TensorType((64,))}, classes(5))
    assert "10 units" in err.value.issues[0].hint


def test_integer_input_needs_integer_data():
    with pytest.raises(SpecError, match="takes integer ids"):
        prepare(cfg(dataset="iris"), {"x": TensorType((4,), "int64")}, classes(3))


def test_no_labels_for_supervised_output(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((10, 3), np.float32))
    with pytest.raises(SpecError, match="no labels") as err:
        prepare(cfg(dataset="npy", path=str(tmp_path / "x.npy")), {"x": TensorType((3,))},
                {"out": OutputTarget(TensorType((3,)), "mse")})
    assert "target: input" in err.value.issues[0].hint
    p = prepare(cfg(dataset="npy", path=str(tmp_path / "x.npy")), {"x": TensorType((3,))},
                {"out": OutputTarget(TensorType((3,)), "mse", "input")})
    assert p.input_targets == {"out": "x"}


def test_standard_scaling_is_fitted_on_train_only():
    p = prepare(cfg(dataset="wine", split={"val": 0.3, "seed": 2}, scale="standard"),
                {"x": TensorType((13,))}, classes(3))
    tr, va = p.parts["train"].inputs["x"], p.parts["val"].inputs["x"]
    np.testing.assert_allclose(tr.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(tr.std(axis=0), 1, atol=1e-3)
    assert np.abs(va.mean(axis=0)).max() > 0.01  # validation is not re-fitted
    from specc.data.sklearn_toy import Wine

    raw_val = Wine.load(None).arrays["x"][p.parts["val"].index]
    np.testing.assert_allclose(apply_preprocess(p.preprocess["x"], raw_val), va, rtol=1e-5)


def test_windows_next_and_sequence():
    s = np.arange(10, dtype=np.float32)[:, None]
    x, y = windows(s, 3, 1, 1, "next")
    assert x.shape == (7, 3, 1) and x[0, :, 0].tolist() == [0, 1, 2] and y[0].tolist() == [3]
    x, y = windows(s, 3, 2, 2, "next")
    assert x[:, 0, 0].tolist() == [0, 2, 4] and y[:, 0].tolist() == [4, 6, 8]
    ids = np.arange(10)
    x, y = windows(ids, 4, 1, 4, "sequence")
    assert x.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]] and y.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_series_split_in_time_scaled_on_train_with_inverse_recorded():
    c = cfg(dataset="air_passengers", split={"val": 0.33}, window={"size": 1}, scale="minmax")
    p = prepare(c, {"x": TensorType((1, 1))}, {"out": OutputTarget(TensorType((1,)), "mse")})
    tr, va = p.parts["train"], p.parts["val"]
    assert tr.inputs["x"].min() == 0 and tr.inputs["x"].max() == 1
    n_val = int(np.ceil(0.33 * 144))
    assert len(tr.index) == 144 - n_val - 1 and va.index[0] == 144 - n_val
    ts = p.target_scale["out"]
    from specc.data.series import AIR_PASSENGERS

    raw = np.asarray(AIR_PASSENGERS, np.float32)
    restored = va.targets["out"][:, 0] * ts["scale"][0] + ts["shift"][0]
    np.testing.assert_allclose(restored, raw[144 - n_val + 1:], rtol=1e-5)


def test_series_needs_window_for_supervised_training():
    with pytest.raises(SpecError, match="window"):
        prepare(cfg(dataset="sine"), {"x": TensorType((10, 1))},
                {"out": OutputTarget(TensorType((1,)), "mse")})


def test_char_windows_with_sequence_targets():
    c = cfg(dataset="pydoc_topics", max_chars=5000, window={"size": 50, "stride": 50,
                                                            "target": "sequence"})
    p = prepare(c, {"x": TensorType((50,), "int64")},
                {"out": OutputTarget(TensorType((50, 90)), "cross_entropy")})
    x, y = p.parts["train"].inputs["x"], p.parts["train"].targets["out"]
    assert x.dtype == np.int64 and x.shape[1:] == (50,) and y.shape == x.shape
    np.testing.assert_array_equal(x[0, 1:], y[0, :-1])
    assert p.split_record["kind"] == "own" and p.parts["val"].n == 9


def test_rescale_and_normalize_apply_to_every_split():
    c = cfg(dataset="digits", rescale=1 / 16, normalize={"mean": 0.5, "std": 0.25},
            split={"val": 0.2, "seed": 0})
    p = prepare(c, {"x": TensorType((1, 8, 8), feature_axis=0)}, classes(10))
    from sklearn.datasets import load_digits

    images = load_digits().images
    for part in p.parts.values():
        want = (images[part.index] / 16 - 0.5) / 0.25
        np.testing.assert_allclose(part.inputs["x"][:, 0], want, rtol=1e-5, atol=1e-6)
