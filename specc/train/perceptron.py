"""``perceptron``: Rosenblatt's perceptron rule on a ``dense`` layer followed by ``step``.

The network's output is a ``dense`` node with a ``step`` activation (fused, or an
``activation: {function: step}`` node right after it); nodes before it (a flatten, frozen
feature layers) have no trainable weights. Labels are 0/1 (``data: {binary: CLASS}`` makes a
one-vs-rest task of a multi-class dataset). For each sample of a batch with output ``o`` and
label ``y``: ``w += lr (y - o) x``, ``b += lr (y - o)`` (batch size 1 is the classic online
rule; a larger batch adds the updates of its samples at once). With ``pocket: true``
(Gallant's pocket algorithm, for data that is not linearly separable) the weights with the
fewest training errors seen after any step are the ones evaluated, saved and exported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..errors import SpecError
from ..spec.training import EpochConfig
from .epoch import EpochRegime

if TYPE_CHECKING:
    import torch


class PerceptronConfig(EpochConfig):
    """The ``train:`` section of ``regime: perceptron``."""

    lr: float = Field(1.0, gt=0, allow_inf_nan=False,
                      description="Learning rate of the perceptron rule.")
    pocket: bool = Field(False, description="Keep the weights with the fewest training errors "
                         "(Gallant's pocket algorithm; for data that is not linearly separable).")
    batch_size: int | Literal["full"] = Field(1, description="Samples per update (1: the "
                                              "online rule).")


class Perceptron(EpochRegime):
    """The perceptron rule (optionally with the pocket) on a dense + step output."""

    name = "perceptron"
    Config = PerceptronConfig
    targets = "labels"
    own_metrics = {"accuracy": "max"}

    # -- setup --------------------------------------------------------------------------------
    def build_models(self) -> None:
        s = self.session
        if len(s.spec.networks) != 1:
            raise SpecError(f"regime 'perceptron' trains one network; this spec has "
                            f"{len(s.spec.networks)}", path=("train", "regime"))
        self.graph = s.spec.graph
        self.dense_name = _located(s, self.graph)
        self.out = self.graph.outputs[0]
        self.net = s.build(logits=False)
        self.models = {self.graph.name: self.net}
        self.dense = self.net.get_submodule(_attr(self.dense_name))
        self.seen: dict[str, Any] = {}
        self.dense.register_forward_hook(self._capture)
        self.pocket: dict[str, torch.Tensor] | None = None
        self.pocket_errors: int | None = None
        self.eval_set: Any = None

    def _capture(self, module: Any, args: tuple[Any, ...], out: Any) -> None:
        self.seen["x"], self.seen["z"] = args[0], out

    def setup(self) -> None:
        import torch

        self.build_models()
        s = self.session
        self.data = s.tensor_data(self.graph.inputs, self.output_targets(self.graph))
        train = self.data.train
        y = train.targets[self.out]
        if y.numel() and not bool(((y == 0) | (y == 1)).all()):
            values = torch.unique(y)[:5].tolist()
            raise s.locate(SpecError(
                "regime 'perceptron' trains on binary labels (0 or 1)", received=values,
                path=("train", "data", "dataset"),
                hint="make a one-vs-rest task with data: {binary: CLASS}"))
        self.net.eval()
        if self.cfg.pocket:
            self.features = self._features(train)
        self.sets = self._metric_set()
        self.reset_epoch()

    def _metric_set(self) -> Any:
        """``train.metrics`` on the 0/1 output (classification metrics only)."""
        from ..entries import OutputKind
        from .metrics import MetricSet, task_mismatch

        kind = OutputKind("binary", 2, 0, 0.5)
        for i, ch in enumerate(self.cfg.metrics):
            if task_mismatch(ch, kind) is not None:
                raise self.session.locate(SpecError(
                    f"metric '{ch.name}' needs a regression output; the perceptron's is 0/1",
                    path=("train", "metrics", i), hint="accuracy, precision, recall, f1"))
        return MetricSet(list(self.cfg.metrics), kind, self.session.device)

    def _features(self, part: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs arriving at the dense node over ``part`` (fixed: nothing before it trains),
        and the targets."""
        import torch

        xs = []
        with torch.no_grad():
            for batch in part.batches(1024, self.session.device):
                self._run(batch.inputs)
                xs.append(self.seen["x"])
        return torch.cat(xs), part.targets[self.out].to(self.session.device)

    def _run(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(*[inputs[n] for n in self.graph.inputs])

    # -- steps --------------------------------------------------------------------------------
    def train_step(self, batch: Any) -> float:
        import torch

        with torch.no_grad():
            out = self._run(batch.inputs)
            x, z = self.seen["x"], self.seen["z"]
            y = batch.targets[self.out].reshape(out.shape)
            loss = self.check_finite(_criterion(z, y).sum())
            delta = (y - out).reshape(-1, out.shape[-1]) * self.cfg.lr
            changed = bool(delta.any())
            self.dense.weight += delta.t() @ x.reshape(-1, x.shape[-1])
            if self.dense.bias is not None:
                self.dense.bias += delta.sum(0)
            self.loss_sum += loss
            self.correct += int((out == y).all(-1).sum())
            self.count += batch.size
            self.sets.update(out, y)
            if self.cfg.pocket and (changed or self.pocket is None):
                self._update_pocket()
        return loss / max(batch.size, 1)

    def _update_pocket(self) -> None:
        x, y = self.features
        z = x @ self.dense.weight.t()
        if self.dense.bias is not None:
            z = z + self.dense.bias
        errors = int(((z > 0).to(y.dtype) != y.reshape(z.shape)).any(-1).sum())
        if self.pocket_errors is None or errors < self.pocket_errors:
            self.pocket_errors = errors
            self.pocket = {k: v.detach().clone() for k, v in self.dense.state_dict().items()}

    def reset_epoch(self) -> None:
        self.loss_sum, self.correct, self.count = 0.0, 0, 0
        self.sets.reset()

    def running_logs(self) -> dict[str, float]:
        n = max(self.count, 1)
        logs = {**self.sets.compute(), "loss": self.loss_sum / n, "accuracy": self.correct / n}
        if self.pocket_errors is not None:
            logs["pocket_errors"] = float(self.pocket_errors)
        return logs

    def epoch_logs(self) -> dict[str, float]:
        return self.running_logs()

    def learning_rate(self) -> float | None:
        return self.cfg.lr

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, split: str) -> dict[str, float]:
        """Mean perceptron criterion (``loss``) and accuracy of the (pocket) weights."""
        import torch

        from .metrics import MetricSet

        part = self.data.parts[split]
        loss, correct = 0.0, 0
        self.eval_set = MetricSet(self.sets.choices, self.sets.kind, self.session.device)
        with self._pocketed(), torch.no_grad():
            for batch in part.batches(1024, self.session.device):
                out = self._run(batch.inputs)
                y = batch.targets[self.out].reshape(out.shape)
                loss += float(_criterion(self.seen["z"], y).sum())
                correct += int((out == y).all(-1).sum())
                self.eval_set.update(out, y)
        n = max(part.n, 1)
        return {**self.eval_set.compute(), "loss": loss / n, "accuracy": correct / n}

    def confusion(self) -> torch.Tensor | None:
        return self.eval_set.confusion() if self.eval_set is not None else None

    def predict(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The step outputs (0 or 1)."""
        import torch

        with self._pocketed(), torch.no_grad():
            out = self._run({k: v.to(self.session.device) for k, v in inputs.items()})
        return {self.out: out}

    # -- weights and state --------------------------------------------------------------------
    def _pocketed(self) -> Any:
        return _Swap(self.dense, self.pocket)

    def weights(self) -> dict[str, torch.Tensor]:
        """The pocket weights when there are some, else the current ones."""
        with self._pocketed():
            return {k: v.clone() for k, v in self.net.state_dict().items()}

    def state_dict(self) -> dict[str, Any]:
        return {"current": {k: v.clone() for k, v in self.dense.state_dict().items()},
                "pocket": self.pocket, "pocket_errors": self.pocket_errors,
                "sums": [self.loss_sum, self.correct, self.count], "metrics": self.sets.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dense.load_state_dict(state["current"])
        self.pocket, self.pocket_errors = state["pocket"], state["pocket_errors"]
        self.loss_sum, self.correct, self.count = state["sums"]
        self.sets.state = {k: v.to(self.session.device) for k, v in state["metrics"].items()}


class _Swap:
    """Within the block, ``module`` holds the ``weights`` (when given)."""

    def __init__(self, module: Any, weights: dict[str, torch.Tensor] | None) -> None:
        self.module, self.weights = module, weights

    def __enter__(self) -> None:
        if self.weights is not None:
            self.saved = {k: v.clone() for k, v in self.module.state_dict().items()}
            self.module.load_state_dict(self.weights)

    def __exit__(self, *exc: Any) -> None:
        if self.weights is not None:
            self.module.load_state_dict(self.saved)


def _criterion(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The perceptron criterion per sample: ``max(0, -t z)`` with ``t = 2y - 1``, summed over
    units."""
    return (-(2 * y - 1) * z).clamp(min=0).reshape(len(z), -1).sum(1)


def find_dense(graph: Any) -> str:
    """The ``dense`` node the rule trains: the output, with a fused ``step``, or the input of an
    output ``activation: {function: step}`` node. Raises a SpecError at the node otherwise."""
    if len(graph.outputs) != 1:
        raise SpecError(f"regime 'perceptron' trains a network with one output; this one has "
                        f"{len(graph.outputs)}", path=("outputs",))
    out = graph.nodes.get(graph.outputs[0])
    dense = out
    if out is not None and out.kind == "activation" and out.params.function == "step":
        dense = graph.nodes.get(out.inputs[0])
    elif out is not None and out.activation != "step":
        dense = None
    if dense is None or dense.kind != "dense" or (dense is out and out.activation != "step"):
        where = out.src if out is not None else ("outputs",)
        what = f"ends with a '{out.kind}' node" if out is not None else "outputs an input"
        raise SpecError(f"regime 'perceptron' trains a 'dense' layer with a 'step' activation "
                        f"at the network's output; this network {what}", path=where,
                        hint="- dense: {units: 1, activation: step}")
    if graph.type_of(out.name).shape != (1,):
        raise SpecError(f"regime 'perceptron' learns 0/1 labels with one output unit; the "
                        f"output has shape {graph.type_of(out.name).shape}", path=dense.src,
                        received=dense.params.units, hint="units: 1")
    for name, node in graph.nodes.items():
        if name != dense.name and node.trainable and node.n_trainable:
            raise SpecError(f"regime 'perceptron' trains only the dense node '{dense.name}'; "
                            f"node '{name}' has trainable weights", path=node.src,
                            hint="set trainable: false on it, or train with backprop")
    return dense.name


def _located(session: Any, graph: Any) -> str:
    try:
        return find_dense(graph)
    except SpecError as err:
        raise session.locate(err) from None


def _attr(name: str) -> str:
    from ..backends.torch.build import attr_name

    return attr_name(name)
