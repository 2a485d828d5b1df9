"""specc.fileio: bounded reads of regular files only, atomic writes that never replace a
device or a folder, path-safe names and containment."""

from __future__ import annotations

import os
import socket
import stat
import threading

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

from specc.cli import main
from specc.errors import SpecError
from specc.fileio import (
    atomic_output,
    atomic_write,
    check_regular,
    inside,
    max_file_bytes,
    read_bytes_bounded,
    read_safetensors,
    read_text_bounded,
    safe_name,
)


def message(exc_info) -> str:
    return str(exc_info.value)


# -- reading ------------------------------------------------------------------------------------


def test_reads_a_regular_file(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("héllo")
    assert read_text_bounded(f, "text") == "héllo"
    assert read_bytes_bounded(f, "text") == "héllo".encode()
    assert check_regular(f) == 6


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    # no writer: a plain open() would block forever
    done: list[str] = []

    def read() -> None:
        try:
            read_bytes_bounded(fifo, "spec file")
        except SpecError as exc:
            done.append(str(exc))

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(60)
    assert done and "spec file" in done[0] and "is a FIFO (named pipe), not a regular file" \
        in done[0]
    with pytest.raises(SpecError, match="is a FIFO"):
        check_regular(fifo, "data file")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused(device):
    with pytest.raises(SpecError) as err:
        read_bytes_bounded(device, "dataset file")
    assert f"dataset file '{device}' is a device, not a regular file" in message(err)


def test_directory_socket_and_missing_paths(tmp_path):
    with pytest.raises(SpecError, match="is a directory, not a regular file"):
        read_bytes_bounded(tmp_path, "model")
    with pytest.raises(SpecError, match="'.*nope.onnx' does not exist"):
        read_bytes_bounded(tmp_path / "nope.onnx", "model")
    with pytest.raises(SpecError, match="does not exist"):
        read_bytes_bounded(tmp_path / "a_file" / "below", "model") if \
            (tmp_path / "a_file").write_text("x") else None
    with pytest.raises(SpecError, match="NUL byte"):
        read_bytes_bounded(str(tmp_path / "a\x00b"), "model")
    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        with pytest.raises(SpecError, match="is a socket, not a regular file"):
            check_regular(sock_path, "input")


def test_size_is_checked_before_reading_and_env_raises_it(tmp_path, monkeypatch):
    f = tmp_path / "big.bin"
    f.write_bytes(b"x" * 1000)
    with pytest.raises(SpecError) as err:
        read_bytes_bounded(f, "data file", limit=999, env="SPECC_TEST_LIMIT")
    assert "is too large (1,000 bytes; limit 999)" in message(err)
    assert "set SPECC_TEST_LIMIT to raise the limit" in message(err)
    monkeypatch.setenv("SPECC_TEST_LIMIT", "1e3")
    assert len(read_bytes_bounded(f, "data file", limit=999, env="SPECC_TEST_LIMIT")) == 1000
    monkeypatch.setenv("SPECC_MAX_FILE_BYTES", "10")
    with pytest.raises(SpecError, match="limit 10"):
        check_regular(f)
    monkeypatch.setenv("SPECC_MAX_FILE_BYTES", "lots")
    with pytest.raises(SpecError, match="SPECC_MAX_FILE_BYTES must be a number of bytes"):
        max_file_bytes()


def test_binary_text_is_a_clear_error(tmp_path):
    f = tmp_path / "b.yaml"
    f.write_bytes(b"a: \xff\xfe")
    with pytest.raises(SpecError, match="is not UTF-8 text"):
        read_text_bounded(f, "spec file")


def test_spec_reader_refuses_fifo_and_devices(tmp_path):
    fifo = tmp_path / "s.yaml"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        res = CliRunner().invoke(main, ["validate", str(path)])
        assert res.exit_code == 2, res.output
        assert "not a regular file" in res.output and "does not exist" not in res.output


def test_a_torch_pickle_is_named_and_never_loaded(tmp_path):
    f = tmp_path / "w.safetensors"
    torch.save({"w": torch.zeros(3)}, f)
    with pytest.raises(SpecError) as err:
        read_safetensors(f, "weights file")
    text = message(err)
    assert "is a PyTorch pickle archive (torch.save), not safetensors" in text
    assert "specc never unpickles" in text and "header too large" not in text
    import pickle

    f.write_bytes(pickle.dumps({"w": 1}, protocol=4))
    with pytest.raises(SpecError, match="is a Python pickle, not safetensors"):
        read_safetensors(f)
    save_file({"w": torch.ones(2)}, f)
    assert read_safetensors(f)["w"].tolist() == [1.0, 1.0]
    f.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(SpecError, match="is not a readable safetensors file"):
        read_safetensors(f)


# -- writing ------------------------------------------------------------------------------------


def test_atomic_write_replaces_a_file_and_leaves_no_temp(tmp_path):
    f = tmp_path / "out.json"
    f.write_text("old")
    atomic_write(f, "new")
    assert f.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.json"]
    assert stat.S_IMODE(f.stat().st_mode) & 0o644 == 0o644  # not the 0600 of a temp file
    os.chmod(f, 0o600)
    atomic_write(f, "newer")
    assert stat.S_IMODE(f.stat().st_mode) == 0o600 and f.read_text() == "newer"


def test_atomic_write_never_replaces_a_device_or_folder(tmp_path):
    before = os.stat("/dev/full")
    with pytest.raises(SpecError) as err:
        atomic_write("/dev/full", b"x", "weights file")
    assert "'/dev/full' is a device, not a regular file; specc only replaces regular files" \
        in message(err)
    after = os.stat("/dev/full")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    (tmp_path / "d").mkdir()
    with pytest.raises(SpecError, match="is a directory, not a regular file"):
        atomic_write(tmp_path / "d", "x")
    link = tmp_path / "link"
    os.symlink("/dev/full", link)
    with pytest.raises(SpecError, match="is a device"):
        atomic_write(link, "x")
    assert link.is_symlink()


def test_atomic_write_missing_and_unwritable_folders(tmp_path):
    with pytest.raises(SpecError) as err:
        atomic_write(tmp_path / "missing" / "dir" / "x.json", "{}")
    assert "folder '" in message(err) and "missing/dir' does not exist" in message(err)
    assert "create the folder first" in message(err)
    atomic_write(tmp_path / "made" / "x.json", "{}", parents=True)
    assert (tmp_path / "made" / "x.json").read_text() == "{}"
    (tmp_path / "file").write_text("x")
    with pytest.raises(SpecError, match="is not a folder"):
        atomic_write(tmp_path / "file" / "x.json", "{}")
    for target in ("/proc/specc-x.json", "/proc/specc-dir/x.json"):
        with pytest.raises(SpecError, match="cannot (write|create)"):
            atomic_write(target, "{}", parents=True)


def test_atomic_output_keeps_the_old_file_when_the_writer_fails(tmp_path):
    f = tmp_path / "m.onnx"
    f.write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_output(f) as tmp:
            tmp.write_text("half")
            raise RuntimeError("exporter crashed")
    assert f.read_text() == "good" and os.listdir(tmp_path) == ["m.onnx"]


def test_cli_outputs_are_checked(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["schema", "-o", str(tmp_path / "no" / "x.json")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(main, ["schema", "-o", "/dev/full"])
    assert res.exit_code == 2 and "is a device" in res.output
    res = runner.invoke(main, ["schema", "-o", str(tmp_path / "s.json")])
    assert res.exit_code == 0 and (tmp_path / "s.json").read_text().startswith("{")


# -- names and containment ----------------------------------------------------------------------


@pytest.mark.parametrize("name,safe", [
    ("mlp", "mlp"), ("../../etc", "etc"), ("/abs/path", "abs_path"), ("..", "model"),
    ("", "model"), ("a b\tc\nd", "a_b_c_d"), ("x\x00y", "x_y"), ("é", "model"),
    (".hidden", "hidden"), ("v1.2", "v1.2"), ("n" * 300, "n" * 100), ("[/x]", "x"),
])
def test_safe_name(name, safe):
    got = safe_name(name)
    assert got == safe
    assert "/" not in got and ".." not in got and not got.startswith(".")


def test_inside_refuses_links_out(tmp_path):
    root = tmp_path / "run"
    root.mkdir()
    (root / "ok").write_text("x")
    assert inside(root, root / "ok") == root / "ok"
    os.symlink(tmp_path, root / "up")
    with pytest.raises(SpecError, match="points outside"):
        inside(root, root / "up" / "secret")
    with pytest.raises(SpecError, match="points outside"):
        inside(root, root / ".." / "secret")


def test_pretrained_pickle_and_fifo_are_clear_errors(tmp_path):
    import specc

    doc = {"specc": 1, "name": "p", "inputs": {"x": [4]},
           "layers": [{"dense": {"units": 2, "name": "h"}}]}
    pickled = tmp_path / "p.safetensors"
    torch.save({"h.weight": torch.zeros(2, 4)}, pickled)
    fifo = tmp_path / "f.safetensors"
    os.mkfifo(fifo)
    for path, text in ((pickled, "is a PyTorch pickle archive"), (fifo, "is a FIFO")):
        with pytest.raises(SpecError) as err:
            specc.build(specc.load({**doc, "pretrained": {"file": str(path)}}))
        assert text in message(err) and "pretrained.file" in message(err)


def test_run_save_is_written_atomically(tmp_path):
    import numpy as np

    spec = tmp_path / "s.yaml"
    spec.write_text("specc: 1\nname: s\ninputs: {x: [4]}\nlayers:\n  - dense: {units: 2}\n")
    runner = CliRunner()
    assert runner.invoke(main, ["export", str(spec), "-o", str(tmp_path / "m.onnx")]).exit_code \
        == 0
    np.save(tmp_path / "x.npy", np.ones((3, 4), np.float32))
    base = ["run", str(tmp_path / "m.onnx"), "-i", str(tmp_path / "x.npy"), "--save"]
    (tmp_path / "d.npy").mkdir()  # numpy naming: --save d writes d.npy
    res = runner.invoke(main, [*base, str(tmp_path / "d")])
    assert res.exit_code == 2 and "is a directory, not a regular file" in res.output
    res = runner.invoke(main, [*base, str(tmp_path / "no" / "y.npy")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(main, [*base, str(tmp_path / "y")])
    assert res.exit_code == 0, res.output
    assert np.load(tmp_path / "y.npy").shape == (3, 2)
