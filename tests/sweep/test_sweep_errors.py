"""Bad sweeps are located errors (exit 2) before any trial runs."""

from __future__ import annotations

import pytest


def check(cli, spec, *extra, tmp_path=None):
    out = spec.parent / "sw"
    code, stdout, stderr = cli("sweep", spec, "--out", out, *extra)
    assert code == 2, (stdout, stderr)
    assert "Traceback" not in stderr
    assert not (out / "trials").exists()  # nothing trained
    return stderr


@pytest.mark.parametrize("space, text", [
    ("{log_uniform: [0.1, 0.01]}", "empty range: low must be below high (received [0.1, 0.01])"),
    ("{int: [4, 4]}", "empty range: low must be below high (received [4, 4])"),
    ("{log_uniform: [0, 0.1]}", "a log range must be above 0"),
    ("{choice: [0.1]}", "a choice needs at least two values (received [0.1])"),
    ("{choise: [0.1, 0.2]}", "did you mean 'choice'?"),
])
def test_bad_dimension(cli, sweep_spec, space, text):
    spec = sweep_spec(f"""\
        sweep:
          metric: val_accuracy
          space:
            train.optimizer.adam.lr: {space}
        """)
    err = check(cli, spec)
    assert "tiny.yaml:18:" in err and "sweep.space.train.optimizer.adam.lr" in err
    assert text in err


@pytest.mark.parametrize("key, text", [
    ("train.optimizer.adam.lrr", "unknown field 'lrr'\n"),
    ("params.widht", "did you mean 'width'?"),
    ("train.batchsize", "did you mean 'batch_size'?"),
    ("layers.0.dense.unitz", "did you mean 'units'?"),
    ("layers.5.dense.units", "index out of range"),
])
def test_unknown_path(cli, sweep_spec, key, text):
    spec = sweep_spec(f"""\
        sweep:
          space:
            {key}: {{int: [2, 8]}}
        """)
    err = check(cli, spec)
    assert f"sweep.space.{key}: no spec path '{key}'" in err
    assert text in err


def test_metric_the_regime_does_not_log(cli, sweep_spec):
    spec = sweep_spec("""\
        sweep:
          metric: val_acuracy
          space:
            params.width: {int: [2, 8]}
        """)
    err = check(cli, spec)
    assert "tiny.yaml:16:" in err and "sweep.metric: cannot optimise 'val_acuracy'" in err
    assert "did you mean 'val_accuracy'" in err


def test_val_metric_without_validation_split(cli, sweep_spec):
    spec = sweep_spec("""\
        sweep:
          metric: val_loss
          space:
            params.width: {int: [2, 8]}
        """)
    spec.write_text(spec.read_text().replace("split: {val: 0.3, seed: 0}", "split: none"))
    err = check(cli, spec)
    assert "sweep.metric: cannot optimise 'val_loss': the spec holds out no validation" in err


def test_grid_needs_finite_values(cli, sweep_spec):
    spec = sweep_spec("""\
        sweep:
          sampler: grid
          space:
            train.optimizer.adam.lr: {uniform: [0.01, 0.1]}
        """)
    assert "the grid sampler needs a finite set of values" in check(cli, spec)


def test_jobs_zero(cli, sweep_spec):
    err = check(cli, sweep_spec(), "--jobs", "0")
    assert "--jobs: --jobs must be 1 or more (received 0)" in err


def test_unreachable_storage(cli, sweep_spec, tmp_path):
    url = f"sqlite:///{tmp_path}/no/such/folder/study.db"
    err = check(cli, sweep_spec(), "--storage", url)
    assert "--storage: cannot open the study database" in err and url in err


def test_spec_without_sweep_section(cli, sweep_spec):
    spec = sweep_spec("")
    assert "spec 'tiny' has no 'sweep' section" in check(cli, spec)


def test_train_ignores_the_sweep_section(sweep_spec):
    from specc import load

    spec = load(sweep_spec())
    assert "sweep" not in spec.resolved and spec.train.epochs == 2


def test_status_of_a_folder_that_is_no_sweep(cli, tmp_path):
    code, _, err = cli("sweep", "--status", tmp_path)
    assert code == 2 and "is not a sweep folder" in err


def test_storage_password_is_not_shown(cli, sweep_spec):
    err = check(cli, sweep_spec(), "--storage", "postgresql://ann:s3cret@127.0.0.1:9/db")
    assert "--storage: cannot open the study database postgresql://ann:***@127.0.0.1:9/db" in err
    assert "s3cret" not in err
