"""The ``markov_chain`` kind: shape rule, the counted table, the lookup and its ONNX export."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from specc.assembled import load
from specc.backends.torch import build_module
from specc.errors import SpecError
from specc.layers.markov_chain import MarkovChain
from specc.testing import check_kind, onnx_parity

TEXT = "abracadabra cab"


def chain_spec(order: int = 3, vocab: int = 6, length: int | None = 2,
               dtype: str = "int64") -> dict:
    return {"specc": 1, "name": "chain", "inputs": {"x": {"shape": [length], "dtype": dtype}},
            "layers": [{"markov_chain": {"order": order, "vocab": vocab}}]}


def fitted(order: int, text: str = TEXT) -> tuple[torch.nn.Module, list[str]]:
    """A chain counted on ``text`` (pairs made by hand, as the counting regime makes them)."""
    vocab = sorted(set(text))
    ids = [vocab.index(c) for c in text]
    graph = load(chain_spec(order, len(vocab), order - 1)).graph
    module = build_module(graph, seed=0)
    (chain,) = [m for m in module.modules() if type(m).__name__ == "MarkovChainModule"]
    grams = Counter(tuple(ids[i:i + order]) for i in range(len(ids) - order + 1))
    pairs = {}
    for gram, n in grams.items():
        index = 0
        for t in gram:
            index = index * len(vocab) + t
        pairs[index] = n
    keys = sorted(pairs)
    chain.fit_counts(torch.tensor(keys), torch.tensor([float(pairs[k]) for k in keys],
                                                      dtype=torch.float64))
    return module.eval(), vocab


def test_harness() -> None:
    check_kind(MarkovChain)


def test_untrained_chain_is_uniform() -> None:
    module = build_module(load(chain_spec()).graph, seed=0)
    out = module(torch.tensor([[0, 1], [5, 5]]))
    assert torch.allclose(out, torch.full((2, 6), 1 / 6))


def test_table_is_add_alpha_of_the_counts() -> None:
    module, vocab = fitted(3)
    ix = {c: i for i, c in enumerate(vocab)}
    # After "ab" the text has "r" twice and nothing else: (2 + 0.1) / (2 + 0.1 * 6).
    p = module(torch.tensor([[ix["a"], ix["b"]]]))[0]
    assert p[ix["r"]].item() == pytest.approx(2.1 / 2.6)
    assert p[ix["a"]].item() == pytest.approx(0.1 / 2.6)
    # "ca" is followed by "d" once and "b" once.
    p = module(torch.tensor([[ix["c"], ix["a"]]]))[0]
    assert p[ix["d"]].item() == pytest.approx(1.1 / 2.6)
    assert p[ix["b"]].item() == pytest.approx(1.1 / 2.6)
    # An unseen context ("rr") still gives a distribution: the uniform one.
    p = module(torch.tensor([[ix["r"], ix["r"]]]))[0]
    assert torch.allclose(p, torch.full((len(vocab),), 1 / len(vocab)))


def test_lookup_finds_every_context() -> None:
    """The unrolled binary search agrees with a dictionary lookup for all contexts."""
    module, vocab = fitted(3)
    (chain,) = [m for m in module.modules() if type(m).__name__ == "MarkovChainModule"]
    rows = {int(c): i for i, c in enumerate(chain.contexts)}
    v = len(vocab)
    grid = torch.cartesian_prod(torch.arange(v), torch.arange(v))
    out = module(grid)
    for (a, b), p in zip(grid.tolist(), out, strict=True):
        want = chain.probs[rows.get(a * v + b, len(rows))]
        assert torch.equal(p, want)


def test_reads_the_last_tokens_of_a_longer_window() -> None:
    module, _ = fitted(3)
    graph = load(chain_spec(3, 6, 3)).graph
    longer = build_module(graph, seed=0)
    longer.load_state_dict(module.state_dict())
    x = torch.tensor([[4, 0, 1], [2, 2, 3]])
    assert torch.equal(longer(x), module(x[:, 1:]))


def test_state_dict_resizes_the_table() -> None:
    module, _ = fitted(4)
    fresh = build_module(load(chain_spec(4, 6, 3)).graph, seed=0)
    fresh.load_state_dict(module.state_dict())
    x = torch.randint(0, 6, (20, 3))
    assert torch.equal(fresh(x), module(x))
    bad = dict(module.state_dict())
    key = next(k for k in bad if k.endswith("probs"))
    bad[key] = bad[key][:-1]
    with pytest.raises(RuntimeError, match="needs"):
        fresh.load_state_dict(bad)


@pytest.mark.parametrize("order", [2, 3, 4])
def test_fitted_chain_exports_with_parity(order: int) -> None:
    module, _ = fitted(order, TEXT * 3 + "bbbaaacc")
    graph = load(chain_spec(order, 6, order - 1)).graph
    assert onnx_parity(module, graph) == 0.0


@pytest.mark.parametrize(("spec", "text"), [
    (chain_spec(length=1), "reads the last 2 tokens; the input has 1"),
    (chain_spec(length=None), "the input has a dynamic number of"),
    (chain_spec(dtype="float32"), "integer token ids"),
    (chain_spec(order=16, vocab=20), "must fit in 64 bits"),
    (chain_spec(order=1), "order: must be >= 2 (received 1)"),
])
def test_bad_chains_are_located_errors(spec: dict, text: str) -> None:
    with pytest.raises(SpecError) as err:
        load(spec)
    rendered = err.value.render()
    assert text in rendered and "markov_chain" in rendered
