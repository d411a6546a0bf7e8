"""Atomic writes: a result file either exists complete or not at all, whatever interrupts the run."""
import json
import math
import os
import tempfile

import torch

from utils.errors import OutputError, os_error_line


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _os_error(e):
    """The OSError behind `e` (itself, or what it was raised while handling: torch.save reports a failed write as
    a RuntimeError), or None."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, OSError):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def write_atomic(path, write):
    """Call write(binary file) on a temporary file beside `path`, then move it into place."""
    folder = os.path.dirname(path) or "."
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; results are ordinary files
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except Exception as e:  # a full disk, a file too large, no permission: one line naming the file
        cause = _os_error(e)
        if cause is None:
            raise
        raise OutputError(f"could not write {path} ({cause.strerror or type(cause).__name__})") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def strict(obj):
    """`obj` with every non-finite float (NaN, +-inf, also numpy's) as None: what strict JSON can hold."""
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if isinstance(obj, float) or type(obj).__name__.startswith("float"):
        try:
            return float(obj) if math.isfinite(obj) else None
        except TypeError:
            return obj
    return obj


def write_json(path, obj):
    """Strict JSON (no bare NaN or Infinity: any parser reads it), written atomically."""
    text = json.dumps(strict(obj), indent=1, default=str, allow_nan=False)
    write_atomic(path, lambda f: f.write(text.encode()))


def _refuse_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def read_json(path):
    """Strict JSON only: a file with NaN or Infinity raises ValueError like any other malformed file."""
    with open(path) as f:
        return json.load(f, parse_constant=_refuse_constant)


def save_torch(path, obj):
    write_atomic(path, lambda f: torch.save(obj, f))


def check_writable(folder, what="output folder"):
    """Fail early (before training), with one line naming the option, if files cannot be written in `folder`."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise OutputError(f"{what} {folder} is a file, not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".probe-")
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        raise OutputError(f"cannot write in {what} {folder} ({os_error_line(e)})") from None
