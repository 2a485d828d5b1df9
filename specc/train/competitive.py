"""``competitive``: Kohonen's self-organising map learning on a ``som`` node.

Before step 1 the codebook is initialised from the training data (``init: pca``: Kohonen's
linear initialisation on the plane of the two principal components; ``random``: training
vectors drawn with the run's seed); it is in the first checkpoint, so a resume never repeats
it. Each step then reads the vectors arriving at the node (nodes before it must have no
trainable weights) and finds each one's best-matching unit c. With a Gaussian neighbourhood
``h_j = exp(-g(c, j)^2 / (2 sigma^2))`` (g: distance on the grid), sigma shrinking
geometrically from ``sigma_start`` to ``sigma_end`` over the run:

- ``algorithm: batch`` (Kohonen's batch map; default with ``batch_size: full``): every unit
  becomes the h-weighted mean of the step's vectors, ``w_j = sum_i h_ij x_i / sum_i h_ij`` (a
  unit no vector reaches keeps its vector);
- ``algorithm: online``: for each vector in order, ``w_j += lr h_j (x - w_j)``, sigma and lr
  (``lr_start`` to ``lr_end``, geometric) following the count of vectors seen.

The loss is the mean distance to the best-matching unit before each update; at the end of
every epoch the map's ``quantization_error`` and ``topographic_error`` on the training split
(and ``val_`` ones) are logged, monitorable. Deterministic; the position in the schedules is
saved, so a resume is exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..errors import SpecError
from ..spec.training import EpochConfig
from .epoch import EpochRegime
from .som_metrics import map_figures

if TYPE_CHECKING:
    import torch

ONLINE_ONLY = ("lr_start", "lr_end")


class CompetitiveConfig(EpochConfig):
    """The ``train:`` section of ``regime: competitive``."""

    algorithm: Literal["batch", "online"] = Field(
        "batch", description="Kohonen's batch map (weighted means) or the online rule.")
    node: str | None = Field(None, description="The 'som' node to train (default: the only "
                             "one).")
    init: Literal["pca", "random"] = Field(
        "pca", description="Codebook before step 1: the plane of the data's two principal "
        "components, or training vectors drawn with the seed.")
    sigma_start: float | None = Field(None, gt=0, allow_inf_nan=False, description="Width "
                                      "of the Gaussian neighbourhood at the start, in grid "
                                      "units (default: half the longer side of the grid).")
    sigma_end: float = Field(0.6, gt=0, allow_inf_nan=False,
                             description="Width at the last step (geometric decay).")
    lr_start: float = Field(0.5, gt=0, le=1, description="Online rule: learning rate at "
                            "the start.")
    lr_end: float = Field(0.01, gt=0, le=1, description="Online rule: learning rate at the "
                          "end (geometric decay).")
    batch_size: int | Literal["full"] = Field("full", description="Vectors per step ('full': "
                                              "one batch-map update per epoch).")

    def default_monitor(self, has_val: bool) -> tuple[str, str]:
        """The map's quantization error after the epoch (``loss`` is measured before each
        update), unless early stopping names another."""
        if self.early_stopping is not None:
            return super().default_monitor(has_val)
        return ("val_" if has_val else "") + "quantization_error", "min"

    def cross_check(self) -> list[SpecError]:
        errs = super().cross_check()
        if self.algorithm == "batch":
            errs += [SpecError(f"'{f}' sets the online rule's learning rate; the batch "
                               f"algorithm has none", path=(f,), hint="algorithm: online")
                     for f in ONLINE_ONLY if f in self.model_fields_set]
        return errs


class Competitive(EpochRegime):
    """Kohonen's batch or online rule on a ``som`` node, Gaussian neighbourhood."""

    name = "competitive"
    Config = CompetitiveConfig
    targets = "none"
    own_metrics = {"quantization_error": "min", "topographic_error": "min"}

    # -- setup --------------------------------------------------------------------------------
    def build_models(self) -> None:
        from ..backends.torch.build import attr_name
        from .shared import Network

        s = self.session
        if len(s.spec.networks) != 1:
            raise s.locate(SpecError(f"regime 'competitive' trains one network; this spec has "
                                     f"{len(s.spec.networks)}", path=("train", "regime")))
        self.graph = s.spec.graph
        try:
            self.node = find_som(self.graph, self.cfg.node)
        except SpecError as err:
            raise s.locate(err) from None
        self.source = self.graph.nodes[self.node].inputs[0]
        self.net = s.build()
        self.models = {self.graph.name: self.net}
        self.som = self.net.get_submodule(attr_name(self.node))
        self.network = Network(s, self.graph, self.net)

    def setup(self) -> None:
        self.build_models()
        s, cfg = self.session, self.cfg
        for i, ch in enumerate(cfg.metrics):
            if ch.name not in self.own_metrics:
                raise s.locate(SpecError(
                    f"regime 'competitive' logs the map's quantization_error and "
                    f"topographic_error; metric '{ch.name}' reads predictions against targets",
                    path=("train", "metrics", i), received=ch.name,
                    hint="metrics: [quantization_error, topographic_error]"))
        self.data = s.tensor_data(self.graph.inputs, {})
        self.net.eval()
        self.grid = self.som.grid_distances().to(s.device)
        steps = max(1, -(-self.data.train.n // self.batch_size()))
        self.total_steps = cfg.epochs * steps
        self.seen = 0  # samples the online rule has seen
        self.sigma = self.sigma_start = cfg.sigma_start or max(self.som.rows,
                                                               self.som.cols) / 2
        self.lr = cfg.lr_start
        self.reset_epoch()

    def initialize(self) -> None:
        """The given weights, else the codebook from the training data."""
        import torch

        super().initialize()
        if self.initial_weights is not None:
            return
        x = self._split_vectors("train")
        if len(x) == 0:
            raise self.session.locate(SpecError(
                "regime 'competitive' initialises the map from the training data, but the "
                "training split is empty", path=("train", "data")))
        if self.cfg.init == "pca":
            x64 = x.double()
            mean = x64.mean(0)
            centred = x64 - mean
            self.som.init_pca(mean, centred.t() @ centred / len(x64))
        else:
            gen = torch.Generator().manual_seed(int(self.cfg.seed))
            idx = torch.randint(len(x), (len(self.som.codebook),), generator=gen)
            self.som.codebook.copy_(x[idx.to(x.device)])

    # -- vectors arriving at the node ---------------------------------------------------------
    def _vectors(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        import torch

        from .shared import features

        with torch.no_grad():
            x = features(self.net, self.graph, self.source, inputs)
        return x.reshape(-1, self.som.codebook.shape[1]).to(self.som.codebook)

    def _split_vectors(self, split: str) -> torch.Tensor:
        import torch

        part = self.data.parts[split]
        dev = self.session.device
        xs = [self._vectors(b.inputs) for b in part.batches(4096, dev)]
        return torch.cat(xs) if xs else self.som.codebook.new_zeros((0, self.som.codebook.shape[1]))

    # -- steps --------------------------------------------------------------------------------
    def train_step(self, batch: Any) -> float:
        import torch

        x = self._vectors(batch.inputs)
        with torch.no_grad():
            d2 = self.som.squared_distances(x)
            c = d2.argmin(-1)
            dist = float(d2.gather(1, c[:, None]).clamp(min=0).double().sqrt().sum())
            loss = self.check_finite(dist / max(len(x), 1))
            if self.cfg.algorithm == "batch":
                self._batch_update(x, c)
            else:
                self._online_update(x, batch.size)
        self.loss_sum += dist
        self.count += len(x)
        return loss

    def _batch_update(self, x: torch.Tensor, c: torch.Tensor) -> None:
        import torch

        self.sigma = decay(self.sigma_start, self.cfg.sigma_end,
                           self.global_step / max(self.total_steps - 1, 1))
        h = torch.exp(-self.grid[c] ** 2 / (2 * self.sigma ** 2))  # (n, units) float64
        num, den = h.t() @ x.double(), h.sum(0)[:, None]
        w = self.som.codebook
        w.copy_(torch.where(den > 0, num / den.clamp(min=1e-300), w.double()).to(w))

    def _online_update(self, x: torch.Tensor, samples: int) -> None:
        """The online rule on each vector in turn; the schedules advance by samples (a sample
        of several vectors advances by one over them)."""
        import torch

        cfg, w = self.cfg, self.som.codebook
        last = max(cfg.epochs * self.data.train.n - 1, 1)
        for i, v in enumerate(x):
            frac = min((self.seen + i * samples / len(x)) / last, 1.0)
            self.sigma = decay(self.sigma_start, cfg.sigma_end, frac)
            self.lr = decay(cfg.lr_start, cfg.lr_end, frac)
            c = int(self.som.squared_distances(v).argmin())
            h = torch.exp(-self.grid[c] ** 2 / (2 * self.sigma ** 2)).to(w)
            w += (self.lr * h)[:, None] * (v - w)
        self.seen += samples

    def reset_epoch(self) -> None:
        self.loss_sum, self.count = 0.0, 0

    def running_logs(self) -> dict[str, float]:
        return {"loss": self.loss_sum / max(self.count, 1)}

    def epoch_logs(self) -> dict[str, float]:
        figures = self.evaluate("train")
        return {**self.running_logs(), "quantization_error": figures["quantization_error"],
                "topographic_error": figures["topographic_error"], "sigma": self.sigma}

    def learning_rate(self) -> float | None:
        return self.lr if self.cfg.algorithm == "online" else None

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, split: str) -> dict[str, float]:
        """The map's quantization and topographic errors on ``split``; ``loss`` is the
        quantization error."""
        figures = map_figures(self.som, self._split_vectors(split))
        return {"loss": figures["quantization_error"], **figures}

    def predict(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.network.predict(inputs)

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"seen": self.seen, "sigma": self.sigma, "lr": self.lr,
                "sums": [self.loss_sum, self.count]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seen = int(state["seen"])
        self.sigma, self.lr = float(state["sigma"]), float(state["lr"])
        self.loss_sum, self.count = state["sums"]


def decay(start: float, end: float, frac: float) -> float:
    """Geometric interpolation from ``start`` (frac 0) to ``end`` (frac 1)."""
    return start * (end / start) ** frac


def find_som(graph: Any, name: str | None) -> str:
    """The ``som`` node to train: ``name``, or the only one. Every other node must be free of
    trainable weights. Raises a SpecError at the offending field otherwise."""
    from ..errors import did_you_mean

    maps = [n for n, node in graph.nodes.items() if node.kind == "som"]
    if name is None:
        if len(maps) != 1:
            raise SpecError(f"regime 'competitive' trains a 'som' node; the network has "
                            f"{len(maps)}", path=("train", "node") if maps else ("train",
                                                                                 "regime"),
                            hint="name the one to train: node: NAME" if maps else
                            "- som: {rows: 7, cols: 7}")
        name = maps[0]
    node = graph.nodes.get(name)
    if node is None or node.kind != "som":
        what = f"is a '{node.kind}' node" if node is not None else "is not a node"
        raise SpecError(f"regime 'competitive' trains a 'som' node; '{name}' {what}",
                        path=("train", "node"), received=name,
                        hint=did_you_mean(name, maps) or "som nodes: " + ", ".join(maps))
    for other, n in graph.nodes.items():
        if other != name and n.trainable and n.n_trainable:
            raise SpecError(f"regime 'competitive' trains only the som node '{name}'; node "
                            f"'{other}' has trainable weights", path=n.src,
                            hint="set trainable: false on it")
    return name
