"""Errors a user can fix, and the wrapper that turns every known kind of error into one line and a documented exit
code instead of a traceback.

Exit codes: 0 done; 1 bad or missing data, or an output that could not be written (DataError, OutputError, OSError);
2 a bad option (UsageError; argparse's own errors too); 3 training diverged (Diverged); 130 interrupted (Ctrl-C);
141 the output pipe was closed (`... | head`).
"""
import os
import signal
import sys


class UsageError(Exception):
    """An impossible flag or flag combination (exit code 2, like argparse)."""
    exit_code = 2


class DataError(Exception):
    """A data file that is missing, truncated or corrupt, or cannot be downloaded (exit code 1)."""
    exit_code = 1


class OutputError(Exception):
    """An output (results, model, plot) that could not be written: a folder that is a file, no permission, a full
    disk (exit code 1)."""
    exit_code = 1


class Diverged(Exception):
    """A non-finite training loss: the run stopped; its result is not a result (exit code 3).
    `context` and `iteration` count from 1, as the progress bar shows them."""
    exit_code = 3

    def __init__(self, context, iteration):
        self.context, self.iteration = context, iteration
        super().__init__(f"training diverged at context {context}, iteration {iteration}; try a smaller --lr")


class Interrupted(Exception):
    """Ctrl-C, after the program stopped what it was running; the message says what was kept (exit code 130)."""
    exit_code = 130


ONE_LINE = (UsageError, DataError, OutputError, Diverged, Interrupted)


def _quiet_stdout():
    """After a closed pipe: send what is still buffered for stdout nowhere, so that exiting prints nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def os_error_line(e):
    """One line for an OSError that names a file: what failed, on which path."""
    what = e.strerror or type(e).__name__
    if isinstance(e, PermissionError):
        what = "permission denied"
    names = " -> ".join(str(n) for n in (e.filename, getattr(e, "filename2", None)) if n is not None)
    return f"{names}: {what}" if names else what


def run_cli(main, argv=None):
    """Run `main(argv)`; user-fixable problems end the program with one line on stderr and a non-zero code."""
    try:
        code = main(argv)
        sys.stdout.flush()  # a closed pipe shows here when the output was buffered
        return code
    except ONE_LINE as e:
        if isinstance(e, Interrupted):
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # what had to stop has stopped: a second Ctrl-C is moot
        print(f"{'interrupted' if isinstance(e, Interrupted) else 'error'}: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except BrokenPipeError:  # the reader of our output went away (`./compare.py | head`): stop quietly
        _quiet_stdout()
        sys.exit(141)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: we are already exiting, at once
        print("interrupted: finished results are on disk; unfinished ones were not written", file=sys.stderr)
        sys.exit(130)
    except MemoryError:
        print("error: out of memory (try a smaller --batch, or fewer --workers)", file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        if e.filename is None:
            raise
        print(f"error: {os_error_line(e)}", file=sys.stderr)
        sys.exit(1)
