"""Hostile or careless data files: every one is a clear SpecError, found before memory is
spent (issue 10, part 5: input and dataset readers, label tables, images)."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from types import SimpleNamespace

import numpy as np
import pytest

from specc.backends.onnx.inputs import read_inputs
from specc.backends.onnx.runtime import InputSpec
from specc.data import files
from specc.data.base import RawData
from specc.errors import SpecError
from specc.registry import current


def load(name: str, **params) -> RawData:
    ds = current().datasets.get(name)
    return ds.load(ds.Params(**params))


class Info(dict):
    preprocess_in_graph = False


def session(shape=(None, 4), dtype=np.float32, name="x"):
    """A stand-in for an InferenceSession: what read_inputs looks at."""
    spec = InputSpec(name, shape, np.dtype(dtype))
    return SimpleNamespace(inputs=[spec], input_names=[name], info=Info())


def npy_header(shape, descr="<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                              "shape": shape})
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height grey pixels (a decompression bomb's
    header): the data that follows is a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def message(exc: pytest.ExceptionInfo) -> str:
    return str(exc.value)


# -- .npy / .npz ----------------------------------------------------------------------------


def test_empty_and_corrupt_npy(tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all" * 10)
    with pytest.raises(SpecError, match="empty") as err:
        load("npy", path=str(tmp_path / "empty.npy"))
    assert err.value.issues[0].path == ("train", "data", "path")
    with pytest.raises(SpecError, match="not a readable .npy"):
        load("npy", path=str(tmp_path / "junk.npy"))
    with pytest.raises(SpecError, match="empty"):
        read_inputs(tmp_path / "empty.npy", session())


def test_npy_header_claiming_1e15_elements_is_refused_before_loading(tmp_path):
    f = tmp_path / "huge.npy"
    f.write_bytes(npy_header((10**15,)) + b"\x00" * 64)
    with pytest.raises(SpecError, match=r"would take .* the limit is"):
        load("npy", path=str(f))
    with pytest.raises(SpecError, match="would take"):
        read_inputs(f, session())
    f.write_bytes(npy_header((1000, 4)) + b"\x00" * 64)  # a header larger than the data
    with pytest.raises(SpecError, match="truncated"):
        files.read_npy(f)
    for header in (b"{'descr':(\n", b"{'descr': '<f4', 'shape': 5}\n", b"[[[[\n"):
        f.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header)
        with pytest.raises(SpecError, match="not a readable .npy array"):
            files.read_npy(f)


def test_zip_bomb_npz_is_refused_from_the_zip_directory(tmp_path, monkeypatch):
    f = tmp_path / "bomb.npz"
    np.savez_compressed(f, x=np.zeros((1000, 1000)))  # 8 MB of zeros in ~8 KB
    assert f.stat().st_size < 100_000
    monkeypatch.setenv("SPECC_MAX_DATA_BYTES", str(2**20))
    with pytest.raises(SpecError, match=r"unpacks to 7.6 MiB; the limit is 1.0 MiB"):
        load("npy", path=str(f))
    with pytest.raises(SpecError, match="unpacks to"):
        read_inputs(f, session())
    # a member whose npy header claims more than the member holds
    lying = tmp_path / "lying.npz"
    with zipfile.ZipFile(lying, "w") as zf:
        zf.writestr("x.npy", npy_header((10**6, 10**6)) + b"\x00" * 16)
    monkeypatch.delenv("SPECC_MAX_DATA_BYTES")
    with pytest.raises(SpecError, match="array 'x' of shape"):
        load("npy", path=str(lying))


def test_corrupt_and_empty_npz(tmp_path):
    (tmp_path / "c.npz").write_bytes(b"PK\x03\x04garbage" * 20)
    with pytest.raises(SpecError, match="not a readable .npz") as err:
        load("npy", path=str(tmp_path / "c.npz"))
    assert err.value.issues[0].path == ("train", "data", "path")
    np.savez(tmp_path / "none.npz")
    with pytest.raises(SpecError, match="holds no arrays"):
        load("npy", path=str(tmp_path / "none.npz"))
    with pytest.raises(SpecError, match="holds no arrays"):
        read_inputs(tmp_path / "none.npz", session())


@pytest.mark.parametrize("array,words", [
    (np.array(["a", "b", "c"]), "holds strings"),
    (np.array([b"a", b"b"]), "holds bytes"),
    (np.array([1 + 2j, 3j]), "complex numbers"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), "holds dates"),
    (np.array(3.0), "0-d array"),
])
def test_non_numeric_and_0d_arrays(tmp_path, array, words):
    f = tmp_path / "a.npy"
    np.save(f, array)
    with pytest.raises(SpecError, match=words):
        load("npy", path=str(f))
    with pytest.raises(SpecError, match=words):
        read_inputs(f, session())


def test_object_arrays_are_never_unpickled(tmp_path):
    f = tmp_path / "obj.npy"
    np.save(f, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(SpecError, match="Python objects"):
        load("npy", path=str(f))


def test_complex_dataset_and_npz_members(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((4, 2), np.complex64), y=np.arange(4))
    with pytest.raises(SpecError, match="complex") as err:
        load("npy", path=str(tmp_path / "d.npz"))
    assert err.value.issues[0].path == ("train", "data", "path")
    np.savez(tmp_path / "e.npz", x=np.ones((4, 2)), y=np.array(["a", "b", "c", "d"]))
    with pytest.raises(SpecError, match="holds strings"):
        load("npy", path=str(tmp_path / "e.npz"))


def test_int_and_bool_inputs_cast_only_when_exact(tmp_path):
    x = np.array([[1, -2, 3, 4]], np.int8)
    np.save(tmp_path / "i8.npy", x)
    feeds, _ = read_inputs(tmp_path / "i8.npy", session())
    assert feeds["x"].dtype == np.float32 and feeds["x"].tolist() == [[1, -2, 3, 4]]
    np.save(tmp_path / "b.npy", np.array([[True, False, True, False]]))
    feeds, _ = read_inputs(tmp_path / "b.npy", session())
    assert feeds["x"].tolist() == [[1, 0, 1, 0]]
    np.save(tmp_path / "big.npy", np.array([[2**40, 0, 0, 0]], np.int64))
    with pytest.raises(SpecError, match="float32 cannot represent exactly"):
        read_inputs(tmp_path / "big.npy", session())
    np.save(tmp_path / "frac.npy", np.array([[0.5, 1, 2, 3]]))
    with pytest.raises(SpecError, match="integer ids"):
        read_inputs(tmp_path / "frac.npy", session(dtype=np.int64))
    with pytest.raises(SpecError, match="float32 cannot represent exactly"):
        files.as_float32(np.array([2**25 + 1]))
    with pytest.raises(SpecError, match="beyond the float32 range"):
        files.as_float32(np.array([1e300]))


def test_zero_sample_input_is_an_error(tmp_path):
    np.save(tmp_path / "none.npy", np.zeros((0, 4), np.float32))
    with pytest.raises(SpecError, match="holds no samples"):
        read_inputs(tmp_path / "none.npy", session())


# -- labels -----------------------------------------------------------------------------------


def test_huge_npy_label_does_not_build_a_huge_label_table(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2), np.float32))
    np.save(tmp_path / "y.npy", np.array([0, 1, 2**62]))
    raw = load("npy", path=str(tmp_path / "x.npy"), labels_path=str(tmp_path / "y.npy"))
    assert raw.labels == ["0", "1", str(2**62)] and raw.arrays["y"].tolist() == [0, 1, 2]
    np.save(tmp_path / "many.npy", np.arange(files.MAX_CLASSES + 1) * 7)
    np.save(tmp_path / "xm.npy", np.zeros((files.MAX_CLASSES + 1, 1), np.float32))
    with pytest.raises(SpecError, match="100,001 distinct classes") as err:
        load("npy", path=str(tmp_path / "xm.npy"), labels_path=str(tmp_path / "many.npy"))
    assert err.value.issues[0].path == ("train", "data", "labels_path")
    np.save(tmp_path / "yf.npy", np.array([0.0, 1.5, 2.0]))
    with pytest.raises(SpecError, match="not whole numbers"):
        load("npy", path=str(tmp_path / "x.npy"), labels_path=str(tmp_path / "yf.npy"),
             task="classification")


def test_csv_label_of_3e8_and_1e30(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,300000000\n7,8,1e30\n")
    raw = load("csv", path=str(f), label="label")
    assert raw.task == "classification"
    assert raw.labels == ["0", "1", "300000000", "1e+30"]
    assert raw.arrays["y"].tolist() == [0, 1, 2, 3]
    small = tmp_path / "s.csv"
    small.write_text("a,label\n1,0\n2,2\n")  # integer labels below the bound stay indices
    assert load("csv", path=str(small), label="label").labels == ["0", "1", "2"]
    big = tmp_path / "big.csv"
    big.write_text("a,label\n1,0.5\n2,1e39\n")
    with pytest.raises(SpecError, match="too large for float32"):
        load("csv", path=str(big), label="label", task="regression")
    big.write_text("a,label\n1,0.5\n2,inf\n")
    with pytest.raises(SpecError, match="finite numbers") as err:
        load("csv", path=str(big), label="label", task="regression")
    assert err.value.issues[0].line == 3


def test_binary_csv_and_huge_field(tmp_path):
    f = tmp_path / "bin.csv"
    f.write_bytes(b"a,b\n\x00\xff\xfe\x00" * 50)
    with pytest.raises(SpecError, match="binary file") as err:
        load("csv", path=str(f))
    assert err.value.issues[0].path == ("train", "data", "path")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"a,b\n1,\xe9\n")
    with pytest.raises(SpecError, match="not UTF-8"):
        load("csv", path=str(latin))
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b\n1," + "9" * 200_000 + "\n")
    with pytest.raises(SpecError, match="longer than 131,072 characters") as err:
        load("csv", path=str(wide))
    assert err.value.issues[0].line == 2
    with pytest.raises(SpecError, match="beyond the float32 range"):
        read_inputs(wide, session(shape=(None, 2)))


def test_csv_feature_beyond_float32(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("a,label\n1e39,0\n1,1\n")
    with pytest.raises(SpecError, match="column 'a' holds a missing, infinite or too large"
                       ) as err:
        load("csv", path=str(f), label="label")
    assert err.value.issues[0].line == 2
    f.write_text("a,label\n1,0\nnan,1\n")
    with pytest.raises(SpecError, match="missing, infinite") as err:
        load("csv", path=str(f), label="label")
    assert err.value.issues[0].line == 3
    f.write_text("a,b\n1e39,0\n")
    with pytest.raises(SpecError, match="beyond the float32 range"):
        read_inputs(f, session(shape=(None, 2)))


# -- file types -------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_devices_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)
    for name, params in [("npy", {"path": str(fifo)}), ("csv", {"path": str(fifo)}),
                         ("text_file", {"path": str(fifo)})]:
        with pytest.raises(SpecError, match="FIFO") as err:
            load(name, **params)
        assert err.value.issues[0].path[:2] == ("train", "data")
    with pytest.raises(SpecError, match="FIFO"):
        read_inputs(fifo, session())
    with pytest.raises(SpecError, match="device"):
        read_inputs("/dev/zero", session())


# -- images -----------------------------------------------------------------------------------


def test_png_decompression_bomb_is_refused_from_its_header(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(100_000, 100_000))  # 10^10 pixels declared
    with pytest.raises(SpecError, match=r"too large \(10,000,000,000 pixels; the limit is "
                       r"67,108,864\)"):
        files.open_image(bomb)
    with pytest.raises(SpecError, match="too large"):
        read_inputs(bomb, session(shape=(None, 1, 8, 8)))
    folder = tmp_path / "imgs" / "cat"
    folder.mkdir(parents=True)
    (folder / "1.png").write_bytes(bomb.read_bytes())
    for color in ("auto", "grey"):
        with pytest.raises(SpecError, match="too large") as err:
            load("image_folder", path=str(tmp_path / "imgs"), color=color)
        assert err.value.issues[0].path == ("train", "data", "path")


def test_image_pixel_limit_follows_the_environment(tmp_path, monkeypatch):
    from PIL import Image

    Image.new("L", (40, 40)).save(tmp_path / "a.png")
    assert files.open_image(tmp_path / "a.png").size == (40, 40)
    monkeypatch.setenv("SPECC_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(SpecError, match="1,600 pixels; the limit is 1,000"):
        files.open_image(tmp_path / "a.png")


@pytest.mark.parametrize("size", [100_000, 0, -3, [8, 0], [5000, 8]])
def test_image_folder_size_is_bounded_at_validation(size):
    from specc.spec.training import validate_train

    with pytest.raises(SpecError, match="between 1 and 4096") as err:
        validate_train({"data": {"dataset": "image_folder", "path": "x", "size": size},
                        "loss": "cross_entropy"})
    assert err.value.issues[0].path[:3] == ("data", "size") or \
        err.value.issues[0].path[:2] == ("data", "size")


def test_image_folder_total_size_is_bounded(tmp_path, monkeypatch):
    from PIL import Image

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.new("RGB", (16, 16)).save(tmp_path / c / f"{i}.png")
    raw = load("image_folder", path=str(tmp_path))
    assert raw.arrays["x"].shape == (6, 3, 16, 16) and raw.labels == ["a", "b"]
    monkeypatch.setenv("SPECC_MAX_DATA_BYTES", str(4 * 3 * 16 * 16 * 4))
    with pytest.raises(SpecError, match="take more than"):
        load("image_folder", path=str(tmp_path))
