"""``specc regimes``: the listing, ``describe`` (text and JSON), and the regimes in the schema."""

from __future__ import annotations

import json

from click.testing import CliRunner

from specc.cli import main
from specc.registry import current
from specc.schema import json_schema


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_regimes_lists_every_registered_regime():
    r = run("regimes")
    assert r.exit_code == 0, r.output
    for name in current().trainers.names():
        assert name in r.output
    rows = json.loads(run("regimes", "--json").stdout)
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == set(current().trainers.names())
    assert by_name["backprop"]["targets"] == "loss" and by_name["backprop"]["provider"] == "specc"
    assert set(by_name["backprop"]) == {"name", "aliases", "provider", "targets", "multiprocess",
                                        "own_metrics", "summary"}
    assert [row["name"] for row in json.loads(run("regimes", "back*", "--json").stdout)] \
        == ["backprop"]


def test_describe_shows_each_field_with_type_default_and_description():
    r = run("regimes", "describe", "least_squares")
    assert r.exit_code == 0, r.output
    assert "train: fields from LeastSquaresConfig:" in r.output
    assert "ridge: float (default 0.0)" in r.output and "optimizer" not in r.output
    assert "train: fields from TrainConfig (every regime):" in r.output
    r = run("regimes", "describe", "backprop")
    assert "optimizer: optimizer (name or {name: {params}}) (default 'adam')" in r.output
    assert "epochs: int (default 10)" in r.output and "Passes over the training split." in r.output


def test_describe_json_and_aliases():
    r = run("regimes", "describe", "ridge", "--json")  # an alias names the regime
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["name"] == "least_squares" and "ridge" in info["aliases"]
    fields = {f["name"]: f for f in info["fields"]}
    assert "regime" not in fields and "optimizer" not in fields
    assert fields["ridge"]["declared_by"] == "LeastSquaresConfig"
    assert fields["data"]["required"] and fields["data"]["declared_by"] == "TrainConfig"
    assert {f["name"] for f in fields["checkpoint"]["fields"]} >= {"every", "monitor"}
    assert fields["batch_size"]["default"] == 32


def test_unknown_regime_and_bad_usage_exit_2():
    r = run("regimes", "describe", "backprp")
    assert r.exit_code == 2 and "unknown trainer 'backprp'" in r.output
    assert "did you mean 'backprop'" in r.output and "Traceback" not in r.output
    assert run("regimes", "describe").exit_code == 2
    assert run("regimes", "a", "b").exit_code == 2
    r = run("regimes", "zz*")
    assert r.exit_code == 2 and "no regime matches" in r.output


def test_schema_has_one_train_model_per_regime():
    """``train:`` in ``specc schema`` picks one model per regime by ``regime`` (the whole schema
    is tested in tests/schema)."""
    defs = json_schema()["$defs"]
    names = current().trainers.names()
    arms = [a["then"]["$ref"].rsplit("/", 1)[1] for a in defs["TrainSection"]["allOf"]]
    assert set(arms) == {f"Train_{n}" for n in names}
    assert "optimizer" in defs["Train_backprop"]["properties"]
    assert "optimizer" not in defs["Train_least_squares"]["properties"]
    assert defs["Train_least_squares"]["properties"]["regime"]["enum"] == ["least_squares",
                                                                           "ridge"]
    assert {"not": {"required": ["regime"]}} in [a["if"] for a in defs["TrainSection"]["allOf"]]


def test_validate_refuses_a_field_of_another_regime_with_exit_2(spec_file):
    path = spec_file("specc: 1\ninputs: {x: [64]}\nlayers:\n  - dense: {units: 10}\n"
                     "train:\n  regime: least_squares\n  data: digits\n  ridge: 10\n"
                     "  optimizer: adam\n")
    r = run("validate", str(path))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"{path}:9:3: train.optimizer: regime 'least_squares' has no field 'optimizer'" \
        in r.output
    assert "its fields: data, seed" in r.output and "ridge" in r.output
