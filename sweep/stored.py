"""Stored results of a sweep's runs: which can be reused, and claims (lock files) so that two sweeps on one results
folder never compute the same run twice.

A stored <stamp>.json is reused only when it is the complete record of a training run (train.experiment's
RECORD_FIELDS, an accuracy matrix of the right shape, finite accuracies) made the same way as this sweep would make
it: the same torch thread count, device type and torch version, which decide the numbers bit for bit. Anything else
is rerun, with a note saying why. A stored diverged run is a failed run, not a result.

A record must also agree with itself and with its name: the summary (average accuracy, forgetting, ...) is what its
accuracy matrix gives (eval.metrics.summarise), and its options give the stamp it is stored under (a record copied
or edited by hand does not). Records of runs with conv layers made before the layers had the paper's biases (no
"conv_bias" field), and records without the marks their methods' current architecture puts in every record
(Component.record_marks: the VAEs without a log-variance bias), are rerun: their architecture is not the one this
code runs.
"""
import argparse
import fcntl
import math
import os
import socket
import time

from cli.stamp import param_stamp
from eval.metrics import summarise
from methods import record_marks
from train.record import RECORD_FIELDS
from utils import io
from utils.errors import OutputError


def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _matrix_problem(matrix, contexts, one_phase):
    if not isinstance(matrix, list) or not all(isinstance(row, list) for row in matrix):
        return "its accuracy matrix is not a list of rows"
    rows = 1 if one_phase else contexts
    if len(matrix) != rows or any(len(row) != contexts for row in matrix):
        return f"its accuracy matrix is not {rows} x {contexts}"
    if not all(_number(a) and 0 <= a <= 1 for row in matrix for a in row):
        return "its accuracy matrix holds values that are not accuracies"
    return None


def _summary_problem(record):
    """The first summary field that is not what the accuracy matrix gives, as a reason; None if all agree."""
    for key, value in summarise(record["accuracy_matrix"]).items():
        stored = record.get(key, value) if key != "average_accuracy" else record[key]
        if isinstance(value, list):
            same = isinstance(stored, list) and len(stored) == len(value) and all(map(_close, stored, value))
        else:
            same = _close(stored, value)
        if not same:
            return f"its {key.replace('_', ' ')} ({stored}) is not what its accuracy matrix gives ({value})"
    return None


def _close(a, b):
    return _number(a) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _stamp_problem(options, stamp, args):
    """A reason if the stored options do not give `stamp` (they are laid over `args`, the options this sweep runs
    with, so that an option added since the record was made takes its value from the sweep)."""
    if args is None:
        return None
    try:
        theirs = param_stamp(argparse.Namespace(**{**vars(args), **options}))
    except Exception as e:
        return f"its options do not make a stamp ({type(e).__name__})"
    if theirs != stamp:
        return f"its options are not the ones its name says (they make {theirs})"
    return None


def inspect(path, stamp, expect, args=None):
    """('done', record) | ('diverged', record) | ('rerun', reason) | ('missing', None) for the stored result `path`
    of the run `stamp`. expect: {'threads', 'device', 'torch'} of this sweep ({} or None: not checked). args: the
    options this sweep runs it with (None: its stored options are not checked against the stamp)."""
    if not os.path.exists(path):
        return "missing", None
    try:
        record = io.read_json(path)
    except (OSError, ValueError) as e:
        return "rerun", f"it is not readable JSON ({type(e).__name__})"
    if not isinstance(record, dict):
        return "rerun", "it is not a results record"
    diverged = record.get("status") == "diverged"
    missing = [k for k in RECORD_FIELDS if k not in record and not (diverged and k == "average_accuracy")]
    if missing:
        return "rerun", f"it lacks {', '.join(missing)} (an unfinished or foreign record)"
    if record["stamp"] != stamp or record["record"] != "training":
        return "rerun", "it is not this run's training record"
    options = record["options"]
    if not isinstance(options, dict) or not isinstance(options.get("contexts"), int):
        return "rerun", "its options are not a run's options"
    problem = _stamp_problem(options, stamp, args)
    if problem:
        return "rerun", problem
    if isinstance(options.get("depth"), int) and options["depth"] > 0 and record.get("conv_bias") is not True:
        return "rerun", "it was made before the conv layers had the paper's biases (another architecture)"
    for field, value in (record_marks(args) if args is not None else {}).items():  # args make the same stamp
        theirs = record.get(field, "none")
        if theirs != value:
            return "rerun", (f"it was made by another architecture of its method (its record has {field} {theirs}, "
                             f"this code's {value})")
    made = {"threads": record["threads"], "device": str(record["device"]).split(":")[0],
            "torch": record["versions"].get("torch") if isinstance(record["versions"], dict) else None}
    for key, want in (expect or {}).items():
        if made.get(key) != want:
            return "rerun", f"it was made with {key} {made.get(key)}, this sweep uses {want}"
    if diverged:
        return "diverged", record
    if record["status"] != "finished":
        return "rerun", f"its status is {record['status']!r}"
    # joint training, a task-free stream (records stored before options had task_free have the stream's options)
    one_phase = bool(options.get("joint")) or options.get("task_free", "stream" in options)
    problem = _matrix_problem(record["accuracy_matrix"], options["contexts"], one_phase)
    if problem is None and not _number(record["average_accuracy"]):
        problem = "its average accuracy is not a number"
    if problem is None:
        problem = _summary_problem(record)
    if problem is None and not (isinstance(record["seconds"], dict) and _number(record["seconds"].get("total"))):
        problem = "it has no total time"
    if problem:
        return "rerun", problem
    return "done", record


def diverged_message(record, hint="try a smaller --lr"):
    d = record.get("diverged") or {}
    return (f"training diverged at context {d.get('context', '?')}, iteration {d.get('iteration', '?')} "
            f"(stored result; {hint})")


class Claim:
    """<stamp>.lock next to a run's result: held (fcntl.flock) by the sweep computing the run, so that another
    sweep waits for it instead of computing it again. The kernel releases the lock when its holder exits, however
    it exits; a lock file left by a holder that died is detected as stale and taken over."""

    def __init__(self, result_path):
        self.path = result_path[:-len(".json")] + ".lock" if result_path.endswith(".json") else result_path + ".lock"
        self.fd, self.stale = None, None

    def acquire(self):
        """True if this process now holds the claim; False if another live process does."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder removed the file between our open and our lock: try the new one
        try:
            left = os.read(fd, 200).decode(errors="replace").split()
            if left:  # written by a holder that is gone (a live holder would still hold the flock)
                self.stale = " ".join(left)
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode())
        except OSError as e:  # a full disk: no claim, and no empty lock file left behind
            self.fd = fd
            self.release()
            raise OutputError(f"could not write the claim {self.path} ({e.strerror or type(e).__name__})") from None
        self.fd = fd
        return True

    def holder(self):
        """'pid host' of the process holding the claim, as written in the lock file ('' if unknown)."""
        try:
            with open(self.path) as f:
                return " ".join(f.read().split()[:2])
        except OSError:
            return ""

    def release(self):
        if self.fd is None:
            return
        try:
            if os.fstat(self.fd).st_ino == os.stat(self.path).st_ino:
                os.remove(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None
