"""``backprop``: supervised or reconstruction training by gradient descent.

Covers classifiers, regressors and sequence models, and autoencoders (``target: input``; the
variational and sparse ones through the auxiliary losses their layers set). Outputs ending in
a fused softmax/sigmoid train on logits. Frozen nodes keep their weights (and batch-norm
statistics) bit for bit. Running the network, losses and metrics are the shared helpers of
:mod:`specc.train.shared`; this module is the gradient step and its state.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpecError, did_you_mean
from ..spec.training import GradientConfig
from .epoch import EpochRegime


class Backprop(EpochRegime):
    """Gradient descent on the loss (plus auxiliary losses) of one network."""

    name = "backprop"
    aliases = ("supervised", "gradient_descent")
    Config = GradientConfig
    targets = "loss"
    multiprocess = True

    # -- setup --------------------------------------------------------------------------------
    def build_models(self) -> None:
        from .shared import Network

        s = self.session
        if len(s.spec.networks) != 1:
            raise SpecError(f"regime 'backprop' trains one network; this spec has "
                            f"{len(s.spec.networks)} ({', '.join(s.spec.networks)})",
                            path=("train", "regime"))
        graph = self.graph = s.spec.graph
        self.network = Network(s, graph, s.build(logits=True))
        self.net = self.network.net
        self.models = {graph.name: self.net}

    def setup(self) -> None:
        from .amp import mixed_precision
        from .compiled import compile_network
        from .optim import Schedule, make_optimizer
        from .shared import loss_functions, metric_sets

        s, cfg = self.session, self.cfg
        self.build_models()
        graph, nw = self.graph, self.network
        losses = cfg.output_losses(graph.outputs)
        for out in losses:
            if out not in graph.outputs:
                raise SpecError(f"the network has no output '{out}'", path=("train", "losses", out),
                                hint=did_you_mean(out, graph.outputs)
                                or "outputs: " + ", ".join(graph.outputs))
        self.losses = losses
        self.data = s.tensor_data(graph.inputs, self.output_targets(graph))
        nw.input_targets = self.data.prepared.input_targets
        nw.wrap()
        nw.augment(cfg.data.augment)
        self.model = nw.model
        self.model.eval()  # the first train_step then sets train mode with frozen parts in eval
        self.loss_fns = loss_functions(nw, losses)
        self.optimizer = make_optimizer(cfg.optimizer, self.net.parameters())
        self.precision, self.accumulator = mixed_precision(s, cfg)
        self.params = list(self.net.parameters())
        compile_network(self)
        self.schedule = Schedule(cfg.schedule, self.optimizer, cfg.epochs) if cfg.schedule else None
        self.metric_sets = metric_sets(cfg, graph, {o: ol.loss.name for o, ol in losses.items()},
                                       self.data.prepared, s.device)
        self.eval_sets: dict[str, Any] = {}
        self.reset_epoch()

    # -- steps --------------------------------------------------------------------------------
    def _loss(self, outs: dict[str, Any], targets: dict[str, Any]) -> Any:
        """Weighted output losses (over the elements a loss mask marks) plus the auxiliary
        losses layers set in this forward."""
        from ..data.loader import masked
        from ..data.prepare import mask_key

        total = None
        for o, fn in self.loss_fns.items():
            pred, target = masked(outs[o], targets[o], targets.get(mask_key(o)))
            # a batch whose mask marks nothing adds nothing (a mean over no elements is NaN)
            term = (fn(pred, target) if pred.numel() else outs[o].sum() * 0.0) \
                * self.losses[o].weight
            total = term if total is None else total + term
        for aux in self.network.aux_losses():
            total = total + aux
        return total

    def train_step(self, batch: Any) -> float:
        import torch

        nw, acc = self.network, self.accumulator
        if not self.net.training:  # evaluate() put the network (not its DDP/compile wrapper) in eval
            nw.train_mode()
        acc.start(*self.position)
        with acc.no_sync(self.model):
            with self.precision.autocast():
                outs, targets = nw.forward(batch, train=True)
            outs = self.precision.full(outs)
            loss = self._loss(outs, targets)
            value = self.check_finite(loss)
            self.precision.backward(loss * acc.weight if acc.weight != 1.0 else loss)
        if acc.last:
            self.precision.step(self.optimizer, self.params, self.cfg.clip)
            self.optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            self.loss_sum += value * batch.size
            self.count += batch.size
            if self.cfg.metrics:
                for o, ms in self.metric_sets.items():
                    ms.update(nw.value(o, outs[o]), targets[o])
        return value

    def reset_epoch(self) -> None:
        self.loss_sum = 0.0
        self.count = 0
        for ms in self.metric_sets.values():
            ms.reset()

    def running_logs(self) -> dict[str, float]:
        from .shared import logs

        return logs(self.loss_sum / max(self.count, 1), self.metric_sets)

    def epoch_logs(self) -> dict[str, float]:
        from .shared import logs, reduce_sums

        loss_sum, count = reduce_sums(self.session, [self.loss_sum, float(self.count)],
                                      self.metric_sets)
        return logs(loss_sum / max(count, 1), self.metric_sets)

    def evaluate(self, split: str) -> dict[str, float]:
        """Loss and metrics on ``split`` (every process evaluates the whole split)."""
        import torch

        from .metrics import MetricSet, evaluate_split, split_context
        from .shared import logs

        nw = self.network
        sets = {o: MetricSet(ms.choices, ms.kind, self.session.device)
                for o, ms in self.metric_sets.items()}
        self.net.eval()
        loss_sum, count = 0.0, 0
        with torch.no_grad():
            for batch in self.data.parts[split].batches(self.batch_size(), self.session.device):
                outs, targets = nw.forward(batch, train=False)
                loss_sum += float(self._loss(outs, targets)) * batch.size
                count += batch.size
                for o, ms in sets.items():
                    ms.update(nw.value(o, outs[o]), targets[o])
        self.eval_sets = sets
        ctx = split_context(self.data, split, self.predict, self.net)
        return {**logs(loss_sum / max(count, 1), sets),
                **evaluate_split(list(self.cfg.metrics), ctx)}

    def confusion(self) -> Any:
        sets = self.eval_sets
        return next(iter(sets.values())).confusion() if len(sets) == 1 else None

    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.network.predict(inputs)

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        if self.schedule is not None:
            self.schedule.step(logs)

    def learning_rate(self) -> float | None:
        return float(self.optimizer.param_groups[0]["lr"])

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict() if self.schedule else None,
                "precision": self.precision.state_dict(),
                "partial_grads": self.accumulator.partial(self.session, self.params),
                "epoch_sums": {"loss": self.loss_sum, "count": self.count,
                               "metrics": {o: dict(ms.state) for o, ms in self.metric_sets.items()}}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.precision.load_state_dict(state.get("precision"))
        self.accumulator.restore(self.session, self.params, state.get("partial_grads"))
        if self.schedule is not None and state.get("schedule") is not None:
            self.schedule.load_state_dict(state["schedule"])
        sums = state["epoch_sums"]
        self.loss_sum, self.count = sums["loss"], sums["count"]
        for o, st in sums["metrics"].items():
            self.metric_sets[o].state = {k: v.to(self.session.device) for k, v in st.items()}
