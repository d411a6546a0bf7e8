"""Live plots in a running visdom server (`python -m visdom.server`), as the paper's code draws them.

One visdom environment per run, named by its parameter stamp (a rerun with the same stamp starts it afresh). Windows:
  "loss"              training loss, one trace per loss term ('current' and each component's terms)
  "accuracy"          test accuracy on --acc-n samples of every context trained so far, one trace per context
  "average accuracy"  the mean of those accuracies
  "samples"           images from a generative model, when a component has one (see train.monitor)
x is the iteration counted over the whole run.

Training never waits for the server: plots go into a bounded queue that a background thread sends; when the server
is slower than training, the oldest waiting plots are dropped (one line says so). If the server cannot be reached
(at the start or later), does not answer a request within REQUEST_TIMEOUT seconds, or answers with an HTTP error,
one line is printed on stderr and nothing more is sent: training goes on without plots. `close()` (also at exit)
sends what is still queued, waiting at most DRAIN_SECONDS.
"""
import atexit
import collections
import logging
import socket
import sys
import threading
from urllib.parse import urlparse

import numpy as np

CONNECT_TIMEOUT = 2.0  # seconds to wait for the server before going on without it
REQUEST_TIMEOUT = 3.0  # seconds to wait for an answer to one request (a server that accepts but never answers)
QUEUE_SIZE = 100       # plots waiting to be sent; beyond that the oldest are dropped
DRAIN_SECONDS = 5.0    # at close: how long the plots still queued may take


class ServerError(Exception):
    """The server answered a request with an HTTP error (not a RequestException: visdom would hide the status)."""

    def __init__(self, status):
        super().__init__(f"HTTP {status}")
        self.status = status


def _client(**kwargs):
    """A visdom client whose every request has a timeout (visdom's own has none: a silent server hangs it) and
    whose HTTP errors raise (visdom's own returns the error page as if it were an answer)."""
    import visdom

    class Client(visdom.Visdom):
        def _handle_post(self, url, data=None):
            response = self.session.post(url, data={} if data is None else data, timeout=REQUEST_TIMEOUT)
            if response.status_code >= 400:
                raise ServerError(response.status_code)
            return response.text

    return Client(**kwargs)


class VisdomPlots:
    def __init__(self, server, port, env, queue_size=QUEUE_SIZE):
        self.server, self.port, self.env = server, port, env
        self.vis, self.windows = None, set()
        self.queue_size, self.dropped, self.failed, self.closed = queue_size, 0, False, False
        self._pending, self._busy, self._cond = collections.deque(), False, threading.Condition()
        host = urlparse(server if "://" in server else f"http://{server}").hostname or "localhost"
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
        except OSError as e:  # unreachable or refused: go on without plots
            self._give_up(e)
            return
        self._busy = True  # until the sender has connected and cleared the old plots: flush() waits for that too
        self._thread = threading.Thread(target=self._send_all, name="visdom", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _give_up(self, error):
        with self._cond:
            self.vis, self.failed = None, True
            self._pending.clear()
            self._cond.notify_all()
        if isinstance(error, ServerError):
            why = f"the visdom server at {self.server}:{self.port} answered {error}"
        else:
            why = (f"no visdom server at {self.server}:{self.port} answers (unreachable, or no answer within "
                   f"{REQUEST_TIMEOUT:g} s: {type(error).__name__})")
        print(f"warning: {why}; training goes on without live plots", file=sys.stderr, flush=True)

    # ---- the background sender ----
    def _send_all(self):
        if not self._run(self._connect):
            return
        while True:
            with self._cond:
                while not self._pending and not self.closed and not self.failed:
                    self._cond.wait()
                if not self._pending:
                    return
                plot, self._busy = self._pending.popleft(), True
            if not self._run(plot):
                return

    def _connect(self):
        logging.getLogger("visdom").setLevel(logging.ERROR)  # it warns about the socket we do not want
        vis = _client(server=self.server, port=self.port, env=self.env, raise_exceptions=True,
                      use_incoming_socket=False)
        vis.close(win=None, env=self.env)  # a rerun of the same stamp replaces the old plots
        self.vis = vis

    def _run(self, work):
        """Do one piece of the sender's work (busy meanwhile, for flush); False if the server failed it."""
        try:
            work()
            return True
        except Exception as e:  # refused, timed out, or an error from the server
            self._give_up(e)
            return False
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _queue(self, plot):
        """Queue `plot` (a function of no arguments) for the sender; drop the oldest one if the queue is full."""
        with self._cond:
            if self.failed or self.closed:
                return
            first_drop = len(self._pending) >= self.queue_size and self.dropped == 0
            if len(self._pending) >= self.queue_size:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append(plot)
            self._cond.notify_all()
        if first_drop:
            print(f"warning: the visdom server at {self.server}:{self.port} is slower than training: the oldest "
                  f"waiting plots are dropped (training does not wait for it)", file=sys.stderr, flush=True)

    def flush(self, timeout=None):
        """Wait until every queued plot is sent (or the sender gave up); True if so within `timeout` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self.failed or not (self._pending or self._busy), timeout)

    def close(self, timeout=DRAIN_SECONDS):
        """Send what is queued (waiting at most `timeout` seconds), then stop the sender; no plot is taken after."""
        atexit.unregister(self.close)
        if self.failed or self.closed:
            return
        self.flush(timeout)
        with self._cond:
            self.closed = True
            unsent = len(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        if unsent and not self.failed:
            print(f"warning: the visdom server at {self.server}:{self.port} is slow: {unsent} plot(s) still waiting "
                  f"after {timeout:g} s were not sent", file=sys.stderr, flush=True)

    def _draw_line(self, win, t, values, title, ylabel):
        """Append the point (t, value) to the trace `name` of window `win`, for every name: value in values."""
        for name, value in values.items():
            first = win not in self.windows
            opts = dict(title=title, xlabel="iteration", ylabel=ylabel, showlegend=True) if first else None
            self.vis.line(X=np.array([t]), Y=np.array([value]), win=win, env=self.env, name=name,
                          update=None if first else "append", opts=opts)
            self.windows.add(win)

    def _line(self, win, t, values, title, ylabel):
        values = {name: float(value) for name, value in values.items()}
        self._queue(lambda: self._draw_line(win, t, values, title, ylabel))

    # ---- called by train.monitor.Monitor at log points ----
    def losses(self, t, values):
        self._line("loss", t, values, f"training loss ({self.env})", "training loss")

    def accuracies(self, t, row):
        measured = {f"context {j + 1}": a for j, a in enumerate(row) if a is not None}  # (--eval-contexts)
        self._line("accuracy", t, measured, f"test accuracy ({self.env})", "test accuracy")
        self._line("average accuracy", t, {"average": float(np.mean(list(measured.values())))},
                   f"average test accuracy ({self.env})", "test accuracy")

    def samples(self, t, images):
        images = images.detach().cpu().numpy().copy()
        self._queue(lambda: self.vis.images(images, nrow=int(np.ceil(np.sqrt(len(images)))), win="samples",
                                            env=self.env, opts=dict(title=f"samples after {t} iterations "
                                                                          f"({self.env})")))
