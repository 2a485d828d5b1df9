"""``backprop``: supervised or reconstruction training by gradient descent.

Covers classifiers, regressors and sequence models, and autoencoders (``target: input``; the
variational and sparse ones through the auxiliary losses their layers set). Outputs ending in
a fused softmax/sigmoid train on logits. Frozen nodes keep their weights (and batch-norm
statistics) bit for bit.
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
        s = self.session
        if len(s.spec.networks) != 1:
            raise SpecError(f"regime 'backprop' trains one network; this spec has "
                            f"{len(s.spec.networks)} ({', '.join(s.spec.networks)})",
                            path=("train", "regime"))
        self.graph = s.spec.graph
        self.net = s.build(logits=True)
        self.models = {self.graph.name: self.net}

    def setup(self) -> None:
        from ..backends.torch.build import FINAL_PROBABILITY, final_activation
        from .losses import make_loss
        from .optim import Schedule, make_optimizer

        s, cfg = self.session, self.cfg
        self.build_models()
        graph = self.graph
        losses = cfg.output_losses(graph.outputs)
        for out in losses:
            if out not in graph.outputs:
                raise SpecError(f"the network has no output '{out}'", path=("train", "losses", out),
                                hint=did_you_mean(out, graph.outputs)
                                or "outputs: " + ", ".join(graph.outputs))
        self.losses = losses
        self.omitted: dict[str, str | None] = {}
        self.final: dict[str, str | None] = {}
        for out in graph.outputs:
            node = graph.nodes.get(out)
            fused = node.activation if node is not None else None
            self.omitted[out] = fused if fused in FINAL_PROBABILITY else None
            self.final[out] = final_activation(graph, out)
        self.data = s.tensor_data(graph.inputs, self.output_targets(graph))
        prep = self.data.prepared
        self.model = self.net
        if s.dist.active:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.model = DDP(self.net, device_ids=[s.device.index] if s.device.type == "cuda"
                             else None)
        self.frozen = [m for m in self.net.modules() if _all_frozen(m)]
        self.model.eval()  # the first train_step then sets train mode with frozen parts in eval
        self.all_modules = list(self.net.modules())
        self.loss_fns = {o: make_loss(ol.loss, graph.type_of(o), self.omitted[o], self.final[o])
                         for o, ol in losses.items()}
        self.optimizer = make_optimizer(cfg.optimizer, self.net.parameters())
        self.schedule = Schedule(cfg.schedule, self.optimizer, cfg.epochs) if cfg.schedule else None
        self.augmenters = {}
        if cfg.data.augment is not None:
            from ..data.augment import Augmenter

            self.augmenters = {n: Augmenter(cfg.data.augment, t, n)
                               for n, t in graph.inputs.items()}
        self.channels_last = s.channels_last
        self.metric_sets = self._metrics(prep)
        self.reset_epoch()

    def _metrics(self, prep: Any) -> dict[str, Any]:
        import torch

        from .metrics import CLASSIFICATION, MetricSet, OutputKind

        sets = {}
        for out, ol in self.losses.items():
            t = self.graph.type_of(out)
            axis = t.feature_axis % max(t.rank, 1) if t.rank else 0
            loss = ol.loss.name
            if out in prep.classes:
                kind = OutputKind("multiclass", prep.classes[out], axis)
            elif loss == "binary_cross_entropy":
                kind = OutputKind("binary", 2, axis, 0.5)
            elif loss == "hinge":
                kind = OutputKind("binary", 2, axis, 0.0)
            else:
                kind = OutputKind("regression", axis=axis)
                ts = prep.target_scale.get(out)
                if ts:
                    kind.scale = torch.tensor(ts["scale"], dtype=torch.float64, device=self.session.device)
                    kind.shift = torch.tensor(ts["shift"], dtype=torch.float64, device=self.session.device)
            for i, ch in enumerate(self.cfg.metrics):
                if (ch.name in CLASSIFICATION) != (kind.mode != "regression"):
                    what = "classification" if ch.name in CLASSIFICATION else "regression"
                    raise SpecError(f"metric '{ch.name}' needs a {what} output; output '{out}' "
                                    f"is trained with {loss}", path=("train", "metrics", i))
            sets[out] = MetricSet(list(self.cfg.metrics), kind, self.session.device)
        return sets

    # -- steps --------------------------------------------------------------------------------
    def _forward(self, model: Any, batch: Any, train: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        import torch

        gen = self.session.generator
        xs, clean = [], {}
        for name in self.graph.inputs:
            x = batch.inputs[name]
            aug = self.augmenters.get(name) if train else None
            if aug is not None:
                x = aug.apply_geometric(x, gen)
                clean[name] = x
                x = aug.apply_noise(x, gen)
            else:
                clean[name] = x
            if self.channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            xs.append(x)
        for m in self.all_modules:  # aux losses are those set by this forward
            if getattr(m, "aux_loss", None) is not None:
                m.aux_loss = None
        out = model(*xs)
        outs = dict(zip(self.graph.outputs, out if isinstance(out, tuple) else (out,), strict=True))
        targets = dict(batch.targets)
        for o, src in self.data.prepared.input_targets.items():
            targets[o] = clean[src].reshape(outs[o].shape)
        return outs, targets

    def _loss(self, outs: dict[str, Any], targets: dict[str, Any]) -> Any:
        """Weighted output losses plus the auxiliary losses layers set in this forward."""
        total = None
        for o, fn in self.loss_fns.items():
            term = fn(outs[o], targets[o]) * self.losses[o].weight
            total = term if total is None else total + term
        for m in self.all_modules:
            aux = getattr(m, "aux_loss", None)
            if aux is not None:
                total = total + aux
        return total

    def _value(self, out: str, pred: Any) -> Any:
        from .losses import activate

        t = self.graph.type_of(out)
        return activate(pred, self.omitted[out], t.feature_axis % max(t.rank, 1) if t.rank else 0)

    def train_step(self, batch: Any) -> float:
        import torch

        if not self.model.training:
            self._train_mode()
        outs, targets = self._forward(self.model, batch, train=True)
        loss = self._loss(outs, targets)
        value = self.check_finite(loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.cfg.clip
        if clip is not None:
            params = [p for p in self.net.parameters() if p.grad is not None]
            if clip.value:
                torch.nn.utils.clip_grad_value_(params, clip.value)
            if clip.norm:
                torch.nn.utils.clip_grad_norm_(params, clip.norm)
        self.optimizer.step()
        with torch.no_grad():
            self.loss_sum += value * batch.size
            self.count += batch.size
            if self.cfg.metrics:
                for o, ms in self.metric_sets.items():
                    ms.update(self._value(o, outs[o]), targets[o])
        return value

    def _train_mode(self) -> None:
        self.model.train()
        for m in self.frozen:
            m.eval()

    def reset_epoch(self) -> None:
        self.loss_sum = 0.0
        self.count = 0
        for ms in self.metric_sets.values():
            ms.reset()

    def _logs(self, loss: float, sets: dict[str, Any]) -> dict[str, float]:
        logs = {"loss": loss}
        for o, ms in sets.items():
            prefix = "" if len(sets) == 1 else f"{o}_"
            logs.update({prefix + k: v for k, v in ms.compute().items()})
        return logs

    def running_logs(self) -> dict[str, float]:
        return self._logs(self.loss_sum / max(self.count, 1), self.metric_sets)

    def epoch_logs(self) -> dict[str, float]:
        import torch

        from .metrics import all_reduce

        loss_sum, count = self.loss_sum, self.count
        if self.session.dist.active:
            import torch.distributed as dist

            t = torch.tensor([loss_sum, float(count)], dtype=torch.float64, device=self.session.device)
            dist.all_reduce(t)
            loss_sum, count = float(t[0]), int(t[1])
            all_reduce(list(self.metric_sets.values()))
        return self._logs(loss_sum / max(count, 1), self.metric_sets)

    def evaluate(self, split: str) -> dict[str, float]:
        """Loss and metrics on ``split`` (every process evaluates the whole split)."""
        import torch

        from .metrics import MetricSet

        part = self.data.parts[split]
        sets = {o: MetricSet(ms.choices, ms.kind, self.session.device)
                for o, ms in self.metric_sets.items()}
        self.net.eval()
        loss_sum, count = 0.0, 0
        with torch.no_grad():
            for batch in part.batches(self.batch_size(), self.session.device):
                outs, targets = self._forward(self.net, batch, train=False)
                loss_sum += float(self._loss(outs, targets)) * batch.size
                count += batch.size
                for o, ms in sets.items():
                    ms.update(self._value(o, outs[o]), targets[o])
        self.eval_sets = sets
        return self._logs(loss_sum / max(count, 1), sets)

    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Outputs (as at inference) for preprocessed input tensors."""
        import torch

        self.net.eval()
        with torch.no_grad():
            out = self.net(*[inputs[n].to(self.session.device) for n in self.graph.inputs])
        outs = dict(zip(self.graph.outputs, out if isinstance(out, tuple) else (out,), strict=True))
        return {o: self._value(o, v) for o, v in outs.items()}

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        if self.schedule is not None:
            self.schedule.step(logs)

    def learning_rate(self) -> float | None:
        return float(self.optimizer.param_groups[0]["lr"])

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict() if self.schedule else None,
                "epoch_sums": {"loss": self.loss_sum, "count": self.count,
                               "metrics": {o: dict(ms.state) for o, ms in self.metric_sets.items()}}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.schedule is not None and state.get("schedule") is not None:
            self.schedule.load_state_dict(state["schedule"])
        sums = state["epoch_sums"]
        self.loss_sum, self.count = sums["loss"], sums["count"]
        for o, st in sums["metrics"].items():
            self.metric_sets[o].state = {k: v.to(self.session.device) for k, v in st.items()}


def _all_frozen(m: Any) -> bool:
    """A module whose own parameters are all frozen (run in eval mode while training)."""
    params = list(m.parameters(recurse=False))
    return bool(params) and not any(p.requires_grad for p in params)
