"""Two-node training, for real: two network namespaces joined by a veth pair are the two hosts.

Each "host" runs the README's command (torchrun with ``--nnodes 2 --node-rank R --master-addr``
on the veth address, gloo bound to the veth by ``GLOO_SOCKET_IFNAME``). Both nodes must end
with identical weights, and only rank 0's node writes a run folder. Needs root and iproute2
(``ip netns``); skipped otherwise. The namespaces are removed even when the test fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from specc.cli import worker
from specc.runs.folder import read_metrics

SPEC = """
specc: 1
name: two_nodes
inputs: {x: [64]}
layers:
  - dense: {units: 32, activation: relu}
  - dropout: {rate: 0.1}
  - dense: {units: 10, activation: softmax}
train:
  data: {dataset: digits, split: {val: 0.2, seed: 0}, scale: unit}
  loss: cross_entropy
  optimizer: {adam: {lr: 0.01}}
  epochs: 3
  batch_size: 32
  metrics: [accuracy]
"""


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def hosts():
    """(namespace, veth, address) of two hosts on one link; removed afterwards."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2's 'ip' is not installed (apt-get install iproute2)")
    if os.geteuid() != 0:
        pytest.skip("creating network namespaces needs root")
    tag = f"{os.getpid() % 100000}"
    net = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
    made: list[str] = []
    nodes = [(f"specc{tag}a", f"vsa{tag}", f"{net}.1"), (f"specc{tag}b", f"vsb{tag}", f"{net}.2")]
    try:
        for ns, _, _ in nodes:
            res = _ip("netns", "add", ns)
            if res.returncode != 0:
                pytest.skip(f"cannot create a network namespace: {res.stderr.strip()}")
            made.append(ns)
        res = _ip("link", "add", nodes[0][1], "type", "veth", "peer", "name", nodes[1][1])
        if res.returncode != 0:
            pytest.skip(f"cannot create a veth pair: {res.stderr.strip()}")
        steps: list[tuple[str, ...]] = []
        for ns, veth, addr in nodes:
            steps += [("link", "set", veth, "netns", ns),
                      ("-n", ns, "addr", "add", f"{addr}/24", "dev", veth),
                      ("-n", ns, "link", "set", veth, "up"),
                      ("-n", ns, "link", "set", "lo", "up")]
        for step in steps:
            res = _ip(*step)
            assert res.returncode == 0, f"ip {' '.join(step)}: {res.stderr}"
        yield nodes
    finally:
        for ns in made:  # deleting a namespace deletes the veth end inside it, and its peer
            _ip("netns", "del", ns)
        _ip("link", "del", nodes[0][1])  # a pair still outside them (fails when gone: fine)


def _torchrun() -> list[str]:
    script = Path(sys.executable).with_name("torchrun")
    return [str(script)] if script.exists() else [sys.executable, "-m", "torch.distributed.run"]


def _two_nodes(hosts, port: int, worker_args: list[list[str]]) -> list[str]:
    """Run the README's torchrun command on both hosts; their outputs, after both succeed."""
    procs = []
    for rank, (ns, veth, _) in enumerate(hosts):
        cmd = ["ip", "netns", "exec", ns, "env", f"GLOO_SOCKET_IFNAME={veth}",
               "OMP_NUM_THREADS=1", *_torchrun(), "--nnodes", "2", "--node-rank", str(rank),
               "--nproc-per-node", "1", "--master-addr", hosts[0][2], "--master-port",
               str(port), "-m", "specc.cli.worker", *worker_args[rank]]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=300)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for rank, (p, out) in enumerate(zip(procs, outs, strict=True)):
        assert p.returncode == 0, f"node {rank}:\n{out}"
    return outs


@pytest.mark.slow  # four two-node launches
def test_two_nodes_train_one_run_with_identical_weights_and_resume(hosts, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.lstrip())
    run = tmp_path / "node0"
    outs = _two_nodes(hosts, 29531, [[str(spec), "--out", str(run)],
                                     [str(spec), "--out", str(tmp_path / "node1")]])
    summary = (run / "summary.txt").read_text()
    assert "processes: 2 (gloo); weights identical on all ranks: yes" in summary
    rows = read_metrics(run)
    assert [r["epoch"] for r in rows] == [1, 2, 3]  # written once, by rank 0
    assert rows[-1]["step"] == 3 * 23  # 1437 samples / (2 x 32) a step: each node its half
    assert rows[-1]["val_accuracy"] >= 0.9
    assert not (tmp_path / "node1").exists()  # the other node writes no run folder
    assert f"rank 0 writes the run folder {run}" in outs[1]  # and is told where it is
    # resume: node 1 needs no copy of the run (the spec and checkpoint come from rank 0)
    _two_nodes(hosts, 29532, [[str(run), "--resume", "--set", "train.epochs=4"],
                              [str(tmp_path / "absent"), "--resume"]])
    assert [r["epoch"] for r in read_metrics(run)] == [1, 2, 3, 4]
    assert "weights identical on all ranks: yes" in (run / "summary.txt").read_text()
    assert not (tmp_path / "absent").exists()


@pytest.fixture
def one_rank(monkeypatch):
    """The environment torchrun gives a worker, for a world of one process."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key, value in {"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SPECC_RUN_LOCK_OWNER", raising=False)


def test_worker_started_by_hand_refuses_a_folder_that_is_not_a_run(one_rank, tmp_path,
                                                                   capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.lstrip())
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert worker.main([str(spec), "--out", str(out), "--quiet"]) == 2
    assert "is a non-empty folder that is not a specc run" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # untouched, no lock left


def test_worker_reports_a_spec_error_located(one_rank, tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.lstrip().replace("units: 32", "units: -3"))
    assert worker.main([str(spec), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "spec.yaml:5" in err and "units" in err and "-3" in err
    assert not (tmp_path / "run").exists()
