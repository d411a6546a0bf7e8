"""Atomic writes: a result file either exists complete or not at all, whatever interrupts the run.

A file is written as a hidden temporary file beside it, `.tmp-<pid>-<host>-...`, then moved into place. A writer
killed in between (kill -9) leaves its temporary file; clean_temporary() removes those of writers that are gone
(named by their pid, on this host), never a live writer's."""
import json
import math
import os
import re
import socket
import tempfile
import zlib

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


def _host():
    """A short tag of this host: a pid names a live writer only on the host where it runs (a shared folder)."""
    return f"{zlib.crc32(socket.gethostname().encode()):08x}"


def temporary_prefix():
    """The prefix of this process's temporary files: its pid and host, so a later run can tell if the writer lives."""
    return f".tmp-{os.getpid()}-{_host()}-"


TEMPORARY = re.compile(r"\.tmp-(\d+)-([0-9a-f]{8})-")
TEMPORARY_EXTRA = len(".tmp-4194304-00000000-") + 8  # what a temporary name adds to the name it is written for


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists (another user's process)
        return True
    return True


def clean_temporary(folder):
    """Remove the temporary files that writers on this host which are gone (killed while writing) left in
    `folder`; returns how many. Files of live writers, of other hosts, and others are left alone."""
    removed = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    host = _host()
    for name in names:
        m = TEMPORARY.match(name)
        if m and m.group(2) == host and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            try:
                os.remove(os.path.join(folder, name))
                removed += 1
            except OSError:
                pass
    return removed


def write_atomic(path, write):
    """Call write(binary file) on a temporary file beside `path`, then move it into place."""
    folder = os.path.dirname(path) or "."
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=temporary_prefix(), suffix=os.path.basename(path))
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


def check_writable(folder, what="output folder", names=()):
    """Fail early (before training), with one line naming the option, if files cannot be written in `folder`: a
    small file is written (to the disk: a full disk fails here, not after training) and removed. `names`: the files
    the run will write there, whose names must fit the file system's limits (NAME_MAX, PATH_MAX). Temporary files
    of writers that are gone are removed (clean_temporary)."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise OutputError(f"{what} {folder} is a file, not a folder")
    check_names(folder, what, names)
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        clean_temporary(folder)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=temporary_prefix(), suffix="probe")
        try:
            data = b"probe\n" * 700  # some kilobytes: a disk with no block free refuses them
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.remove(tmp)
        tmp = None
    except OSError as e:
        raise OutputError(f"cannot write in {what} {folder} ({os_error_line(e)})") from None
    finally:
        if tmp is not None:
            try:
                os.remove(tmp)
            except OSError:
                pass


def _limit(folder, name, default):
    while folder and not os.path.isdir(folder):  # the nearest existing folder (the rest will be made)
        folder = os.path.dirname(folder)
    try:
        return os.pathconf(folder or ".", name)
    except (OSError, ValueError):
        return default


def check_names(folder, what, names):
    """One line if a file `name` in `folder` (with its temporary name while written) would be too long a name or
    path for the file system: checked before training, not found when the result is written."""
    longest = max((len(os.fsencode(n)) for n in names), default=0)
    if not longest:
        return
    full = len(os.fsencode(os.path.abspath(folder))) + 1 + longest + TEMPORARY_EXTRA
    name_max, path_max = _limit(folder, "PC_NAME_MAX", 255), _limit(folder, "PC_PATH_MAX", 4096)
    if longest + TEMPORARY_EXTRA > name_max:
        raise OutputError(f"{what}: a file name of this run would be {longest + TEMPORARY_EXTRA} bytes while written, "
                          f"more than the {name_max} the file system allows")
    if full >= path_max:
        raise OutputError(f"{what} is too long a path: with this run's file names it would be {full} bytes, "
                          f"more than the {path_max - 1} the system allows (choose a shorter folder)")
