"""Built-in datasets and file sources load what they promise; bad files are clear errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from specc.data.base import RawData
from specc.errors import SpecError
from specc.registry import current


def load(name: str, **params) -> RawData:
    ds = current().datasets.get(name)
    return ds.load(ds.Params(**params))


@pytest.mark.parametrize("name,n,shape,classes", [
    ("digits", 1797, (8, 8), 10),
    ("iris", 150, (4,), 3),
    ("wine", 178, (13,), 3),
    ("breast_cancer", 569, (30,), 2),
])
def test_sklearn_classification_sets(name, n, shape, classes):
    raw = load(name)
    x, y = raw.arrays["x"], raw.arrays["y"]
    assert x.shape == (n, *shape) and x.dtype == np.float32
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(classes))
    assert len(raw.labels) == classes and raw.task == "classification"


def test_diabetes_is_regression():
    raw = load("diabetes")
    assert raw.task == "regression"
    assert raw.arrays["x"].shape == (442, 10) and raw.arrays["y"].shape == (442, 1)


def test_mnist5k_shuffled_with_balanced_held_out_tail():
    raw = load("mnist5k")
    x, y = raw.arrays["x"], raw.arrays["y"]
    assert x.shape == (5000, 28, 28) and x.max() == 255 and raw.value_max == 255
    assert np.bincount(y).tolist() == [500] * 10
    tail = y[raw.own_split["val"]]
    assert len(tail) == 1000 and np.bincount(tail, minlength=10).min() >= 70
    unshuffled = load("mnist5k", shuffle_seed=None)
    assert (unshuffled.arrays["y"][:500] == 0).all()  # the bundled file is sorted by class


def test_text_corpus_vocabulary_round_trips():
    raw = load("pydoc_topics")
    ids = raw.arrays["x"]
    assert raw.task == "series" and len(ids) > 400_000
    text = "".join(raw.vocab[i] for i in ids[:200])
    from pydoc_data.topics import topics

    first = topics[sorted(topics)[0]]
    assert text == first[:200]
    held = raw.own_split["val"]
    assert held[-1] == len(ids) - 1 and abs(len(held) / len(ids) - 0.1) < 1e-3


def test_air_passengers_embedded_matches_pmdarima():
    from specc.data.series import AIR_PASSENGERS

    raw = load("air_passengers")
    assert raw.arrays["x"].shape == (144, 1)
    assert raw.arrays["x"][:3, 0].tolist() == [112, 118, 132]
    assert np.array_equal(raw.arrays["x"][:, 0], np.asarray(AIR_PASSENGERS, np.float32))


def test_sunspots_and_stock():
    pytest.importorskip("statsmodels")  # the optional 'data' extra
    assert load("sunspots").arrays["x"].shape == (309, 1)
    pytest.importorskip("pmdarima")
    stock = load("stock")
    assert stock.arrays["x"].shape[0] == 7983
    with pytest.raises(SpecError, match="no column 'Price'"):
        load("stock", column="Price")


def test_mackey_glass_is_bounded_and_chaotic():
    x = load("mackey_glass", n=2000).arrays["x"]
    assert x.shape == (2000, 1)
    assert 0.2 < x.min() < 0.6 and 1.2 < x.max() < 1.45
    # tau=17 is chaotic: the series does not settle into a short period
    assert np.abs(x[1000:1500] - x[1500:2000]).mean() > 0.05


def test_sine_adding_copy():
    s = load("sine", n=100, period=20).arrays["x"][:, 0]
    assert abs(s[5] - 1.0) < 1e-6 and abs(s[0]) < 1e-6
    add = load("adding", n=50, length=10)
    x, y = add.arrays["x"], add.arrays["y"]
    assert x.shape == (50, 10, 2) and (x[..., 1].sum(axis=1) == 2).all()
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * x[..., 1]).sum(axis=1), rtol=1e-6)
    cp = load("copy", n=20, bits=4, max_length=5)
    x, y, mask = cp.arrays["x"], cp.arrays["y"], cp.arrays["mask"]
    assert x.shape == (20, 12, 6) and y.shape == (20, 12, 4)
    for i, length in enumerate(cp.arrays["length"]):
        np.testing.assert_array_equal(y[i, length + 2: 2 * length + 2], x[i, 1: length + 1, :4])
        assert mask[i].sum() == length


def test_csv_columns_and_string_labels(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("a,b,kind,c\n1,2,cat,3\n4,5,dog,6\n7,8,cat,9\n")
    raw = load("csv", path=str(f), label="kind", features=["a", "c"])
    assert raw.arrays["x"].tolist() == [[1, 3], [4, 6], [7, 9]]
    assert raw.arrays["y"].tolist() == [0, 1, 0] and raw.labels == ["cat", "dog"]
    reg = load("csv", path=str(f), label="c", features=["a"], task="regression")
    assert reg.task == "regression" and reg.arrays["y"][:, 0].tolist() == [3, 6, 9]
    with pytest.raises(SpecError, match="no column named 'knd'") as err:
        load("csv", path=str(f), label="knd")
    assert "kind" in err.value.issues[0].hint
    with pytest.raises(SpecError, match="not numeric"):
        load("csv", path=str(f), label="a")


def test_missing_files_are_clear_errors(tmp_path):
    for name, params in [("csv", {"path": "nope.csv"}), ("npy", {"path": "nope.npy"}),
                         ("text_file", {"path": "nope.txt"})]:
        with pytest.raises(SpecError, match="does not exist") as err:
            load(name, **params)
        assert err.value.issues[0].path[:2] == ("train", "data")
    with pytest.raises(SpecError, match="image folder 'nowhere' does not exist"):
        load("image_folder", path="nowhere")


def test_npy_and_npz(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    y = np.array([0, 1, 2, 0, 1, 2])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    raw = load("npy", path=str(tmp_path / "x.npy"), labels_path=str(tmp_path / "y.npy"))
    assert raw.task == "classification" and raw.arrays["y"].tolist() == y.tolist()
    np.savez(tmp_path / "d.npz", x=x, y=y, x_test=x[:2], y_test=y[:2])
    raw = load("npy", path=str(tmp_path / "d.npz"))
    assert raw.arrays["x"].shape == (8, 4) and raw.own_split["test"].tolist() == [6, 7]
    np.save(tmp_path / "short.npy", y[:3])
    with pytest.raises(SpecError, match="6 samples but labels have 3"):
        load("npy", path=str(tmp_path / "x.npy"), labels_path=str(tmp_path / "short.npy"))


def test_image_folder(tmp_path):
    from PIL import Image

    root = tmp_path / "imgs"
    for k, cls in enumerate(["cat", "dog"]):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((6, 5), 40 * k + i, np.uint8)).save(root / cls / f"{i}.png")
    raw = load("image_folder", path=str(root))
    assert raw.arrays["x"].shape == (6, 1, 6, 5) and raw.labels == ["cat", "dog"]
    assert raw.arrays["y"].tolist() == [0, 0, 0, 1, 1, 1]
    assert raw.arrays["x"][4, 0, 0, 0] == 41
    rgb = load("image_folder", path=str(root), size=[4, 4], color="rgb")
    assert rgb.arrays["x"].shape == (6, 3, 4, 4)
    empty = tmp_path / "empty"
    (empty / "no_images").mkdir(parents=True)
    with pytest.raises(SpecError, match="has no classes"):
        load("image_folder", path=str(empty))


def test_text_file(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("abracadabra" * 10)
    raw = load("text_file", path=str(f), held_out=0.2)
    assert raw.vocab == ["a", "b", "c", "d", "r"] and len(raw.own_split["val"]) == 22


def test_optional_libraries_missing(monkeypatch):
    for mod in ("pmdarima", "pmdarima.datasets", "statsmodels", "statsmodels.datasets"):
        monkeypatch.setitem(sys.modules, mod, None)  # import fails as if not installed
    raw = load("air_passengers")
    assert raw.meta["source"] == "embedded" and raw.arrays["x"].shape == (144, 1)
    with pytest.raises(SpecError, match="needs statsmodels") as err:
        load("sunspots")
    assert "specc[data]" in err.value.issues[0].hint
    with pytest.raises(SpecError, match="needs pmdarima"):
        load("stock")
