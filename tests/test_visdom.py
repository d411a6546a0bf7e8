"""--visdom: live plots arrive in a real visdom server; a missing or vanishing server never stops training."""
import contextlib
import http.server
import json
import socket
import subprocess
import sys
import threading
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
        assert plots.flush(timeout=30)  # plots are sent in the background
        assert traces(client(port), "loss", "run")["current"] == ([1.0, 2.0], [1.0, 0.5])
        again = VisdomPlots("http://127.0.0.1", port, env="run")  # the same stamp again: old windows closed
        assert again.flush(timeout=30)
        assert client(port).get_window_data(win="loss", env="run") == ""
        again.losses(7, {"current": 0.25})
        assert again.flush(timeout=30)
        assert traces(client(port), "loss", "run")["current"] == ([7.0], [0.25])
        again.samples(7, torch.rand(9, 1, 28, 28))  # the hook for generative models: one image grid
        assert again.flush(timeout=30)
        window = json.loads(client(port).get_window_data(win="samples", env="run"))
        assert window["type"] == "image" and "after 7 iterations" in window["title"]
    assert capsys.readouterr().err == ""
    for t in range(3, 6):  # the server is gone
        plots.losses(t, {"current": 0.1, "ewc": 0.2})
        plots.accuracies(t, [0.5, 0.6])
    assert plots.flush(timeout=30)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no visdom server" in err
    assert plots.vis is None


def test_log_options():
    args = parse(["--iters", "40"])
    assert (args.loss_log, args.acc_log, args.sample_log, args.acc_n, args.sample_n) == (40, 40, 40, 1024, 64)
    assert (args.visdom_server, args.visdom_port, args.visdom, args.pdf) == ("http://localhost", 8097, False, False)


@contextlib.contextmanager
def http_server(status, delay=0.0):
    """A local HTTP server answering every request with `status` after `delay` seconds; yields (port, requests):
    requests counts the requests it received."""
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            requests.append(self.path)
            time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requests
    finally:
        server.shutdown()
        server.server_close()


def test_server_answering_http_errors_warns_once_and_stops_sending(capsys):
    with http_server(500) as (port, requests):
        plots = VisdomPlots("http://127.0.0.1", port, env="run")
        for t in range(20):
            plots.losses(t, {"current": 1.0})
            plots.accuracies(t, [0.5, 0.6])
        assert plots.flush(timeout=10)
        sent = len(requests)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "answered HTTP 500" in err[0] and "without live plots" in err[0], err
    assert sent == 1 and plots.failed  # the first request (the run's environment) only


def test_slow_server_never_slows_training_and_oldest_plots_are_dropped(capsys):
    with http_server(200, delay=0.2) as (port, requests):
        plots = VisdomPlots("http://127.0.0.1", port, env="run", queue_size=3)
        start = time.perf_counter()
        for t in range(20):  # 40 plots: 8 s of requests if sent in turn
            plots.losses(t, {"current": 1.0})
            plots.accuracies(t, [0.5, 0.6])
        elapsed = time.perf_counter() - start
        plots.close(timeout=5)  # what is still queued (3 plots at most) is sent
        sent = len(requests)
    assert elapsed < 0.5 and plots.dropped >= 30
    assert sent <= 2 + 3 + 2 * 3  # environment, close, plus a few plots (a line per trace in them)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "slower than training" in err[0] and "dropped" in err[0], err
    plots.losses(99, {"current": 1.0})  # after close: nothing more is taken
    assert not plots._pending


def test_plots_left_unsent_at_the_end_are_named_in_one_warning(capsys):
    """A server too slow to take what is queued within close()'s wait: the plots left are counted in one line."""
    with http_server(200, delay=1.0) as (port, requests):
        plots = VisdomPlots("http://127.0.0.1", port, env="run")
        for t in range(5):
            plots.losses(t, {"current": 1.0})
        plots.close(timeout=0.5)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is slow:" in err[0] and "were not sent" in err[0], err
    assert int(err[0].split("is slow: ")[1].split()[0]) >= 3
