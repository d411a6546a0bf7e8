"""Atomic writes: a result file either exists complete or not at all, whatever interrupts the run."""
import json
import os
import tempfile

import torch


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path, write):
    """Call write(binary file) on a temporary file beside `path`, then move it into place."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; results are ordinary files
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, obj):
    write_atomic(path, lambda f: f.write(json.dumps(obj, indent=1, default=str).encode()))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def save_torch(path, obj):
    write_atomic(path, lambda f: torch.save(obj, f))


def check_writable(folder):
    """Fail early (before training) if results cannot be written there."""
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".probe-")
    os.close(fd)
    os.remove(tmp)
