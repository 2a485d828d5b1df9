"""``specc export`` and ``specc run``: output, files written, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from onnx_cases import LABELS3

from specc.cli import main


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def cli_export(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ff.onnx"
    result = invoke("export", "specs/feed_forward.yaml", "-o", out, "--set", "params.hidden=8")
    return result, out


def test_export_prints_parity_and_writes_files(cli_export):
    result, out = cli_export
    assert result.exit_code == 0, result.output
    assert "exported" in result.output and "parity ok" in result.output
    for col in ("batch", "max |diff|", "result"):
        assert col in result.output
    assert out.exists()
    report = json.loads(out.with_name("parity.json").read_text())
    assert report["passed"] and [c["batch"] for c in report["cases"]] == [1, 7, 64]


def test_run_prints_labels(cli_export, tmp_path):
    _, model = cli_export
    x = np.random.default_rng(0).uniform(0, 16, (3, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = invoke("run", model, "--input", tmp_path / "x.npy", "--provider", "cpu")
    assert result.exit_code == 0, result.output
    assert "provider: CPUExecutionProvider" in result.output
    rows = [line for line in result.output.splitlines() if "(p=" in line]
    assert len(rows) == 3 and rows[0].startswith("0: ")
    assert rows[0].split()[1] in [str(i) for i in range(10)]


def test_run_reads_csv_one_sample_and_saves(exported, tmp_path):
    model = exported("mlp")[0].path
    np.savetxt(tmp_path / "rows.csv", np.ones((2, 12)), delimiter=",", header="a," * 11 + "a")
    saved = tmp_path / "out.npy"
    result = invoke("run", model, "-i", tmp_path / "rows.csv", "--save", saved)
    assert result.exit_code == 0, result.output
    assert sum(line.split(":")[1].split()[0] in LABELS3
               for line in result.output.splitlines() if "(p=" in line) == 2
    assert np.load(saved).shape == (2, 3)
    np.save(tmp_path / "one.npy", np.ones(12, np.float32))  # a single sample, no batch axis
    result = invoke("run", model, "-i", tmp_path / "one.npy")
    assert result.exit_code == 0 and "0: " in result.output


def test_run_reads_an_image(exported, tmp_path):
    from PIL import Image

    Image.fromarray(np.full((30, 20), 200, np.uint8)).save(tmp_path / "img.png")
    result = invoke("run", exported("cnn")[0].path, "-i", tmp_path / "img.png")
    assert result.exit_code == 0, result.output
    assert "resized the image from 20x30 to 12x12" in result.output
    assert "scaled pixels to [0, 1]" in result.output


def test_run_prints_values_for_regressors(exported, tmp_path):
    np.save(tmp_path / "seq.npy", np.zeros((2, 4, 6), np.float32))
    result = invoke("run", exported("gru")[0].path, "-i", tmp_path / "seq.npy")
    assert result.exit_code == 0 and "shape (2, 4, 2) float32" in result.output


@pytest.mark.parametrize("case", ["missing", "corrupt", "shape", "dtype", "provider",
                                  "input-missing", "suffix"])
def test_bad_input_exits_2(case, exported, tmp_path):
    model = exported("mlp")[0].path
    data = tmp_path / "x.npy"
    np.save(data, np.zeros((2, 12), np.float32))
    args = {"missing": ("run", tmp_path / "none.onnx", "-i", data),
            "corrupt": ("run", _corrupt(tmp_path), "-i", data),
            "shape": ("run", model, "-i", _save(tmp_path, np.zeros((2, 5), np.float32))),
            "dtype": ("run", model, "-i", _save(tmp_path, np.zeros((2, 12), np.complex64))),
            "provider": ("run", model, "-i", data, "--provider", "tpu"),
            "input-missing": ("run", model, "-i", tmp_path / "none.npy"),
            "suffix": ("run", model, "-i", _text(tmp_path, "x.xyz"))}[case]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "ONNXRuntimeError" not in result.output
    expected = {"missing": "does not exist", "corrupt": "not a loadable ONNX model",
                "shape": "does not fit input 'x'", "dtype": "must be float32",
                "provider": "unknown provider", "input-missing": "input file does not exist",
                "suffix": "unsupported input file type"}[case]
    assert expected in result.output


def test_cuda_provider_without_cuda_exits_2(exported, tmp_path):
    from specc.backends.onnx import InferenceSession
    from specc.errors import SpecError

    model = exported("mlp")[0].path
    try:
        if InferenceSession(model, "cuda").provider == "cuda":
            pytest.skip("CUDA works here")
    except SpecError:
        pass
    np.save(tmp_path / "x.npy", np.zeros((1, 12), np.float32))
    result = invoke("run", model, "-i", tmp_path / "x.npy", "--provider", "cuda")
    assert result.exit_code == 2 and "provider 'cuda' was requested" in result.output


@pytest.mark.parametrize("args,message", [
    (("--opset", "3"), "opset must be between"),
    (("-o", "model.txt"), "must end in .onnx"),
    (("--weights", "missing.safetensors"), "does not exist"),
])
def test_export_option_errors_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "s.yaml"
    spec.write_text("specc: 1\ninputs: {x: [3]}\nlayers:\n  - dense: {units: 2}\n")
    result = invoke("export", spec, *args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_failed_parity_exits_non_zero_and_removes_the_file(tmp_path, monkeypatch):
    from specc.backends.onnx import parity

    monkeypatch.setattr(parity, "_compare", _always_off(parity._compare))
    spec = tmp_path / "s.yaml"
    spec.write_text("specc: 1\ninputs: {x: [3]}\nlayers:\n  - dense: {units: 2}\n")
    out = tmp_path / "m.onnx"
    result = invoke("export", spec, "-o", out, "--exporter", "torchscript")
    assert result.exit_code == 2 and "disagree" in result.output and "FAIL" in result.output
    assert not out.exists() and "--keep-failed" in result.output
    assert json.loads(out.with_name("parity.json").read_text())["passed"] is False
    result = invoke("export", spec, "-o", out, "--exporter", "torchscript", "--keep-failed")
    assert result.exit_code == 2 and out.exists()


def _always_off(compare):
    def off(name, batch, seq, ref, got, tolerance, rows, note):
        return compare(name, batch, seq, ref, got + 1.0, tolerance, rows, note)

    return off


def _save(tmp_path, arr):
    path = tmp_path / f"arr{arr.shape[-1]}{arr.dtype}.npy"
    np.save(path, arr)
    return path


def _corrupt(tmp_path):
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(b"\x08\x07garbage")
    return path


def _text(tmp_path, name):
    path = tmp_path / name
    path.write_text("1,2,3\n")
    return path
