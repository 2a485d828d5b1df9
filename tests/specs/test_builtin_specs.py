"""Every built-in spec in ``specs/``: validates, builds with torch's parameter count, trains a
few steps with a falling loss, and exports to ONNX with parity at batches 1, 7 and 64 (and
sequence lengths 1, 5 and 50 for dynamic axes).

Parametrized over the folder itself, so a spec is covered the moment it is added. ImageNet-size
networks (over BIG parameters) are exported at 32x32 through their ``size`` parameter here; the
full-size export is a slow test.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import specc
from specc.backends.torch import build_module, count_torch_params, example_inputs

SPECS_DIR = Path(__file__).resolve().parents[2] / "specs"
SPECS = sorted(SPECS_DIR.glob("*.yaml"))
BIG = 2_000_000  # parameters ...
BIG_INPUT = 100_000  # ... and input elements per sample (ImageNet's 3x224x224: 150,528)
SMALL_SIZE = "size=32"
SEED_FILE = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")


def ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def load(path: Path, overrides: list[str] | tuple[str, ...] = ()) -> Any:
    return specc.load(path, overrides)


def is_big(spec: Any) -> bool:
    """ImageNet-size: many parameters on large inputs, too slow to export at batch 64 in the
    fast suite (the 7M-parameter gan on 28x28 digits exports in ~1.5 s and stays in it)."""
    widest = max(math.prod(d or 1 for d in t.shape)
                 for net in spec.networks for t in spec.network(net).inputs.values())
    return sum(spec.param_counts) > BIG and widest > BIG_INPUT


def reduced(spec: Any, path: Path) -> Any:
    """The spec at 32x32 when it is ImageNet-size and has a ``size`` parameter."""
    if is_big(spec) and "size" in spec.top.params:
        return load(path, [SMALL_SIZE])
    return spec


@pytest.fixture(scope="module", params=SPECS, ids=ids(SPECS))
def spec_path(request: pytest.FixtureRequest) -> Path:
    return request.param


def test_there_are_builtin_specs() -> None:
    assert len(SPECS) >= 10


def test_validates_with_metadata(spec_path: Path) -> None:
    spec = load(spec_path)
    assert spec.name == spec_path.stem
    for key in ("family", "description", "seed", "bar"):
        assert getattr(spec.top, key), f"{spec_path.name} has no '{key}'"
    assert SEED_FILE.match(spec.top.seed), spec.top.seed
    resolved = {k: v for k, v in spec.resolved.items() if k != "specc_version"}
    again = specc.load(resolved)  # the resolved (graph) form loads to the same networks
    assert again.param_counts == spec.param_counts
    for name, graph in spec.networks.items():
        assert again.networks[name].output_types == graph.output_types


def test_builds_with_inferred_parameter_count(spec_path: Path) -> None:
    spec = load(spec_path)
    for graph in spec.networks.values():
        module = build_module(graph, seed=0)
        assert count_torch_params(module) == graph.param_counts
    small = reduced(spec, spec_path)
    for graph in small.networks.values():
        module = build_module(graph, seed=0).eval()
        with torch.no_grad():
            out = module(*example_inputs(graph, batch=2))
        outs = out if isinstance(out, tuple) else (out,)
        for name, value in zip(graph.outputs, outs, strict=True):
            want = graph.type_of(name).shape
            assert value.shape[0] == 2
            assert all(w is None or w == g for w, g in zip(want, value.shape[1:], strict=True)), \
                f"{name}: {tuple(value.shape[1:])} vs inferred {want}"


def tiny_training(doc: dict[str, Any], window: Any) -> dict[str, Any]:
    """The spec's own training setup on a small budget: 3 epochs (for regimes trained in
    epochs) on the first 320 samples (or, for a series cut into windows, the first ~60
    windows), 20% of them held out; loss only (a free run needs a longer series), a washout of
    at most 20 steps."""
    from specc.registry import current

    doc = dict(doc)
    train = dict(doc["train"])
    train.pop("metrics", None)
    if train.get("washout"):
        train["washout"] = min(train["washout"], 20)
    data = train["data"]
    data = dict(data) if isinstance(data, dict) else {"dataset": data}
    if data.get("split") != "none":
        span = 0 if window is None else window.size + window.horizon
        data["limit"] = 320 if window is None else max(6 * span, span + 60 * window.stride)
        data["split"] = {"val": 0.2, "seed": 0}
    train["data"] = data
    if "epochs" in current().trainers.get(train.get("regime", "backprop")).Config.model_fields:
        train["epochs"] = 3
    for key in ("pretrain", "finetune"):  # greedy_layerwise's phases, in its short form
        if isinstance(train.get(key), dict):
            train[key] = {**train[key], "epochs": 3}
    train.pop("early_stopping", None)
    doc["train"] = train
    return doc


def test_a_few_training_steps_reduce_the_loss(spec_path: Path, tmp_path: Path) -> None:
    from specc.train.api import train

    doc = yaml.safe_load(spec_path.read_text())
    if not doc.get("train"):
        pytest.skip("no train section (its bar is the parameter count)")
    window = load(spec_path).train.data.window
    run = train(tiny_training(doc, window), out=tmp_path / "run", quiet=True)
    rows = run.metrics
    from specc.train.epoch import EpochRegime

    regime = current_regime(run.spec.train.regime)
    if "phases" in regime.Config.model_fields:  # a composite regime: its last phase's rows
        rows = [r for r in rows if r["phase"] == rows[-1]["phase"]]
        regime = current_regime(run.spec.train.phases[-1]["regime"])
    if regime.name == "adversarial":
        # two losses pulling against each other need not fall; tests/specs/test_gan.py (slow)
        # checks that the gan learns. Here: both are logged and finite every epoch
        assert all(math.isfinite(r[k]) for r in rows for k in ("d_loss", "g_loss")), rows
        return
    if not issubclass(regime, EpochRegime):
        # accumulate-then-solve: one pass, one row with finite training and held-out losses
        assert len(rows) == 1, rows
        assert all(math.isfinite(rows[0][k]) for k in ("loss", "val_loss")), rows[0]
        return
    # a regime without a loss (contrastive divergence) logs its own falling figure instead
    key = "loss" if "loss" in rows[0] else next(
        k for k, mode in regime.own_metrics.items() if mode == "min")
    losses = [row[key] for row in rows if isinstance(row.get(key), int | float)]
    assert len(losses) == len(rows) >= 2, rows
    assert losses[-1] < losses[0], f"{key} per epoch: {losses}"


def current_regime(name: str) -> Any:
    from specc.registry import current

    return current().trainers.get(name)


def _export_all(spec: Any, tmp_path: Path) -> None:
    for network in spec.networks:
        result = specc.export(spec, tmp_path / f"{network}.onnx", network=network)
        report = result.parity
        assert report is not None and report.ok, report and report.failures
        assert {c.batch for c in report.cases} == {1, 7, 64}
        graph = spec.network(network)
        if any(d is None for t in graph.inputs.values() for d in t.shape):
            assert {c.seq for c in report.cases} == {1, 5, 50}


def test_exports_with_parity(spec_path: Path, tmp_path: Path) -> None:
    spec = load(spec_path)
    if is_big(spec) and "size" not in spec.top.params:
        pytest.skip("ImageNet-size without a size parameter: exported by the slow test")
    _export_all(reduced(spec, spec_path), tmp_path)


BIG_SPECS = [p for p in SPECS if is_big(load(p))]


@pytest.mark.slow
@pytest.mark.parametrize("path", BIG_SPECS, ids=ids(BIG_SPECS))
def test_full_size_export_with_parity(path: Path, tmp_path: Path) -> None:
    _export_all(load(path), tmp_path)


# Published figures: torchvision's models count parameters only; Keras Applications also report
# batch-norm moving statistics as non-trainable weights.
PUBLISHED = {
    "resnet18": (11_689_512, 9_600),
    "resnet50": (25_557_032, 53_120),
    "vgg16": (138_357_544, 0),
    "mobilenet": (4_231_976, 21_888),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_equal_the_published_ones(name: str) -> None:
    spec = load(SPECS_DIR / f"{name}.yaml")
    assert spec.param_counts == PUBLISHED[name]


def test_mobilenet_total_with_moving_statistics_is_keras() -> None:
    assert sum(load(SPECS_DIR / "mobilenet.yaml").param_counts) == 4_253_864


def test_resnet_counts_do_not_depend_on_the_input_size() -> None:
    for name in ("resnet18", "resnet50", "mobilenet"):
        full = load(SPECS_DIR / f"{name}.yaml")
        assert load(SPECS_DIR / f"{name}.yaml", [SMALL_SIZE]).param_counts == full.param_counts
