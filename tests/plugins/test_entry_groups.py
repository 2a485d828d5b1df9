"""Plugins add losses, metrics, optimizers, ... through entry points with the same checks as
layers: a duplicate name is refused naming both modules, a built-in is never shadowed, an
entry of the wrong type (or an abstract base) is reported, never fatal."""

from __future__ import annotations

import pytest

from specc.errors import SpecError


def test_duplicate_loss_from_two_plugins_names_both_modules(site, registry):
    source = ("from specc.entries import Loss\n\n\nclass Twice(Loss):\n"
              "    '''A loss two plugins claim.'''\n    name = 'twice'\n")
    site.module("alpha_losses", source)
    site.module("beta_losses", source)
    site.dist("alpha-losses", losses={"twice": "alpha_losses:Twice"})
    site.dist("beta-losses", losses={"twice": "beta_losses:Twice"})
    regs = registry()
    assert regs.losses.provider("twice") == "alpha-losses"
    assert regs.plugins["beta-losses"].errors == [
        "duplicate loss name 'twice': registered by alpha_losses (alpha-losses) and again by "
        "beta_losses (beta-losses)"]
    assert regs.plugins["beta-losses"].broken == {"losses": ["twice"]}


def test_plugin_cannot_shadow_a_builtin_metric(site, registry):
    site.module("acc_plugin", "from specc.entries import Metric\n\n\nclass Acc(Metric):\n"
                "    '''Another accuracy.'''\n    name = 'accuracy'\n")
    site.dist("acc-plugin", metrics={"accuracy": "acc_plugin:Acc"})
    regs = registry()
    assert regs.metrics.get("accuracy").__module__ == "specc.train.metrics"
    assert regs.plugins["acc-plugin"].errors == [
        "duplicate metric name 'accuracy': registered by specc.train.metrics (specc) and again "
        "by acc_plugin (acc-plugin)"]


def test_entry_of_the_wrong_type_is_refused(site, registry):
    site.module("odd_optimizers", "from specc.entries import Optimizer\n"
                "from specc.registry import abstract\nfrom pydantic import BaseModel\n\n\n"
                "class NotOne:\n    name = 'not_one'\n\n\n"
                "@abstract\nclass Base(Optimizer):\n    name = 'base'\n\n\n"
                "class Loose(Optimizer):\n    name = 'loose'\n"
                "    Params = type('P', (BaseModel,), {'__annotations__': {'lr': float}})\n")
    site.dist("odd-optimizers", optimizers={"not_one": "odd_optimizers:NotOne",
                                            "base": "odd_optimizers:Base",
                                            "loose": "odd_optimizers:Loose"})
    regs = registry()
    assert regs.plugins["odd-optimizers"].errors == [
        "odd_optimizers:NotOne is not an optimizer: it must subclass specc.entries.Optimizer",
        "odd_optimizers:Base is an abstract base, not an optimizer",
        "odd_optimizers:Loose is not an optimizer: 'Params' must be a pydantic model that forbids "
        "unknown fields (derive from specc.entries.NoParams)"]
    with pytest.raises(SpecError, match="comes from plugin 'odd-optimizers', which failed"):
        regs.optimizers.get("not_one")
