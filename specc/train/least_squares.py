"""``least_squares``: a closed-form (ridge) readout over frozen features.

Extreme learning machines and echo state networks train only their last dense layer: the
network runs up to the readout's input (every node before it frozen), one pass over the
training split adds ``X^T X`` and ``X^T Y`` in float64 (a column of ones when the readout has
a bias), and the readout's weights are the ridge solution ``(X^T X + ridge I)^-1 X^T Y`` (the
bias is not penalised), by Cholesky with a least-squares fallback when the system is singular.

Integer class labels are one-hot encoded (the readout's scores are then read by argmax, or a
softmax at inference); float targets are fitted as values. For sequence features
``(batch, time, features)`` each time step is a row, and ``washout`` drops the first steps of
every sequence (the reservoir's transient).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..errors import SpecError, did_you_mean
from ..spec.training import FitConfig
from .fit import FitRegime

if TYPE_CHECKING:
    import torch

    from ..graph.ir import LayerGraph


class LeastSquaresConfig(FitConfig):
    """Settings of the ``least_squares`` regime."""

    readout: str | None = Field(None, description="The dense node solved in closed form "
                                "(default: the last dense node).")
    ridge: float = Field(0.0, ge=0, allow_inf_nan=False, description="Ridge penalty added to "
                         "the diagonal of X^T X (not to the bias); 0: ordinary least squares.")
    washout: int = Field(0, ge=0, description="Time steps dropped from the start of each "
                         "sequence before fitting (sequence features only).")


class LeastSquares(FitRegime):
    """Ridge regression of the readout on the features arriving at it."""

    name = "least_squares"
    aliases = ("ridge",)
    Config = LeastSquaresConfig
    targets = "labels"
    multiprocess = True

    # -- setup --------------------------------------------------------------------------------
    def build_models(self) -> None:
        from .shared import Network

        s = self.session
        self.graph = s.spec.graph
        self.readout = find_readout(self.graph, self.cfg.readout, s.locate)
        self.network = Network(s, self.graph, s.build(logits=True))
        self.net = self.network.net
        self.models = {self.graph.name: self.net}

    def setup(self) -> None:
        from ..backends.torch.build import attr_name

        self.build_models()
        s, graph, node = self.session, self.graph, self.graph.nodes[self.readout]
        check_frozen_before(graph, self.readout, s.locate)
        self.data = s.tensor_data(graph.inputs, self.output_targets(graph))
        self.classifier = self.readout in self.data.prepared.classes
        self.metric_sets()  # a metric the readout cannot give is refused before the pass
        self.layer = self.net.get_submodule(attr_name(self.readout))
        self.source = node.inputs[0]
        self.units = int(node.params.units)
        self.sequence = graph.type_of(self.source).rank >= 2
        if self.cfg.washout and not self.sequence:
            raise s.locate(SpecError(
                "washout drops time steps, but the features arriving at the readout "
                f"'{self.readout}' have no time axis", path=("train", "washout"),
                received=self.cfg.washout, hint="remove washout, or read out a sequence"))
        self.net.eval()

    # -- accumulate and solve -----------------------------------------------------------------
    def begin(self) -> None:
        import torch

        n = self.layer.in_features + (1 if self.layer.bias is not None else 0)
        dev, f64 = self.session.device, torch.float64
        self.sums = {"xtx": torch.zeros(n, n, dtype=f64, device=dev),
                     "xty": torch.zeros(n, self.units, dtype=f64, device=dev),
                     "yty": torch.zeros((), dtype=f64, device=dev),
                     "rows": torch.zeros((), dtype=f64, device=dev)}

    def accumulate(self, batch: Any) -> None:
        import torch

        with torch.no_grad():
            x, y = self.rows(batch)
            s = self.sums
            s["xtx"] += gram(x)
            s["xty"] += x.T @ y
            s["yty"] += (y * y).sum()
            s["rows"] += x.shape[0]

    def rows(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Design rows (float64, with a ones column for the bias) and their targets."""
        import torch

        from .shared import features

        x = features(self.net, self.graph, self.source, batch.inputs)
        y = batch.targets[self.readout]
        if self.classifier:
            y = torch.nn.functional.one_hot(y.long(), self.units)
        if self.sequence:
            x, y = self._washout(x), self._washout(y)
        x = x.reshape(-1, x.shape[-1]).double()
        if self.layer.bias is not None:
            x = torch.cat([x, x.new_ones(x.shape[0], 1)], dim=1)
        return x, y.reshape(-1, self.units).double()

    def _washout(self, v: torch.Tensor) -> torch.Tensor:
        w = self.cfg.washout
        if w and w >= v.shape[1]:
            raise self.session.locate(SpecError(
                f"washout drops {w} time steps but the sequences have {v.shape[1]}",
                path=("train", "washout"), received=w, hint="use a smaller washout"))
        return v[:, w:]

    def solve(self) -> dict[str, float]:
        import torch

        t0 = time.perf_counter()
        s, locate = self.sums, self.session.locate
        if float(s["rows"]) == 0:
            raise locate(SpecError("least squares has no training rows to fit",
                                   path=("train", "data"), hint="train on more data"))
        w, method = ridge_solve(s["xtx"], s["xty"], self.cfg.ridge,
                                self.layer.bias is not None)
        if not bool(torch.isfinite(w).all()):
            raise locate(SpecError("the least-squares solution is not finite",
                                   path=("train", "ridge"), received=self.cfg.ridge,
                                   hint="add a ridge penalty (ridge: 1.0e-6) or scale the data"))
        with torch.no_grad():
            n_in = self.layer.in_features
            self.layer.weight.copy_(w[:n_in].T.to(self.layer.weight.dtype))
            if self.layer.bias is not None:
                self.layer.bias.copy_(w[n_in].to(self.layer.bias.dtype))
        solve_time = time.perf_counter() - t0
        residual = s["yty"] - 2 * (w * s["xty"]).sum() + (w * (s["xtx"] @ w)).sum()
        if method == "lstsq":
            self.session.progress.note("X^T X + ridge I is not positive definite: solved by "
                                       "least squares (a ridge penalty regularises it)")
        return {"loss": float(residual) / (float(s["rows"]) * self.units),
                "solve_time": round(solve_time, 6)}

    # -- inference ----------------------------------------------------------------------------
    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.network.predict(inputs)

    def metric_sets(self) -> dict[str, Any]:
        from .shared import metric_sets

        try:
            return metric_sets(self.cfg, self.graph, {self.readout: None}, self.data.prepared,
                               self.session.device)
        except SpecError as err:
            raise self.session.locate(err) from None

    def evaluate(self, split: str) -> dict[str, float]:
        """Mean squared error of the readout's scores (against one-hot labels or the values),
        the streamed metrics and the whole-split ones (a free run reads the network)."""
        import torch

        from .metrics import evaluate_split, split_context
        from .shared import logs

        sets = self.metric_sets()
        out = self.readout
        sq, count = 0.0, 0
        part = self.data.parts[split]
        self.net.eval()
        with torch.no_grad():
            for batch in part.batches(self.batch_size(), self.session.device):
                outs, targets = self.network.forward(batch, train=False)
                score, y = outs[out], targets[out]
                target = (torch.nn.functional.one_hot(y.long(), self.units)
                          if self.classifier else y.reshape(score.shape))
                if self.sequence:
                    score, target, y = (self._washout(score), self._washout(target),
                                        self._washout(y))
                sq += float(((score.double() - target.double()) ** 2).sum())
                count += target.numel()
                sets[out].update(self.network.value(out, score), y if self.classifier
                                 else target)
        ctx = split_context(self.data, split, self.predict, self.net)
        return {**logs(sq / max(count, 1), sets), **evaluate_split(list(self.cfg.metrics), ctx)}


# -- the graph checks and the solve (torch-free at import) -----------------------------------


def find_readout(graph: LayerGraph, name: str | None, locate: Any) -> str:
    """The readout node: ``name``, or the last dense node. It must be a dense output node
    with no activation or a softmax."""
    path = ("train", "readout")
    if name is None:
        dense = [n for n, node in graph.nodes.items() if node.kind == "dense"]
        if not dense:
            raise locate(SpecError("least squares solves a dense readout, but the network has "
                                   "no dense node", path=("train", "regime"),
                                   hint="end the network with a dense layer"))
        name = dense[-1]
    node = graph.nodes.get(name)
    if node is None:
        raise locate(SpecError(f"the network has no node '{name}'", path=path,
                               hint=did_you_mean(name, graph.nodes)))
    if node.kind != "dense":
        raise locate(SpecError(f"the readout must be a dense node; '{name}' is "
                               f"'{node.kind}'", path=path, received=name))
    if node.share is not None:
        raise locate(SpecError(f"the readout '{name}' shares the weights of '{node.share}'",
                               path=path, hint="read out a node with its own weights"))
    if name not in graph.outputs:
        raise locate(SpecError(f"the readout '{name}' is not an output of the network",
                               path=path, received=name, hint="outputs: "
                               + ", ".join(graph.outputs)))
    if node.activation not in (None, "softmax"):
        raise locate(SpecError(f"least squares fits a linear readout (or a softmax "
                               f"classifier); '{name}' has activation '{node.activation}'",
                               path=node.src, received=node.activation,
                               hint="drop the readout's activation"))
    return name


def check_frozen_before(graph: LayerGraph, readout: str, locate: Any) -> None:
    """Refuse trainable weights upstream of the readout, one issue per node."""
    upstream: set[str] = set()
    todo = list(graph.nodes[readout].inputs)
    while todo:
        n = todo.pop()
        if n in graph.nodes and n not in upstream:
            upstream.add(n)
            todo.extend(graph.nodes[n].inputs)
    bad = [graph.nodes[n] for n in graph.nodes if n in upstream and graph.nodes[n].n_trainable]
    if bad:
        raise locate(SpecError.collect(SpecError(
            f"node '{n.name}' before the readout '{readout}' is trainable, but least squares "
            "fits only the readout", path=n.src, received=f"{n.n_trainable} trainable "
            "parameters", hint="freeze it with trainable: false") for n in bad))


def ridge_solve(xtx: torch.Tensor, xty: torch.Tensor, ridge: float,
                bias: bool) -> tuple[torch.Tensor, str]:
    """``(X^T X + ridge I)^-1 X^T Y`` (the last row/column, the bias, unpenalised) by
    Cholesky, or by least squares when the system is not positive definite; returns the
    solution and the method used."""
    import torch

    a = xtx.clone()
    diag = torch.full((a.shape[0],), float(ridge), dtype=a.dtype, device=a.device)
    if bias:
        diag[-1] = 0.0
    a.diagonal().add_(diag)
    chol = cholesky(a)
    if chol is not None:  # two triangular solves: 6 ms at 1501 x 10 vs cholesky_solve's 28
        inner = torch.linalg.solve_triangular(chol, xty, upper=False)
        return torch.linalg.solve_triangular(chol.T, inner, upper=True), "cholesky"
    driver = "gelsd" if a.device.type == "cpu" else None
    return torch.linalg.lstsq(a, xty, driver=driver).solution, "lstsq"


# On CPU the two O(F^2) and O(F^3) steps go through numpy: its matmul calls BLAS syrk for a
# product with its own transpose (half the flops of a general product) and its Cholesky is
# LAPACK's. Measured here (one thread, float64, 899 rows): X^T X at 1001 features 0.11 s vs
# torch's 0.23 s; the Cholesky at 1001 0.07 vs 0.15 s, at 2001 0.45 vs 0.64 s.


def gram(x: torch.Tensor) -> torch.Tensor:
    """``x^T x`` (exactly symmetric)."""
    import torch

    if x.device.type != "cpu":
        return x.T @ x
    a = x.numpy()
    return torch.from_numpy(a.T @ a)


def cholesky(a: torch.Tensor) -> torch.Tensor | None:
    """The lower Cholesky factor of ``a``, or None when ``a`` is not positive definite."""
    import numpy as np
    import torch

    if a.device.type != "cpu":
        chol, info = torch.linalg.cholesky_ex(a)
        return chol if int(info) == 0 else None
    try:
        return torch.from_numpy(np.linalg.cholesky(a.numpy()))
    except np.linalg.LinAlgError:
        return None
