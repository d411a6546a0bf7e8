"""Errors a user can fix, and the wrapper that turns every known kind of error into one line and a documented exit
code instead of a traceback.

Exit codes: 0 done; 1 bad or missing data, or an output that could not be written (DataError, OutputError, OSError;
also a closed or full standard output); 2 a bad option (UsageError; argparse's own errors too); 3 training diverged
(Diverged); 130 interrupted (Ctrl-C); 141 the output pipe was closed (`... | head`); 143 terminated (SIGTERM, what
schedulers and `timeout` send: handled as Ctrl-C, claims released).
"""
import errno
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
    `context` and `iteration` count from 1, as the progress bar shows them. `hint` says what to change: the layer
    that knows the command line (cli.options.divergence_hint) names the options this run raised."""
    exit_code = 3

    def __init__(self, context, iteration, hint="try a smaller --lr"):
        self.context, self.iteration, self.hint = context, iteration, hint
        super().__init__(context, iteration)

    def __str__(self):
        return f"training diverged at context {self.context}, iteration {self.iteration}; {self.hint}"


class Interrupted(Exception):
    """Ctrl-C, after the program stopped what it was running; the message says what was kept (exit code 130)."""
    exit_code = 130


ONE_LINE = (UsageError, DataError, OutputError, Diverged, Interrupted)


def _quiet_stdout():
    """After a closed pipe: send what is still buffered for stdout nowhere, so that exiting prints nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1 if sys.stdout is None else sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def os_error_line(e):
    """One line for an OSError that names a file: what failed, on which path."""
    what = e.strerror or type(e).__name__
    if isinstance(e, PermissionError):
        what = "permission denied"
    names = " -> ".join(str(n) for n in (e.filename, getattr(e, "filename2", None)) if n is not None)
    return f"{names}: {what}" if names else what


_TERMINATED = []  # set when SIGTERM arrived: the interruption that follows is reported as such (exit code 143)
STDOUT_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)


def _on_sigterm(signum, frame):
    """SIGTERM stops the program as Ctrl-C does (claims released, one line), with exit code 143."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one: we are already stopping
    _TERMINATED.append(signum)
    raise KeyboardInterrupt


def _say(line):
    """`line` on stderr if there is one (print with file=None would write to stdout)."""
    if sys.stderr is not None:
        try:
            print(line, file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass


def _stdout_closed():
    """True if the program was started with its stdout closed (`>&-`); fd 1 is then given /dev/null, so that no
    file this program opens (a result, a lock) takes its place and receives what is printed."""
    if sys.stdout is not None:
        return False
    try:
        os.fstat(1)
    except OSError:
        _quiet_stdout()
    return True


class _Watched:
    """sys.stdout as it was, remembering the error of a write or flush that failed (a full disk, /dev/full): the
    error run_cli then reports as standard output's."""

    def __init__(self, stream):
        self._stream, self.error = stream, None

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as e:
            self.error = e
            raise

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as e:
            self.error = e
            raise

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _stop_while_starting(signum, frame):
    word, code = ("terminated", 143) if signum == signal.SIGTERM else ("interrupted", 130)
    _say(f"{word} while starting: nothing was run")
    os._exit(code)


def starting():
    """Called by every script before its other imports (torch alone takes seconds): a Ctrl-C or SIGTERM while
    they load ends with one line and the usual code (130, 143), not a traceback. run_cli takes over from there.
    A signal the shell ignores (a background job's SIGINT) stays ignored."""
    for number, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(number) is default:
            signal.signal(number, _stop_while_starting)


def run_cli(main, argv=None):
    """Run `main(argv)`; user-fixable problems end the program with one line on stderr and a non-zero code."""
    if signal.getsignal(signal.SIGINT) is _stop_while_starting:  # (starting(): Ctrl-C is KeyboardInterrupt again)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if _stdout_closed():
        _say("error: standard output is closed (started with >&-): nothing could be shown; nothing was run "
             "(give it a file or /dev/null)")
        sys.exit(1)
    del _TERMINATED[:]
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    stdout = sys.stdout
    sys.stdout = _Watched(stdout)
    try:
        return _run(main, argv, sys.stdout)
    finally:
        if sys.stdout.__class__ is _Watched:
            sys.stdout = stdout
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stopped():
    """('interrupted' | 'terminated', exit code) of a stop by Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: we are already exiting, at once
    return ("terminated", 143) if _TERMINATED else ("interrupted", 130)


def _run(main, argv, stdout):
    try:
        code = main(argv)
        sys.stdout.flush()  # a closed pipe shows here when the output was buffered
        return code
    except ONE_LINE as e:
        word, code = _stopped() if isinstance(e, Interrupted) else ("error", e.exit_code)
        _say(f"{word}: {e}")
        sys.exit(code)
    except BrokenPipeError:  # the reader of our output went away (`./compare.py | head`): stop quietly
        _quiet_stdout()
        sys.exit(141)
    except KeyboardInterrupt:
        word, code = _stopped()
        _say(f"{word}: finished results are on disk; unfinished ones were not written")
        sys.exit(code)
    except MemoryError:
        _say("error: out of memory (try a smaller --batch, or fewer --workers)")
        sys.exit(1)
    except OSError as e:
        if e.filename is None and stdout.error is e and e.errno in STDOUT_FULL:  # `> /dev/full`, a full disk
            _quiet_stdout()
            _say(f"error: could not write to standard output ({e.strerror}); finished results are on disk")
            sys.exit(1)
        if e.filename is None:
            raise
        _say(f"error: {os_error_line(e)}")
        sys.exit(1)
