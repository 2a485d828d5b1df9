"""Run folders are safe: path-safe names, no data loss (--out, --overwrite, a lock), read-only
readers that follow no link out of the run, and a tampered run folder as clear errors."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from specc.cli import main
from specc.errors import SpecError
from specc.runs.folder import LOCK, RunLock, default_run_dir, load_run, read_metrics
from specc.train.api import train

TINY = """
specc: 1
name: {name}
inputs: {{x: [4]}}
layers:
  - dense: {{units: 3, activation: softmax}}
train:
  data: {{dataset: iris, split: {{val: 0.3, seed: 0}}, scale: standard}}
  loss: cross_entropy
  optimizer: {{adam: {{lr: 0.05}}}}
  epochs: 1
  batch_size: full
"""


def tiny(name: str = "tiny") -> str:
    return TINY.format(name=json.dumps(name))


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """One trained run, copied by tests that tamper with it."""
    root = tmp_path_factory.mktemp("base")
    spec = root / "tiny.yaml"
    spec.write_text(tiny())
    return train(str(spec), out=root / "run", quiet=True).dir


@pytest.fixture
def run_copy(base_run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(base_run, dst)
    return dst


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def tree(path) -> dict[str, float]:
    return {str(p.relative_to(path)): p.stat().st_mtime_ns for p in sorted(path.rglob("*"))}


# -- the spec name is never a path --------------------------------------------------------------


@pytest.mark.parametrize("name,folder", [
    ("../..", "model"), ("/etc/evil", "etc_evil"), ("a/../../b", "a_b"), ("a\nb", "a_b"), ("a\x00b", "a_b"),
    ("x" * 5000, "x" * 100), ("..", "model"), ("ok-name_1.2", "ok-name_1.2"),
])
def test_spec_name_gives_a_safe_run_folder(spec_file, tmp_path, monkeypatch, name, folder):
    monkeypatch.chdir(tmp_path)
    path = default_run_dir(name)  # safe whatever validation lets through
    assert path.parts[:2] == ("runs", folder) and len(path.parts) == 3
    res = cli("train", str(spec_file(tiny(name))), "--quiet")
    assert res.exit_code in (0, 2), res.output  # refused by validation, or trained safely
    assert sorted(os.listdir(tmp_path)) == (["runs", "spec.yaml"] if res.exit_code == 0
                                            else ["spec.yaml"])
    if res.exit_code == 0:
        assert os.listdir(tmp_path / "runs") == [folder]


def test_spec_name_gives_a_safe_onnx_file_name(monkeypatch, tmp_path):
    import importlib

    export_mod = importlib.import_module("specc.backends.onnx.export")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    doc = json.loads(json.dumps(__import__("yaml").safe_load(tiny("tiny"))))
    real = export_mod.load_source

    def named(*a, **kw):  # a name that validation would refuse, as from a plugin or an old run
        loaded = real(*a, **kw)
        loaded.spec.name = "../../escaped"
        return loaded

    monkeypatch.setattr(export_mod, "load_source", named)
    result = export_mod.export(doc)
    assert result.path == __import__("pathlib").Path("escaped.onnx")
    assert (tmp_path / "sub" / "escaped.onnx").is_file()
    assert not list(tmp_path.parent.glob("escaped*"))


# -- no data loss -------------------------------------------------------------------------------


def test_out_refuses_a_folder_that_is_not_a_run(spec_file, tmp_path):
    mine = tmp_path / "mine"
    (mine / "checkpoints").mkdir(parents=True)
    (mine / "checkpoints" / "thesis.tex").write_text("years of work")
    (mine / "metrics.csv").write_text("my,own\n1,2\n")
    (mine / "summary.txt").write_text("keep me")
    before = tree(mine)
    for extra in ([], ["--overwrite"]):
        res = cli("train", str(spec_file(tiny())), "--out", str(mine), *extra)
        assert res.exit_code == 2, res.output
        assert "is a non-empty folder that is not a specc run" in res.output
        assert "--overwrite only replaces an earlier specc run" in res.output
    assert tree(mine) == before and (mine / "summary.txt").read_text() == "keep me"


def test_out_on_a_run_needs_overwrite(spec_file, run_copy, tmp_path):
    res = cli("train", str(spec_file(tiny())), "--out", str(run_copy))
    assert res.exit_code == 2 and "already holds a specc run" in res.output
    assert "--resume" in res.output and "--overwrite" in res.output
    (run_copy / "checkpoints" / "stray.txt").write_text("x")
    res = cli("train", str(spec_file(tiny("again"))), "--out", str(run_copy), "--overwrite",
              "--quiet")
    assert res.exit_code == 0, res.output
    assert "name: again" in (run_copy / "spec.resolved.yaml").read_text()
    assert not (run_copy / "checkpoints" / "stray.txt").exists()
    assert not (run_copy / LOCK).exists()
    # an empty folder is fine without --overwrite
    (tmp_path / "empty").mkdir()
    assert cli("train", str(spec_file(tiny())), "--out", str(tmp_path / "empty"),
               "--quiet").exit_code == 0


def test_a_second_training_into_a_locked_folder_is_refused(spec_file, tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        out.mkdir()
        (out / LOCK).write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(),
                                            "started": "2026-01-01 00:00:00"}))
        res = cli("train", str(spec_file(tiny())), "--out", str(out))
        assert res.exit_code == 2, res.output
        assert f"in use by another training (pid {holder.pid} on {socket.gethostname()}" \
            in res.output
        assert not (out / "spec.resolved.yaml").exists()
        (out / "spec.resolved.yaml").write_text("name: running\n")  # it has started writing
        for extra in ([], ["--overwrite"]):
            res = cli("train", str(spec_file(tiny())), "--out", str(out), *extra)
            assert res.exit_code == 2, res.output
            assert f"in use by another training (pid {holder.pid}" in res.output, extra
        (out / "spec.resolved.yaml").unlink()
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock is stale and taken over
    res = cli("train", str(spec_file(tiny())), "--out", str(out), "--quiet")
    assert res.exit_code == 0, res.output
    assert not (out / LOCK).exists()


def test_resume_into_a_locked_run_is_refused(run_copy):
    (run_copy / LOCK).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                             "started": "now"}))
    before = tree(run_copy)
    res = cli("train", str(run_copy), "--resume", "--epochs", "2", "--quiet")
    assert res.exit_code == 2 and f"in use by another training (pid {os.getpid()}" in res.output
    assert tree(run_copy) == before


def test_a_run_that_trained_nothing_is_replaced_without_overwrite(spec_file, tmp_path):
    bad = spec_file(tiny().replace("dataset: iris", "dataset: csv, path: missing.csv"), "b.yaml")
    res = cli("train", str(bad), "--out", str(tmp_path / "new"))
    assert res.exit_code == 2 and "does not exist" in res.output
    res = cli("train", str(spec_file(tiny())), "--out", str(tmp_path / "new"), "--quiet")
    assert res.exit_code == 0, res.output
    res = cli("train", str(spec_file(tiny())), "--out", str(tmp_path / "new"), "--quiet")
    assert res.exit_code == 2 and "already holds a specc run" in res.output


def test_lock_is_exclusive_within_a_process(tmp_path):
    with RunLock(tmp_path / "r"):
        with pytest.raises(SpecError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path / "r").acquire()
    RunLock(tmp_path / "r").acquire().release()


# -- readers write nothing and follow no link out ------------------------------------------------


def test_readers_do_not_roll_a_staged_checkpoint_forward(run_copy, tmp_path):
    ck = run_copy / "checkpoints"
    staging = ck / ".staging-best"
    staging.mkdir()
    for f in ("best.safetensors", "best.json"):
        shutil.copy(ck / f, staging / f)
    doc = json.loads((staging / "best.json").read_text())
    doc["state"]["__dict__"]["epoch"] = 7
    (staging / "best.json").write_text(json.dumps(doc))
    (staging / "COMPLETE").write_text("7:7")
    before = tree(run_copy)
    _, _, info = load_run(run_copy)
    assert info["epoch"] == 7  # the complete staged set is read in place
    x = tmp_path / "x.csv"
    x.write_text("5.1,3.5,1.4,0.2\n")
    for args in (["evaluate", str(run_copy)], ["predict", str(run_copy), "--input", str(x)]):
        res = cli(*args)
        assert res.exit_code == 0, res.output
    assert tree(run_copy) == before


def test_export_does_not_write_through_a_link_out_of_the_run(run_copy, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.symlink(victim, run_copy / "model.onnx")
    res = cli("export", str(run_copy))
    assert res.exit_code == 2 and "points outside" in res.output
    assert victim.read_text() == "precious"


def test_training_never_writes_through_links_out_of_the_run(spec_file, run_copy, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(run_copy / "checkpoints")
    os.symlink(outside, run_copy / "checkpoints")
    os.remove(run_copy / "summary.txt")
    os.symlink(outside / "s.txt", run_copy / "summary.txt")
    res = cli("train", str(spec_file(tiny())), "--out", str(run_copy), "--overwrite", "--quiet")
    assert res.exit_code == 0, res.output
    assert os.listdir(outside) == []
    assert (run_copy / "checkpoints").is_dir() and not (run_copy / "checkpoints").is_symlink()
    os.remove(run_copy / "metrics.csv")
    os.symlink(outside / "m.csv", run_copy / "metrics.csv")
    res = cli("train", str(run_copy), "--resume", "--epochs", "2", "--quiet")
    assert res.exit_code == 2 and "points outside" in res.output
    assert os.listdir(outside) == []


def test_checkpoint_link_out_of_the_run_is_refused(run_copy, tmp_path):
    ck = run_copy / "checkpoints"
    outside = tmp_path / "elsewhere.safetensors"
    shutil.move(ck / "best.safetensors", outside)
    os.symlink(outside, ck / "best.safetensors")
    res = cli("evaluate", str(run_copy))
    assert res.exit_code == 2, res.output
    assert "points outside" in res.output and "does not follow links" in res.output


# -- a tampered run folder ------------------------------------------------------------------------


def _edit_json(path, change):
    doc = json.loads(path.read_text())
    path.write_text(json.dumps(change(doc)))


@pytest.mark.parametrize("tamper,message", [
    (lambda r: _edit_json(r / "checkpoints/best.json", lambda d: {"checkpoint": "1:1"}),
     "must be an object with a 'state' object"),
    (lambda r: _edit_json(r / "checkpoints/best.json", lambda d: {
        "state": {"__dict__": {"epoch": 1, "w": {"__tensor__": "s.nowhere"}}}}),
     "names tensor 's.nowhere' that is not in best.state.safetensors"),
    (lambda r: (r / "checkpoints/best.json").write_text("[" * 5000 + "]" * 5000),
     "best.json"),
    (lambda r: _edit_json(r / "checkpoints/best.json", lambda d: {
        "state": {"__dict__": {"epoch": "x"}}}), "'epoch' must be a non-negative integer"),
    (lambda r: (r / "spec.resolved.yaml").write_text("!!python/object:os.system {}\n"),
     "spec.resolved.yaml:1"),
    (lambda r: (r / "spec.resolved.yaml").write_text("- a\n- b\n"),
     "spec.resolved.yaml must hold a mapping"),
    (lambda r: (r / "spec.resolved.yaml").write_text(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True))),
     "spec.resolved.yaml"),
    (lambda r: (r / "spec.resolved.yaml").write_text(
        (r / "spec.resolved.yaml").read_text().replace("units: 3", "units: banana")),
     "spec.resolved.yaml:"),
    (lambda r: (r / "data.json").write_text("[1, 2]"), "data.json must hold a JSON object"),
    (lambda r: (r / "data.json").write_text('{"preprocess": {"x": {"shape": "big"}}}'),
     "each preprocess record needs 'shape'"),
    (lambda r: (r / "data.json").write_text("{not json"), "data.json:1:2: invalid JSON"),
    (lambda r: save_file({k: torch.zeros(7, 7) for k in load_file(
        r / "checkpoints/best.safetensors")}, r / "checkpoints/best.safetensors"),
     "fit the network: size mismatch for"),
    (lambda r: save_file({k: v.to(torch.complex64) if v.is_floating_point() else v
                          for k, v in load_file(r / "checkpoints/best.safetensors").items()},
                         r / "checkpoints/best.safetensors"),
     "is torch.complex64 in the file but torch.float32 in the network"),
    (lambda r: torch.save({"w": torch.zeros(2)}, r / "checkpoints/best.safetensors"),
     "is a PyTorch pickle archive (torch.save), not safetensors; specc never unpickles"),
    (lambda r: (os.remove(r / "checkpoints/best.json"), os.mkfifo(r / "checkpoints/best.json")),
     "is a FIFO (named pipe), not a regular file"),
])
def test_tampered_run_is_a_clear_error(run_copy, tmp_path, tamper, message):
    tamper(run_copy)
    x = tmp_path / "x.csv"
    x.write_text("5.1,3.5,1.4,0.2\n")
    for args in (["evaluate", str(run_copy)], ["predict", str(run_copy), "--input", str(x)],
                 ["export", str(run_copy), "-o", str(tmp_path / "m.onnx")]):
        res = cli(*args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output, (args, res.output)
        assert "<dict>" not in res.output


@pytest.mark.parametrize("text,message", [
    ("epoch,loss\nabc,1\n", "metrics.csv:2: 'epoch' must be a non-negative integer"),
    ("loss\n1\n", "needs a header with an 'epoch' column"),
    ("epoch,loss\n1,2,3\n", "metrics.csv:2: row does not have as many fields"),
    ("epoch,loss\n1,\"" + "x" * 200_000 + "\"\n", "malformed CSV"),
])
def test_tampered_metrics_on_resume_and_plot(run_copy, tmp_path, text, message):
    (run_copy / "metrics.csv").write_text(text)
    for args in (["train", str(run_copy), "--resume", "--epochs", "2", "--quiet"],
                 ["plot", str(run_copy), "-o", str(tmp_path / "c.png")]):
        res = cli(*args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output, (args, res.output)


def test_predict_with_a_damaged_preprocessing_record(run_copy, tmp_path):
    _edit_json(run_copy / "data.json", lambda d: {**d, "preprocess": {"x": {
        "shape": [4], "dtype": "float32", "standard": "zz"}}})
    (tmp_path / "x.csv").write_text("5.1,3.5,1.4,0.2\n")
    res = cli("predict", str(run_copy), "--input", str(tmp_path / "x.csv"))
    assert res.exit_code == 2, res.output
    assert "data.json" in res.output and "preprocessing recorded for input 'x' is malformed" \
        in res.output


def test_resume_with_damaged_state_is_a_clear_error(run_copy):
    _edit_json(run_copy / "checkpoints/last.json",
               lambda d: {**d, "state": {"__dict__": {"epoch": 1, "step": 1}}})
    res = cli("train", str(run_copy), "--resume", "--epochs", "2", "--quiet")
    assert res.exit_code == 2, res.output
    assert "cannot be resumed from: its state is incomplete or damaged" in res.output


def test_plot_skips_hand_edited_cells_and_checks_the_extension(run_copy, tmp_path):
    (run_copy / "metrics.csv").write_text("epoch,loss,val_loss,note\n1,0.5,n/a,x\n2,inf,0.3,y\n")
    res = cli("plot", str(run_copy), "-o", str(tmp_path / "c.png"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert read_metrics(run_copy)[1]["loss"] == float("inf")
    res = cli("plot", str(run_copy), "-o", str(tmp_path / "p.exe"))
    assert res.exit_code == 2 and "cannot write an image of type '.exe'" in res.output
    assert ".png" in res.output and not (tmp_path / "p.exe").exists()
    res = cli("plot", str(run_copy), "-o", str(tmp_path / "c.svg"))
    assert res.exit_code == 0 and (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")
    (run_copy / "metrics.csv").write_text("epoch,note\n1,x\n")
    res = cli("plot", str(run_copy), "-o", str(tmp_path / "c.png"))
    assert res.exit_code == 2 and "no numeric column to plot" in res.output
    (run_copy / "metrics.csv").write_text("epoch," + ",".join(f"m{i}" for i in range(99))
                                          + "\n1" + ",1" * 99 + "\n")
    res = cli("plot", str(run_copy), "-o", str(tmp_path / "c.png"))
    assert res.exit_code == 2 and "99 numeric columns to plot (at most 48)" in res.output


# -- unwritable outputs -----------------------------------------------------------------------


def test_unwritable_outputs_are_clear_errors(spec_file, tmp_path):
    spec = str(spec_file(tiny()))
    res = cli("schema", "-o", str(tmp_path / "missing" / "dir" / "x.json"))
    assert res.exit_code == 2 and "folder" in res.output and "does not exist" in res.output
    res = cli("build", spec, "--out", "/dev/full")
    assert res.exit_code == 2, res.output
    assert "'/dev/full' is a device, not a regular file" in res.output
    assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")
    res = cli("train", spec, "--out", "/proc/specc-run", "--quiet")
    assert res.exit_code == 2, res.output
    assert "cannot create the run folder '/proc/specc-run'" in res.output
