"""Train built-in specs to their FAMILIES.md quality bars and print each bar's figure.

    python benchmarks/families.py NAME [NAME...] [--out DIR] [--threads N] [--json FILE]

Each spec trains on its own ``train:`` section (``specc train``), then the bar is measured on
the held-out split with the *last* checkpoint (no model selection on the split reported):

- classifiers: accuracy, against the ``>= N%`` of the spec's ``bar``;
- autoencoders (``target: input``): held-out MSE against PCA with the same code size
  (``params.code``), fitted on the training split;
- denoising autoencoders (a noise layer): MSE on noisy held-out inputs, against the noisy
  input itself and the plain ``autoencoder`` spec on the same inputs;
- variational autoencoders (``gaussian_sample``): reconstruction MSE (z = mean) against PCA,
  and the ELBO (nats per sample, Bernoulli pixels, 10 draws of z);
- sparse autoencoders (``activity_sparsity``): mean hidden activation against the target;
- ImageNet-size nets (no ``train:``): parameter counts against the published ones.

Pictures (samples, reconstructions, filters, curves) are written next to each run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = {  # (trainable, total with batch-norm moving statistics or None)
    "resnet18": (11_689_512, None),  # torchvision
    "resnet50": (25_557_032, None),  # torchvision
    "vgg16": (138_357_544, 138_357_544),  # Keras Applications / torchvision
    "mobilenet": (4_231_976, 4_253_864),  # Keras Applications, alpha 1.0, 224x224
}
NOISE_KINDS = ("gaussian_noise", "masking_noise")


@dataclass
class Result:
    """One spec's bar: the measured figure, whether it is met, and the training time."""

    name: str
    figure: str
    bar: str
    met: bool | None
    train_seconds: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    run: str | None = None


# -- helpers ------------------------------------------------------------------------------------


def spec_path(name: str) -> Path:
    path = Path(name)
    return path if path.suffix in (".yaml", ".yml", ".json") else ROOT / "specs" / f"{name}.yaml"


def kinds(graph: Any) -> dict[str, str]:
    return {n: node.kind for n, node in graph.nodes.items()}


def held_out(spec: Any) -> tuple[np.ndarray, np.ndarray]:
    """(training inputs, held-out inputs) of a one-input spec, preprocessed as in training."""
    from specc.data.prepare import prepare

    prep = prepare(spec.train.data, spec.graph.inputs, {})
    name = next(iter(spec.graph.inputs))
    split = prep.held_out()
    assert split is not None, f"spec '{spec.name}' holds out no data"
    return prep.parts["train"].inputs[name], prep.parts[split].inputs[name]


def outputs(model: Any, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """The model's (first) output for ``x``, in batches, as a NumPy array."""
    import torch

    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch])))
            outs.append((out[0] if isinstance(out, tuple) else out).numpy())
    return np.concatenate(outs)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.reshape(len(a), -1) - b.reshape(len(b), -1)) ** 2))


def pca_mse(train: np.ndarray, test: np.ndarray, k: int) -> float:
    from sklearn.decomposition import PCA

    pca = PCA(k, random_state=0).fit(train.reshape(len(train), -1))
    flat = test.reshape(len(test), -1)
    return mse(pca.inverse_transform(pca.transform(flat)), flat)


def code_size(spec: Any) -> int:
    code = spec.top.params.get("code")
    if not isinstance(code, int):
        raise SystemExit(f"spec '{spec.name}' has no integer params.code to compare PCA with")
    return code


# -- bars ---------------------------------------------------------------------------------------


def bar_params(spec: Any) -> Result:
    trainable, frozen = spec.param_counts
    want, want_total = PUBLISHED[spec.name]
    met = trainable == want and (want_total is None or trainable + frozen == want_total)
    figure = f"{trainable:,} trainable, {trainable + frozen:,} total"
    return Result(spec.name, figure, spec.top.bar or "", met,
                  details={"trainable": trainable, "total": trainable + frozen})


def bar_evaluate(spec: Any, run: Path) -> Result:
    """Accuracy against the bar's ``>= N%``; other tasks: the held-out metrics, unjudged."""
    from specc.train.api import evaluate

    r = evaluate(run, checkpoint="last")
    where = f"on {r['split']} ({r['n']} samples)"
    if "accuracy" not in r:
        figures = {k: v for k, v in r.items() if isinstance(v, float)}
        text = ", ".join(f"{k} {v:.5g}" for k, v in figures.items())
        return Result(spec.name, f"{text} {where}", spec.top.bar or "", None, details=figures)
    acc = float(r["accuracy"])
    m = re.search(r"(?:>=\s*)?([\d.]+)\s*%", spec.top.bar or "")  # "100%": all of them
    met = acc >= float(m.group(1)) / 100 if m else None
    return Result(spec.name, f"accuracy {acc:.2%} {where}", spec.top.bar or "", met,
                  details={"accuracy": acc, "n": r["n"]})


def bar_reconstruction(spec: Any, run: Path, model: Any) -> Result:
    train_x, test_x = held_out(spec)
    k = code_size(spec)
    ours = mse(outputs(model, test_x), test_x)
    pca = pca_mse(train_x, test_x, k)
    return Result(spec.name, f"test MSE {ours:.5f} vs PCA-{k} {pca:.5f}", spec.top.bar or "",
                  ours < pca, details={"mse": ours, "pca_mse": pca, "k": k})


def bar_denoising(spec: Any, run: Path, model: Any, plain: Any) -> Result:
    graph = spec.graph
    noise = next(n for n in graph.nodes.values() if n.kind in NOISE_KINDS)
    _, clean = held_out(spec)
    noisy = corrupt(clean, noise, seed=0)
    noisy_mse = mse(noisy, clean)
    ours = mse(outputs(model, noisy), clean)
    theirs = mse(outputs(plain, noisy), clean)
    fig = (f"denoised MSE {ours:.5f} vs noisy input {noisy_mse:.5f} and plain autoencoder "
           f"{theirs:.5f}")
    return Result(spec.name, fig, spec.top.bar or "", ours < noisy_mse and ours < theirs,
                  details={"denoised_mse": ours, "noisy_mse": noisy_mse, "plain_ae_mse": theirs})


def corrupt(x: np.ndarray, node: Any, seed: int) -> np.ndarray:
    """``x`` corrupted as the noise node does in training."""
    rng = np.random.default_rng(seed)
    if node.kind == "gaussian_noise":
        return (x + rng.normal(0.0, node.params.stddev, x.shape)).astype(np.float32)
    return (x * (rng.random(x.shape) >= node.params.rate)).astype(np.float32)


def bar_vae(spec: Any, run: Path, model: Any) -> Result:
    import torch

    from specc.backends.torch.build import attr_name

    train_x, test_x = held_out(spec)
    k = code_size(spec)
    ours = mse(outputs(model, test_x), test_x)
    pca = pca_mse(train_x, test_x, k)
    name, node = next((n, v) for n, v in spec.graph.nodes.items() if v.kind == "gaussian_sample")
    sampler = model.get_submodule(attr_name(name))
    sampler.train()  # draw z instead of taking the mean
    x = torch.from_numpy(np.ascontiguousarray(test_x))
    flat = x.reshape(len(x), -1).clamp(1e-6, 1 - 1e-6)
    elbos = []
    torch.manual_seed(0)
    with torch.no_grad():
        for _ in range(10):
            p = model(x).reshape(len(x), -1).clamp(1e-6, 1 - 1e-6)
            nll = -(flat * p.log() + (1 - flat) * (1 - p).log()).sum(dim=1).mean()
            kl = sampler.aux_loss / node.params.kl_weight
            elbos.append(float(-(nll + kl)))
    sampler.eval()
    elbo = float(np.mean(elbos))
    fig = f"test MSE {ours:.5f} vs PCA-{k} {pca:.5f}; ELBO {elbo:.2f} nats/sample"
    return Result(spec.name, fig, spec.top.bar or "", ours < pca,
                  details={"mse": ours, "pca_mse": pca, "k": k, "elbo": elbo})


def bar_sparsity(spec: Any, run: Path, model: Any) -> Result:
    from specc.backends.torch.build import attr_name

    name, node = next((n, v) for n, v in spec.graph.nodes.items()
                      if v.kind == "activity_sparsity")
    seen = []
    hook = model.get_submodule(attr_name(name)).register_forward_hook(
        lambda mod, args, out: seen.append(args[0].detach().numpy()))
    _, test_x = held_out(spec)
    outputs(model, test_x)
    hook.remove()
    acts = np.concatenate(seen)
    mean, target = float(acts.mean()), node.params.target
    per_unit = acts.reshape(-1, acts.shape[-1]).mean(axis=0)
    fig = (f"mean hidden activation {mean:.4f} vs target {target} ({abs(mean / target - 1):.1%} "
           f"off; units {per_unit.min():.3f}-{per_unit.max():.3f})")
    return Result(spec.name, fig, spec.top.bar or "", abs(mean - target) <= 0.2 * target,
                  details={"mean_activation": mean, "target": target,
                           "unit_min": float(per_unit.min()), "unit_max": float(per_unit.max())})


# -- driver -------------------------------------------------------------------------------------


class Bench:
    """Trains specs once per invocation (the denoising bar reuses the plain autoencoder)."""

    def __init__(self, out: Path, pictures: bool = True) -> None:
        self.out = out
        self.pictures = pictures
        self.runs: dict[str, tuple[Path, float]] = {}

    def train(self, name: str) -> tuple[Path, float]:
        if name not in self.runs:
            from specc.train.api import train

            run = self.out / name
            t0 = time.perf_counter()
            train(str(spec_path(name)), out=run, quiet=True, overwrite=True)
            self.runs[name] = (run, time.perf_counter() - t0)
        return self.runs[name]

    def measure(self, name: str) -> Result:
        import specc
        from specc.train.api import load_model

        spec = specc.load(str(spec_path(name)))
        if spec.train is None:
            if spec.name in PUBLISHED:
                return bar_params(spec)
            raise SystemExit(f"spec '{name}' has no train section and no published count")
        run, seconds = self.train(name)
        graph_kinds = set(kinds(spec.graph).values()) if len(spec.networks) == 1 else set()
        model = load_model(run, checkpoint="last") if graph_kinds else None
        if "gaussian_sample" in graph_kinds:
            result = bar_vae(spec, run, model)
        elif "activity_sparsity" in graph_kinds:
            result = bar_sparsity(spec, run, model)
        elif spec.train.target == "input" and graph_kinds & set(NOISE_KINDS):
            plain_run, _ = self.train("autoencoder")
            result = bar_denoising(spec, run, model, load_model(plain_run, checkpoint="last"))
        elif spec.train.target == "input":
            result = bar_reconstruction(spec, run, model)
        else:
            result = bar_evaluate(spec, run)
        result.train_seconds = seconds
        result.run = str(run)
        if self.pictures:
            self.draw(run, spec, graph_kinds)
        return result

    def draw(self, run: Path, spec: Any, graph_kinds: set[str]) -> None:
        from specc import viz

        viz.plot_runs([run], run / "curves.png")
        if spec.train.target == "input" or "gaussian_sample" in graph_kinds:
            viz.sample(run, run / "samples.png", checkpoint="last")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="+", metavar="NAME", help="built-in spec names or files")
    ap.add_argument("--out", default="runs/families", help="where the runs go")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads (1 is fastest for these small nets on a busy "
                    "machine)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--no-pictures", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    bench = Bench(Path(args.out), pictures=not args.no_pictures)
    results = []
    for name in args.names:
        r = bench.measure(name)
        results.append(r)
        when = f"{r.train_seconds:.1f}s" if r.train_seconds is not None else "-"
        mark = {True: "MET", False: "NOT MET", None: "?"}[r.met]
        print(f"{r.name:24s} {mark:8s} train {when:>8s}  {r.figure}   [bar: {r.bar}]", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    return 0 if all(r.met is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
