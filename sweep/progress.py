"""A sweep's one progress bar: runs done / total, failed, and the ETA from the runs' estimates (sweep.cost).

The ETA is the estimated seconds still to run, on the runs running at a time, scaled by how the finished runs of
this sweep compared with their estimates. Off a terminal the bar shows nothing: the one line per finished run,
which is printed either way, is the record.
"""
import sys

from tqdm import tqdm

from sweep.cost import duration


class Progress:
    def __init__(self, estimates, parallel, stream=None):
        """estimates: {path: seconds} of the runs to compute; parallel: runs at a time."""
        stream = sys.stderr if stream is None else stream
        self.left = dict(estimates)
        self.parallel = max(1, parallel)
        self.failed = 0
        self.spent = self.expected = 0.0  # seconds of the finished runs: measured, estimated
        self.bar = tqdm(total=len(estimates), unit="run", file=stream, dynamic_ncols=True, leave=True,
                        disable=not (hasattr(stream, "isatty") and stream.isatty()),
                        bar_format="sweep {n_fmt}/{total_fmt} runs |{bar}| {postfix}")
        self._show()

    def eta(self):
        scale = self.spent / self.expected if self.spent > 0 and self.expected > 0 else 1.0
        return scale * sum(self.left.values()) / self.parallel

    def _show(self):
        self.bar.set_postfix_str(f"{self.failed} failed, ETA {duration(self.eta())}", refresh=True)

    def say(self, line):
        """Print a line above the bar (stdout)."""
        if self.bar.disable:
            print(line, flush=True)
        else:
            self.bar.write(line, file=sys.stdout)

    def finished(self, path, seconds=None, failed=False):
        """A run of the sweep ended (seconds: its measured time, if it finished)."""
        estimate = self.left.pop(path, None)
        if estimate is None:
            return
        if failed:
            self.failed += 1
        elif seconds is not None:
            self.spent += seconds
            self.expected += estimate
        self.bar.update(1)
        self._show()

    def close(self):
        self.bar.close()
