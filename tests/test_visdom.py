"""--visdom: live plots arrive in a real visdom server; a missing or vanishing server never stops training."""
import contextlib
import json
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import visdom

from eval.visdom_log import VisdomPlots
from tests.conftest import run_script, tiny
from cli.options import parse

pytestmark = pytest.mark.filterwarnings("ignore:The .warn. method is deprecated:DeprecationWarning")

# the server as `python -m visdom.server` runs it, minus the download of javascript from CDNs (offline here)
SERVER = "import sys; from visdom.server.run_server import main; sys.argv[0] = 'visdom'; main()"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def visdom_server(env_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, "-port", str(port), "-bind_local", "-env_path",
                             str(env_path), "-logging_level", "WARNING"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            assert proc.poll() is None, "visdom server exited at start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.time() < deadline, "visdom server did not start"
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client(port):
    return visdom.Visdom(server="http://127.0.0.1", port=port, raise_exceptions=True, use_incoming_socket=False)


def traces(vis, win, env):
    data = vis.get_window_data(win=win, env=env)
    assert data, f"no window {win!r} in env {env!r}"
    return {t["name"]: (t["x"], t["y"]) for t in json.loads(data)["content"]["data"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with visdom_server(tmp_path_factory.mktemp("visdom_env")) as port:
        yield port


@pytest.mark.slow
def test_loss_and_accuracy_traces_arrive(data_dir, tmp_path, server):
    iters, contexts, loss_log, acc_log = 30, 5, 10, 15
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--scenario", "task", "--visdom", "--visdom-server",
                                    "http://127.0.0.1", "--visdom-port", str(server), "--loss-log", str(loss_log),
                                    "--acc-log", str(acc_log), "--no-save"))
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    env, R = result["stamp"], np.array(result["accuracy_matrix"])
    vis = client(server)
    assert env in vis.get_env_list()  # one environment per run, named by the parameter stamp

    loss = traces(vis, "loss", env)
    assert set(loss) == {"current"}
    x, y = loss["current"]
    assert x == list(range(loss_log, iters * contexts + 1, loss_log))  # every --loss-log iterations
    assert np.allclose(y, result["training_log"]["loss"]["current"]["values"], rtol=1e-6)
    assert all(v > 0 for v in y)

    acc = traces(vis, "accuracy", env)
    assert set(acc) == {f"context {j + 1}" for j in range(contexts)}
    for j in range(contexts):
        x, y = acc[f"context {j + 1}"]
        # a context is plotted from the first log point of its own phase on
        assert x == list(range(j * iters + acc_log, iters * contexts + 1, acc_log))
        assert all(0 <= a <= 1 for a in y)
        # the test sets here are smaller than --acc-n, so at the end of phase k the logged accuracy is R[k][j]
        for k in range(j, contexts):
            assert y[x.index((k + 1) * iters)] == pytest.approx(R[k, j], abs=1e-9)

    x_avg, y_avg = traces(vis, "average accuracy", env)["average"]
    assert x_avg == list(range(acc_log, iters * contexts + 1, acc_log))
    assert y_avg[-1] == pytest.approx(R[-1].mean(), abs=1e-9)
    k = x_avg.index(2 * iters)  # end of phase 2: mean over contexts 1, 2
    assert y_avg[k] == pytest.approx(R[1, :2].mean(), abs=1e-9)


@pytest.mark.slow
def test_run_goes_on_without_server(data_dir, tmp_path):
    port = free_port()  # nothing listens there
    options = [a for a in tiny(data_dir, tmp_path) if a != "--quiet"]  # and no progress bar: stderr is a pipe
    r = run_script("main.py", *options, "--visdom", "--visdom-server", "http://127.0.0.1", "--visdom-port",
                   str(port), "--acc-log", "5", "--loss-log", "5", "--no-save")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "no visdom server" in lines[0] and str(port) in lines[0], r.stderr
    assert "average accuracy" in r.stdout
    assert len(list((tmp_path / "results").glob("*.json"))) == 1


def test_server_lost_midway_warns_once_and_rerun_starts_afresh(tmp_path, capsys):
    with visdom_server(tmp_path / "env") as port:
        plots = VisdomPlots("http://127.0.0.1", port, env="run")
        plots.losses(1, {"current": 1.0})
        plots.losses(2, {"current": 0.5})
        assert traces(client(port), "loss", "run")["current"] == ([1.0, 2.0], [1.0, 0.5])
        again = VisdomPlots("http://127.0.0.1", port, env="run")  # the same stamp again: old windows closed
        assert client(port).get_window_data(win="loss", env="run") == ""
        again.losses(7, {"current": 0.25})
        assert traces(client(port), "loss", "run")["current"] == ([7.0], [0.25])
        again.samples(7, torch.rand(9, 1, 28, 28))  # the hook for generative models: one image grid
        window = json.loads(client(port).get_window_data(win="samples", env="run"))
        assert window["type"] == "image" and "after 7 iterations" in window["title"]
    assert capsys.readouterr().err == ""
    for t in range(3, 6):  # the server is gone
        plots.losses(t, {"current": 0.1, "ewc": 0.2})
        plots.accuracies(t, [0.5, 0.6])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no visdom server" in err
    assert plots.vis is None


def test_log_options():
    args = parse(["--iters", "40"])
    assert (args.loss_log, args.acc_log, args.sample_log, args.acc_n, args.sample_n) == (40, 40, 40, 1024, 64)
    assert (args.visdom_server, args.visdom_port, args.visdom, args.pdf) == ("http://localhost", 8097, False, False)
