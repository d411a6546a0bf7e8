"""Sweeps on a Ray cluster of two nodes (a head and a second node, separate processes on 127.0.0.1): runs spread
over both nodes and give the numbers of a local sweep; a node lost mid-sweep loses no result and writes none twice."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from tests.conftest import ROOT, run_script, tiny

pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # Ray clusters

# the head declares a lost node dead within a few seconds (Ray's defaults take about 30 s)
FAST_HEALTH = {"RAY_health_check_initial_delay_ms": "1000", "RAY_health_check_period_ms": "500",
               "RAY_health_check_timeout_ms": "1000", "RAY_health_check_failure_threshold": "3"}


def options(data_dir, base, iters="20"):
    return tiny(data_dir, base, "--experiment=splitMNIST", "--scenario=task", "--contexts", "2", "--iters", iters,
                "--fc-units", "20", "--methods", "None,Joint", "--n-seeds", "2")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, temp):
    """A Ray node in its own session (so that it and every process it starts can be killed together)."""
    return subprocess.Popen(["ray", "start", "--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats",
                             f"--temp-dir={temp}", "--block", *args], env=dict(os.environ, **FAST_HEALTH),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _kill(proc, sig=signal.SIGTERM):
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _nodes(address):
    """The ids of the cluster's live nodes."""
    code = ("import ray, json; ray.init(address=%r, log_to_driver=False); "
            "print(json.dumps([n['NodeID'] for n in ray.nodes() if n['Alive']]))" % address)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else []


@pytest.fixture
def cluster():
    """A head and a second node with 1 CPU each: two one-thread runs at a time, one per node."""
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray")  # short: Ray's socket paths must stay under ~100 characters
    head = _start(["--head", f"--port={port}", "--include-dashboard=false"], temp)
    procs = [head]
    try:
        address = f"127.0.0.1:{port}"
        deadline = time.time() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None and time.time() < deadline, "the Ray head did not start"
                time.sleep(0.5)
        second = _start([f"--address={address}"], temp)
        procs.append(second)
        while len(_nodes(address)) < 2:
            assert second.poll() is None and time.time() < deadline, "the second Ray node did not join"
            time.sleep(1)
        yield {"address": address, "second": second}
    finally:
        for p in reversed(procs):
            _kill(p)
        shutil.rmtree(temp, ignore_errors=True)


def _running(node):
    """True while a process of the node's session executes a run (Ray titles such a worker 'ray::run_one')."""
    ps = subprocess.run(["ps", "-eo", "sid=,args="], capture_output=True, text=True).stdout
    return any(line.split(None, 1)[0] == str(node.pid) and "ray::run_one" in line
               for line in ps.splitlines() if line.strip())


def _records(base):
    return {p.name: json.loads(p.read_text()) for p in (base / "results").glob("splitMNIST*.json")}


def _local(data_dir, base, iters="20"):
    r = run_script("compare.py", *options(data_dir, base, iters), "--workers", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    return _records(base)


def test_runs_spread_over_two_nodes_with_the_numbers_of_a_local_sweep(cluster, data_dir, tmp_path):
    r = run_script("compare.py", *options(data_dir, tmp_path / "ray"), f"--ray-address={cluster['address']}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "4 runs: 0 already done, 4 to run on Ray" in r.stdout
    on_ray = _records(tmp_path / "ray")
    local = _local(data_dir, tmp_path / "local")
    assert sorted(on_ray) == sorted(local) and len(local) == 4
    assert len({rec["node"]["ray_node"] for rec in on_ray.values()}) == 2  # both nodes ran some
    assert all(rec["node"]["ray_cpus"] == rec["threads"] == 1 for rec in on_ray.values())  # CPUs asked = threads
    assert all("ray_node" not in rec["node"] for rec in local.values())
    for name, rec in local.items():
        assert on_ray[name]["accuracy_matrix"] == rec["accuracy_matrix"]


def test_a_node_lost_mid_sweep_loses_no_result_and_writes_none_twice(cluster, data_dir, tmp_path):
    base = tmp_path / "ray"
    sweep = subprocess.Popen([sys.executable, os.path.join(ROOT, "compare.py"), *options(data_dir, base, "150"),
                              f"--ray-address={cluster['address']}"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not (list((base / "results").glob("splitMNIST*.json")) and _running(cluster["second"])):
        assert sweep.poll() is None and time.time() < deadline, sweep.communicate()
        time.sleep(0.1)
    _kill(cluster["second"], signal.SIGKILL)  # mid-run: the node and the run on it, without warning
    out, err = sweep.communicate(timeout=400)
    assert sweep.returncode == 0, err[-2000:]
    assert out.count(" done ") == 4 and "FAILED" not in out
    on_ray = _records(base)
    local = _local(data_dir, tmp_path / "local", "150")
    assert sorted(on_ray) == sorted(local)  # every run once, under its own name; no other file
    assert sorted(p.name for p in (base / "results").iterdir() if p.suffix == ".json" and "summary" not in p.name) \
        == sorted(local)
    for name, rec in local.items():
        assert on_ray[name]["status"] == "finished"
        assert on_ray[name]["accuracy_matrix"] == rec["accuracy_matrix"]
    assert not list((base / "results").glob("*.lock"))
