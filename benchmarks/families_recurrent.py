"""Full training runs of the recurrent families to their FAMILIES.md bars (rows 5-9).

Run: ``python benchmarks/families_recurrent.py NAME [NAME ...]`` with names among
rnn, gru, bidirectional_gru, stacked_gru, lstm, lstm_stock, char_rnn (or ``all``).
Each spec trains with its own ``train:`` section; the script prints the bar's figure, whether
it is met and the training time. ``--json FILE`` also writes the results.

Figures:
- digit classifiers: accuracy of the best checkpoint on the 20% validation split (seed 0);
  gru also compares its parameter count with the same network built with an LSTM.
- lstm / lstm_stock: test RMSE in the series' own units for every held-out step, each
  forecast from the window of true values before it (reaching back into the training part
  for the first steps), next to persistence (the last value) and, for the monthly series,
  seasonal-naive (the value 12 months earlier) on the same steps. The engine's own figure
  (windows cut inside the held-out part only) is shown too.
- char_rnn: held-out cross-entropy in nats per character, next to add-0.1 Markov chains
  of order 2 (bigram: one character of context; the 2.32 of the bar) and order 3.

Training runs single-threaded by default (``--threads``): these networks are too small to
gain from intra-op threads, and on shared cores the threads mostly wait for each other.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
CLASSIFIERS = {"rnn": 0.95, "gru": 0.95, "bidirectional_gru": 0.96, "stacked_gru": 0.96}
FORECASTERS = {"lstm": 12, "lstm_stock": None}  # name -> seasonal period
BIGRAM_BAR = 2.32  # nats/char of an order-2 Markov chain (FAMILIES.md row 9)
NAMES = (*CLASSIFIERS, *FORECASTERS, "char_rnn")


@dataclass
class Result:
    name: str
    figure: str
    met: bool | None
    train_seconds: float
    details: list[str] = field(default_factory=list)


# -- training -----------------------------------------------------------------------------------


def train(name: str, out: Path, overrides: list[str]) -> float:
    """Train ``specs/NAME.yaml`` into ``out``; returns the wall-clock training time."""
    from specc.train.api import train as train_api

    t0 = time.perf_counter()
    train_api(str(SPECS / f"{name}.yaml"), out=out, overrides=overrides, quiet=True,
              overwrite=True)
    return time.perf_counter() - t0


# -- digit classifiers --------------------------------------------------------------------------


def lstm_equivalent(name: str) -> dict[str, Any]:
    """The resolved spec ``name`` with every gru node replaced by an lstm of the same size."""
    from specc.assembled import load

    doc = json.loads(json.dumps(load(str(SPECS / f"{name}.yaml")).resolved))
    doc.pop("specc_version", None)
    for node in doc["nodes"].values():
        if node["op"] == "gru":
            node["op"] = "lstm"
    doc["name"] = f"{name}_as_lstm"
    return doc


def param_count(spec: Any) -> int:
    import specc

    return sum(p.numel() for p in specc.build(specc.load(spec)).parameters())


def classifier(name: str, run: Path, seconds: float) -> Result:
    from specc.train.api import evaluate

    result = evaluate(run)
    acc = result["accuracy"]
    bar = CLASSIFIERS[name]
    details = [f"{result['split']} split, {result['n']} digits, checkpoint {result['checkpoint']}"
               f" (epoch {result['epoch']})"]
    met = acc >= bar
    if name == "gru":
        gru, lstm = param_count(str(SPECS / "gru.yaml")), param_count(lstm_equivalent("gru"))
        details.append(f"parameters: gru {gru:,} vs the same network with an LSTM {lstm:,}")
        met = met and gru < lstm
    return Result(name, f"accuracy {acc:.2%} (bar >= {bar:.0%})", met, seconds, details)


# -- forecasters --------------------------------------------------------------------------------


def forecast(run: str | Path) -> dict[str, Any]:
    """One-step forecasts of a windowed-series run for every held-out step.

    Returns ``{"steps", "truth", "pred", "series"}`` in the series' units: each forecast uses
    the ``window.size`` true values before its step, from the training part where needed.
    """
    import torch

    from specc.data.prepare import apply_preprocess, load_raw
    from specc.data.splits import split_indices
    from specc.runs.folder import load_spec, resolve_run
    from specc.train.api import load_model
    from specc.types import TensorType

    path = resolve_run(run)
    spec = load_spec(path)
    data = spec.train.data
    record = json.loads((path / "data.json").read_text())
    raw = load_raw(data)
    series = raw.arrays["x"].astype(np.float32)
    parts, _ = split_indices(len(series), data.split, raw, series=True)
    steps = parts["test"] if "test" in parts else parts["val"]
    (name,) = spec.graph.inputs
    (out,) = spec.graph.outputs
    scaled = apply_preprocess(record["preprocess"][name], series,
                              TensorType(tuple(series.shape[1:])))
    size = data.window.size
    x = np.stack([scaled[t - size:t] for t in steps])
    with torch.inference_mode():
        pred = load_model(path)(torch.from_numpy(x)).numpy().reshape(len(steps), -1)
    ts = record["target_scale"].get(out)
    if ts:
        pred = pred * np.asarray(ts["scale"], np.float32) + np.asarray(ts["shift"], np.float32)
    return {"steps": steps, "truth": series[steps].reshape(len(steps), -1), "pred": pred,
            "series": series.reshape(len(series), -1), "window": size}


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


def forecast_figures(run: str | Path, season: int | None) -> dict[str, float]:
    """Test RMSE of the run and of the naive baselines on the same steps: all held-out steps,
    and (``engine_*``) only those the engine's own windows cover."""
    f = forecast(run)
    steps, truth, series = f["steps"], f["truth"], f["series"]
    figures: dict[str, float] = {"steps": len(steps)}
    for prefix, keep in (("", slice(None)), ("engine_", slice(f["window"], None))):
        s = steps[keep]
        figures[prefix + "rmse"] = rmse(f["pred"][keep], truth[keep])
        figures[prefix + "persistence"] = rmse(series[s - 1], truth[keep])
        if season:
            figures[prefix + "seasonal_naive"] = rmse(series[s - season], truth[keep])
    return figures


def forecaster(name: str, run: Path, seconds: float) -> Result:
    season = FORECASTERS[name]
    f = forecast_figures(run, season)
    naive = f"persistence {f['persistence']:.3f}"
    met = f["rmse"] < f["persistence"]
    if season:
        naive += f", seasonal-naive {f['seasonal_naive']:.3f}"
        met = met and f["rmse"] < f["seasonal_naive"]
    figure = f"test RMSE {f['rmse']:.3f} vs {naive} ({int(f['steps'])} steps)"
    details = [f"ratio to persistence {f['rmse'] / f['persistence']:.3f}",
               f"engine's windows only: RMSE {f['engine_rmse']:.3f}, persistence "
               f"{f['engine_persistence']:.3f}" + (f", seasonal-naive "
                                                   f"{f['engine_seasonal_naive']:.3f}"
                                                   if season else "")]
    return Result(name, figure, met if season else None, seconds, details)


# -- char_rnn -----------------------------------------------------------------------------------


def markov_nats(train_ids: np.ndarray, test_ids: np.ndarray, order: int, vocab: int,
                alpha: float = 0.1) -> float:
    """Held-out cross-entropy (nats/char) of an order-``order`` (n-gram) Markov chain with
    add-``alpha`` smoothing, fitted on ``train_ids``."""
    k = order - 1

    def codes(ids: np.ndarray) -> np.ndarray:
        c = np.zeros(len(ids) - k, dtype=np.int64)
        for j in range(k + 1):
            c = c * vocab + ids[j:len(ids) - k + j]
        return c

    counts = np.bincount(codes(train_ids), minlength=vocab ** (k + 1)).reshape(-1, vocab)
    context = counts.sum(axis=1)
    test = codes(test_ids)
    ctx, nxt = test // vocab, test % vocab
    p = (counts[ctx, nxt] + alpha) / (context[ctx] + alpha * vocab)
    return float(-np.log(p).mean())


def char_model(run: Path, seconds: float) -> Result:
    from specc.data.prepare import load_raw
    from specc.runs.folder import load_spec
    from specc.text_generation import generate
    from specc.train.api import evaluate

    result = evaluate(run)
    loss = result["loss"]
    spec = load_spec(run)
    raw = load_raw(spec.train.data)
    ids, held = raw.arrays["x"], raw.own_split["val"]
    cut = int(held[0])
    v = len(raw.vocab)
    order2 = markov_nats(ids[:cut], ids[cut:], 2, v)
    order3 = markov_nats(ids[:cut], ids[cut:], 3, v)
    sample = generate(run, length=120, temperature=0.7, prompt="The ", seed=0)
    details = [f"Markov chains on the same split: order 2 {order2:.3f}, order 3 {order3:.3f} "
               f"nats/char; vocabulary {v}",
               f"{result['split']} split: {result['n']} windows, checkpoint "
               f"{result['checkpoint']} (epoch {result['epoch']})",
               "sample (T=0.7): " + json.dumps("The " + sample)]
    return Result("char_rnn", f"held-out loss {loss:.3f} nats/char (bar < {BIGRAM_BAR})",
                  loss < BIGRAM_BAR, seconds, details)


# -- driver -------------------------------------------------------------------------------------


def run_one(name: str, out: Path, overrides: list[str]) -> Result:
    seconds = train(name, out, overrides)
    if name in CLASSIFIERS:
        return classifier(name, out, seconds)
    if name in FORECASTERS:
        return forecaster(name, out, seconds)
    return char_model(out, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=[*NAMES, "all"], metavar="NAME",
                        help=f"one of {', '.join(NAMES)}, or all")
    parser.add_argument("--epochs", type=int, help="override train.epochs")
    parser.add_argument("--seed", type=int, help="override train.seed")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="any other spec override (repeatable)")
    parser.add_argument("--out", type=Path, help="keep the runs under this folder")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    names = list(NAMES) if "all" in args.names else args.names
    overrides = list(args.overrides)
    if args.epochs is not None:
        overrides.append(f"train.epochs={args.epochs}")
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        for name in names:
            r = run_one(name, root / name, overrides)
            results.append(r)
            mark = {True: "met", False: "NOT MET", None: "reported"}[r.met]
            print(f"{r.name:18s} {r.figure}  [{mark}]  trained in {r.train_seconds:.1f} s",
                  flush=True)
            for line in r.details:
                print(f"{'':18s}   {line}", flush=True)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    return 0 if all(r.met is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
