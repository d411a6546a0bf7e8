"""Live plots in a running visdom server (`python -m visdom.server`), as the paper's code draws them.

One visdom environment per run, named by its parameter stamp (a rerun with the same stamp starts it afresh). Windows:
  "loss"              training loss, one trace per loss term ('current' and each component's terms)
  "accuracy"          test accuracy on --acc-n samples of every context trained so far, one trace per context
  "average accuracy"  the mean of those accuracies
  "samples"           images from a generative model, when a component has one (see train.monitor)
x is the iteration counted over the whole run. If the server cannot be reached (at the start or later), or does not
answer a request within REQUEST_TIMEOUT seconds, one line is printed on stderr and training goes on without plots.
"""
import logging
import socket
import sys
from urllib.parse import urlparse

import numpy as np

CONNECT_TIMEOUT = 2.0  # seconds to wait for the server before going on without it
REQUEST_TIMEOUT = 3.0  # seconds to wait for an answer to one request (a server that accepts but never answers)


def _client(**kwargs):
    """A visdom client whose every request has a timeout (visdom's own has none: a silent server hangs it)."""
    import visdom

    class Client(visdom.Visdom):
        def _handle_post(self, url, data=None):
            return self.session.post(url, data={} if data is None else data, timeout=REQUEST_TIMEOUT).text

    return Client(**kwargs)


class VisdomPlots:
    def __init__(self, server, port, env):
        self.server, self.port, self.env = server, port, env
        self.vis, self.windows = None, set()
        host = urlparse(server if "://" in server else f"http://{server}").hostname or "localhost"
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
            logging.getLogger("visdom").setLevel(logging.ERROR)  # it warns about the socket we do not want
            self.vis = _client(server=server, port=port, env=env, raise_exceptions=True, use_incoming_socket=False)
            self.vis.close(win=None, env=env)  # a rerun of the same stamp replaces the old plots
        except Exception as e:  # unreachable, refused, or an error from the server: go on without plots
            self._give_up(e)

    def _give_up(self, error):
        self.vis = None
        print(f"warning: no visdom server at {self.server}:{self.port} answers (unreachable, or no answer within "
              f"{REQUEST_TIMEOUT:g} s: {type(error).__name__}); "
              f"training goes on without live plots", file=sys.stderr, flush=True)

    def _send(self, plot, *args, **kwargs):
        if self.vis is None:
            return
        try:
            plot(*args, **kwargs)
        except Exception as e:
            self._give_up(e)

    def _line(self, win, t, values, title, ylabel):
        """Append the point (t, value) to the trace `name` of window `win`, for every name: value in values."""
        for name, value in values.items():
            if self.vis is None:
                return
            first = win not in self.windows
            opts = dict(title=title, xlabel="iteration", ylabel=ylabel, showlegend=True) if first else None
            self._send(self.vis.line, X=np.array([t]), Y=np.array([value]), win=win, env=self.env, name=name,
                       update=None if first else "append", opts=opts)
            self.windows.add(win)

    # ---- called by train.monitor.Monitor at log points ----
    def losses(self, t, values):
        self._line("loss", t, values, f"training loss ({self.env})", "training loss")

    def accuracies(self, t, row):
        self._line("accuracy", t, {f"context {j + 1}": a for j, a in enumerate(row)},
                   f"test accuracy ({self.env})", "test accuracy")
        self._line("average accuracy", t, {"average": float(np.mean(row))},
                   f"average test accuracy ({self.env})", "test accuracy")

    def samples(self, t, images):
        if self.vis is None:
            return
        self._send(self.vis.images, images.numpy(), nrow=int(np.ceil(np.sqrt(len(images)))), win="samples",
                   env=self.env, opts=dict(title=f"samples after {t} iterations ({self.env})"))
