"""Sweeps that train: the table, the best spec, trials as run folders, invalid values as
pruned trials, a killed sweep continued, two worker processes on one SQLite study."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest


def _study(out):
    import optuna

    from specc.sweep.study import load_study, load_sweep

    return load_study(load_sweep(out), heartbeat=False), optuna.trial.TrialState


@pytest.mark.slow
def test_sweep_table_best_spec_and_trial_runs(cli, sweep_spec, tmp_path):
    from specc import load
    from specc.runs.folder import load_spec

    out = tmp_path / "sw"
    code, stdout, err = cli("sweep", sweep_spec(), "--out", out)
    assert code == 0, err
    lines = stdout.splitlines()
    head = next(line for line in lines if line.startswith("trial"))
    assert head.split() == ["trial", "state", "val_accuracy", "train.optimizer.adam.lr",
                            "epochs", "time", "note"]
    rows = [line.split() for line in lines if line[:1].isdigit()]
    assert [r[:2] for r in rows] == [["0", "complete"], ["1", "complete"]]
    assert all(r[4] == "2" for r in rows)  # epochs run
    study, state = _study(out)
    best = study.best_trial
    assert f"best: trial {best.number}, val_accuracy {best.value:.6g}" in stdout
    run = out / "trials" / f"{best.number:04d}"
    assert best.user_attrs["run"] == str(run)
    # the best spec is complete: it trains as the best trial did (same resolved spec)
    spec = load(out / "best.yaml")
    assert "sweep" not in spec.resolved
    assert spec.train.optimizer.params.lr == pytest.approx(best.params["train.optimizer.adam.lr"])
    trained = load_spec(run)
    assert spec.hash == trained.hash
    assert {p.name for p in out.glob("*.png")} >= {"history.png", "slice.png"}
    # each trial is an ordinary run folder
    code, stdout, err = cli("evaluate", run, "--json")
    assert code == 0, err
    # the best epoch's, at most (a trial's value is read from metrics.csv: 6 significant digits)
    assert 0 < json.loads(stdout)["accuracy"] <= best.value + 1e-6
    code, stdout, err = cli("export", run, "-o", tmp_path / "best.onnx")
    assert code == 0 and "parity ok" in stdout, err
    # and --status prints the same table
    code, status, _ = cli("sweep", "--status", out)
    assert code == 0 and head in status and f"best: trial {best.number}" in status


def test_invalid_value_is_a_pruned_trial(cli, sweep_spec, tmp_path):
    spec = sweep_spec("""\
        sweep:
          sampler: grid
          space:
            params.width: {choice: [0, 3]}
        """)
    out = tmp_path / "sw"
    code, stdout, err = cli("sweep", spec, "--out", out)
    assert code == 0, err
    study, state = _study(out)
    by_width = {t.params["params.width"]: t for t in study.trials}
    assert by_width[3].state == state.COMPLETE
    bad = by_width[0]
    assert bad.state == state.PRUNED and "units" in bad.user_attrs["error"]
    assert "must be > 0" in bad.user_attrs["error"]
    assert f"{bad.number}      pruned" in stdout.replace("  ", "  ")


def test_killed_sweep_continues(cli, sweep_spec, tmp_path):
    """A trial left running by a killed process is failed and retried with its values;
    finished trials are not run again."""
    out = tmp_path / "sw"
    code, _, err = cli("sweep", sweep_spec(), "--out", out, "--trials", "1")
    assert code == 0, err
    study, state = _study(out)
    first = study.trials[0]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = study.ask()
    killed.suggest_float("train.optimizer.adam.lr", 1e-3, 1e-1, log=True)
    killed.set_user_attr("worker", {"host": socket.gethostname(), "pid": dead.pid})
    code, stdout, err = cli("sweep", sweep_spec(), "--out", out, "--trials", "2")
    assert code == 0, err
    study, state = _study(out)
    trials = study.trials
    assert trials[0].datetime_complete == first.datetime_complete  # not rerun
    assert trials[1].state == state.FAIL
    retried = trials[2]
    assert retried.state == state.COMPLETE
    assert retried.system_attrs["failed_trial"] == 1
    assert retried.params == trials[1].params
    assert "retry of trial 1" in stdout
    assert len(trials) == 3


@pytest.mark.slow
def test_two_worker_processes_share_one_sqlite_study(cli, sweep_spec, tmp_path):
    out = tmp_path / "sw"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    spec = sweep_spec()
    proc = subprocess.run([sys.executable, "-c", "from specc.cli import main; main()", "sweep",
                           str(spec), "--out", str(out), "--trials", "6", "--jobs", "2"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    study, state = _study(out)
    assert len(study.trials) == 6
    assert all(t.state in (state.COMPLETE, state.PRUNED) for t in study.trials)  # none failed
    assert all(t.user_attrs["epochs"] >= 1 and "error" not in t.user_attrs for t in study.trials)
    pids = {t.user_attrs["worker"]["pid"] for t in study.trials}
    assert len(pids) == 2  # both processes ran trials
    assert len({t.number for t in study.trials}) == 6


@pytest.mark.slow
def test_median_pruner_stops_bad_learning_rates(cli, sweep_spec, tmp_path):
    spec = sweep_spec("""\
        sweep:
          metric: val_loss
          trials: 10
          sampler: random
          pruner: median
          space:
            train.optimizer.adam.lr: {log_uniform: [1.0e-6, 1.0]}
        """)
    spec.write_text(spec.read_text().replace("epochs: 2", "epochs: 4"))
    out = tmp_path / "sw"
    code, stdout, err = cli("sweep", spec, "--out", out)
    assert code == 0, err
    study, state = _study(out)
    pruned = [t for t in study.trials if t.state == state.PRUNED]
    assert pruned and all(t.user_attrs["epochs"] < 4 for t in pruned)
    assert all("error" not in t.user_attrs for t in pruned)
    summary = (out / "trials" / f"{pruned[0].number:04d}" / "summary.txt").read_text()
    assert "status: pruned by the sweep after epoch" in summary
    assert len(study.trials) == 10
