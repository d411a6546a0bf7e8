"""Finding data files on disk, and downloading the official archives (md5 checked) when they are missing."""
import hashlib
import os
import urllib.request

from utils import io
from utils.errors import DataError


def md5sum(path, chunk=1 << 20):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def download(url, path, md5):
    """Fetch `url` to `path` atomically (utils.io.write_atomic); a failed download or a wrong md5 leaves nothing
    behind."""
    def write(f):
        h = hashlib.md5()
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                for block in iter(lambda: r.read(1 << 20), b""):
                    h.update(block)
                    f.write(block)
        except (OSError, ValueError) as e:
            raise DataError(f"could not download {url} ({getattr(e, 'reason', e)})") from None
        if h.hexdigest() != md5:
            raise DataError(f"downloaded {os.path.basename(path)} has md5 {h.hexdigest()}, expected {md5}: "
                            f"corrupt download")

    io.write_atomic(path, write)


def fetch_missing(folder, files, what):
    """Make sure every (name, url, md5) in `files` exists in `folder`, downloading those that do not."""
    missing = [(n, u, m) for n, u, m in files if not os.path.exists(os.path.join(folder, n))]
    for name, url, md5 in missing:
        try:
            download(url, os.path.join(folder, name), md5)
        except DataError as e:
            raise DataError(f"{what} not found in {folder} (expected {', '.join(n for n, _, _ in files)}) "
                            f"and {e}") from None
