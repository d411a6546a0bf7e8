"""Finding data files on disk, and downloading the official archives (md5 checked) when they are missing."""
import hashlib
import os
import urllib.request

from utils import io
from utils.errors import DataError


def check_folder(folder):
    """A data folder that exists but is a file, or cannot be read, is reported as such (not as missing files,
    which would start a download, nor as unwritable)."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise DataError(f"data folder {folder} is a file, not a folder")
    if os.path.isdir(folder) and not os.access(folder, os.R_OK | os.X_OK):
        raise DataError(f"cannot read data folder {folder}: permission denied")


def md5sum(path, chunk=1 << 20):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def download(url, path, md5):
    """Fetch `url` to `path` atomically (utils.io.write_atomic). The connection is made before anything is
    created on disk: a failed download or a wrong md5 leaves nothing behind, not even a folder."""
    try:
        response = urllib.request.urlopen(url, timeout=30)
    except (OSError, ValueError) as e:
        raise DataError(f"could not download {url} ({getattr(e, 'reason', e)})") from None

    def write(f):
        h = hashlib.md5()
        try:
            for block in iter(lambda: response.read(1 << 20), b""):
                h.update(block)
                f.write(block)
        except (OSError, ValueError) as e:
            raise DataError(f"could not download {url} ({getattr(e, 'reason', e)})") from None
        if h.hexdigest() != md5:
            raise DataError(f"downloaded {os.path.basename(path)} has md5 {h.hexdigest()}, expected {md5}: "
                            f"corrupt download")

    folder = os.path.dirname(path) or "."
    created = _missing_parents(folder)
    try:
        with response:
            io.write_atomic(path, write)
    except BaseException:
        for d in created:  # deepest first: only the folders this download made, and only if still empty
            try:
                os.rmdir(d)
            except OSError:
                break
        raise


def _missing_parents(folder):
    """The folders that creating `folder` would make, deepest first."""
    out = []
    folder = os.path.abspath(folder)
    while not os.path.exists(folder):
        out.append(folder)
        folder = os.path.dirname(folder)
    return out


def fetch_missing(folder, files, what, expected=None):
    """Make sure every (name, url, md5) in `files` exists in `folder`, downloading those that are missing.
    expected: every file name the data set needs there, for the message when a download fails."""
    names = expected or [n for n, _, _ in files]
    for name, url, md5 in files:
        if os.path.exists(os.path.join(folder, name)):
            continue
        try:
            download(url, os.path.join(folder, name), md5)
        except DataError as e:
            raise DataError(f"{what} not found in {folder} (expected {', '.join(names)}) and {e}") from None
