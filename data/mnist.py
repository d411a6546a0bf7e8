"""MNIST from the official IDX files (gzipped or not)."""
import gzip
import os

import numpy as np
import torch

from data.files import fetch_missing
from utils.errors import DataError

MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_MAGIC = {2049: 1, 2051: 3}  # labels: 1 dimension, images: 3 dimensions (uint8 data)


def read_idx(path):
    """Parse one IDX file of unsigned bytes; any mismatch between header and size is an error."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path} is unreadable or truncated ({e})") from None
    if len(raw) < 8:
        raise DataError(f"{path} is too short to be an IDX file")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in _MAGIC:
        raise DataError(f"{path} has bad magic number {magic} (not an MNIST IDX file)")
    ndim = _MAGIC[magic]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise DataError(f"{path} holds {len(raw) - offset} bytes of data, header says {expected}: corrupt file")
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims).copy())


def _find(raw_dir, stem):
    for name in (stem + ".gz", stem):
        if os.path.exists(os.path.join(raw_dir, name)):
            return os.path.join(raw_dir, name)
    return None


def load_mnist(data_dir, train=True):
    """Returns (images uint8 [N,1,28,28], labels int64 [N])."""
    raw_dir = os.path.join(data_dir, "MNIST", "raw")
    prefix = "train" if train else "t10k"
    stems = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
    if any(_find(raw_dir, s) is None for s in stems):
        fetch_missing(raw_dir, [(s + ".gz", MIRROR + s + ".gz", FILES[s + ".gz"]) for s in stems], "MNIST")
    images = read_idx(_find(raw_dir, stems[0]))
    labels = read_idx(_find(raw_dir, stems[1]))
    if images.dim() != 3 or labels.dim() != 1 or images.shape[0] != labels.shape[0]:
        raise DataError(f"MNIST files in {raw_dir} do not match: {tuple(images.shape)} images, "
                        f"{tuple(labels.shape)} labels")
    if int(labels.max()) > 9:
        raise DataError(f"MNIST labels in {raw_dir} outside 0-9: corrupt file")
    return images.unsqueeze(1), labels.long()
