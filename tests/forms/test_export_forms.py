"""Every form exports to ONNX and passes the parity check; decoded tokens are identical."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from click.testing import CliRunner

import specc
from specc.cli import main

TOY = Path(__file__).with_name("toy_decoder.yaml")
ESN = """\
specc: 1
name: tiny_esn
inputs: {x: [null, 1]}
nodes:
  res: {op: reservoir, in: x, units: 30, density: 0.3, spectral_radius: 0.9, bias_scaling: 0.2}
  out: {op: dense, in: res, units: 1}
outputs: [out]
forms:
  gen: {free_run: {horizon: 12, warmup: 20}}
  step: {step: {}}
"""


@pytest.mark.parametrize(("form", "inputs", "outputs"), [
    ("step", ["image", "words", "rnn.h", "rnn.c"], ["probs", "rnn.h.next", "rnn.c.next"]),
    ("decode", ["image"], ["tokens"]),
    ("encoder", ["image"], ["code"]),
    ("decoder", ["code", "words"], ["probs"]),
])
def test_declared_forms_export_with_parity(tmp_path: Path, form: str, inputs: list[str],
                                           outputs: list[str]) -> None:
    result = specc.export(str(TOY), tmp_path / f"{form}.onnx", form=form)
    assert result.parity.ok and result.parity_path.name == f"{form}.parity.json"
    model = onnx.load(str(result.path))
    assert [i.name for i in model.graph.input] == inputs
    assert [o.name for o in model.graph.output] == outputs
    props = {p.key: p.value for p in model.metadata_props}
    assert props["specc.form"] == form
    if form == "decode":  # tokens compared exactly at batch 1, 7 and 64
        cases = json.loads(result.parity_path.read_text())["cases"]
        assert [(c["batch"], c["max_abs_diff"]) for c in cases] == [(1, 0), (7, 0), (64, 0)]
        assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_decode_follows_the_end_token() -> None:
    import torch

    from specc.backends.torch import build_module
    from specc.forms import greedy_decode

    spec = specc.load(str(TOY))
    net = build_module(spec.graph, seed=3)
    cfg = spec.forms["decode"].cfg
    image = torch.randn(64, 6, generator=torch.Generator().manual_seed(0))
    tokens = greedy_decode(net, spec.graph, cfg, {"image": image})
    assert tokens.shape == (64, cfg.max_length) and tokens.dtype == torch.int64
    # the same tokens as re-running the network on its own greedy prefix
    prefix = torch.full((64, 1), cfg.start)
    with torch.inference_mode():
        for _ in range(cfg.max_length):
            nxt = net(image, prefix)[:, -1].argmax(-1)
            prefix = torch.cat([prefix, nxt[:, None]], 1)
    raw = prefix[:, 1:]
    ended = torch.cumsum(raw == cfg.end, 1) > 0
    expect = torch.where(torch.roll(ended, 1, 1) & (torch.arange(cfg.max_length) > 0), cfg.end,
                         raw)
    assert torch.equal(tokens, expect)


def test_free_run_exports_and_equals_feeding_back(tmp_path: Path, spec_file) -> None:
    import torch

    from specc.backends.torch import build_module
    from specc.forms import build_form

    path = spec_file(ESN)
    result = specc.export(str(path), tmp_path / "gen.onnx", form="gen")
    assert result.parity.ok
    spec = specc.load(path)
    net = build_module(spec.graph, seed=0).eval()
    fm = build_form(net, spec.graph, spec.forms["gen"])
    x = torch.randn(3, 20, 1, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        got = fm.module(x)
        seq = x
        for _ in range(12):  # the slow way: the whole series again for each prediction
            seq = torch.cat([seq, net(seq)[:, -1:]], 1)
    assert got.shape == (3, 12, 1)
    torch.testing.assert_close(got, seq[:, 20:], atol=1e-5, rtol=1e-5)
    # and the same as the free_run_nrmse metric's closed loop (carried reservoir state)
    from specc.train.series_metrics import free_run

    torch.testing.assert_close(got, free_run(net, x, 12), atol=1e-5, rtol=1e-5)


def test_cli_form_and_cut(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["export", str(TOY), "-o", str(tmp_path / "e.onnx"),
                               "--outputs", "code"])
    assert res.exit_code == 0, res.output
    assert "parity ok" in res.output and (tmp_path / "e.parity.json").exists()
    res = runner.invoke(main, ["export", str(TOY), "--form", "decod"])
    assert res.exit_code == 2
    assert "--form: spec 'toy_decoder' declares no form 'decod'" in res.output
    assert "did you mean 'decode' or 'decoder'" in res.output
    res = runner.invoke(main, ["export", str(TOY), "--inputs", "cod,words"])
    assert res.exit_code == 2
    assert "--inputs: no node or input 'cod' in network 'toy_decoder'" in res.output


def test_a_spec_without_forms_says_how_to_declare_one() -> None:
    res = CliRunner().invoke(main, ["export", "perceptron", "--form", "step"])
    assert res.exit_code == 2
    assert "declares no form 'step'" in res.output and "forms: section" in res.output
