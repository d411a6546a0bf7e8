"""MNIST from the official IDX files (gzipped or not)."""
import gzip
import os

import numpy as np
import torch

from data.files import check_folder, fetch_missing
from utils.errors import DataError

MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_MAGIC = {2049: 1, 2051: 3}  # labels: 1 dimension, images: 3 dimensions (uint8 data)
IMAGE = (28, 28)


def read_idx(path):
    """Parse one IDX file of unsigned bytes; any mismatch between header and size is an error."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except PermissionError:
        raise DataError(f"cannot read {path}: permission denied") from None
    except (OSError, EOFError, ValueError) as e:  # gzip: BadGzipFile (an OSError), EOFError, zlib errors
        raise DataError(f"{path} is unreadable or truncated ({type(e).__name__}: {e})") from None
    if len(raw) < 8:
        raise DataError(f"{path} is too short to be an IDX file")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in _MAGIC:
        raise DataError(f"{path} has bad magic number {magic} (not an MNIST IDX file)")
    ndim = _MAGIC[magic]
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise DataError(f"{path} is too short for its IDX header: corrupt file")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims, dtype=np.int64))
    if len(raw) - offset != expected:
        raise DataError(f"{path} holds {len(raw) - offset} bytes of data, header says {expected}: corrupt file")
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims).copy())


def _find(raw_dir, stem):
    for name in (stem + ".gz", stem):
        if os.path.exists(os.path.join(raw_dir, name)):
            return os.path.join(raw_dir, name)
    return None


def _items(path):
    """The item count in an IDX file's header (reading only the header), or None if it has none."""
    try:
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            head = f.read(8)
    except (OSError, EOFError, ValueError):
        return None
    return int.from_bytes(head[4:8], "big") if len(head) == 8 else None


def _check_not_swapped(raw_dir, train, n):
    """A training set smaller than the test set (real MNIST: 60000 and 10000) means the two were swapped: training
    on the test set would go unnoticed and every test accuracy would be measured on training images."""
    other = _find(raw_dir, f"{'t10k' if train else 'train'}-images-idx3-ubyte")
    m = _items(other) if other else None
    n_train, n_test = (n, m) if train else (m, n)
    if m is not None and n_train < n_test:
        raise DataError(f"MNIST in {raw_dir}: the training files (train-*) hold {n_train} images and the test files "
                        f"(t10k-*) {n_test}: train and test files look swapped")


def load_mnist(data_dir, train=True):
    """Returns (images uint8 [N,1,28,28], labels int64 [N]), checked against the format: the magic numbers,
    28x28 images, at least one item, as many labels as images, labels 0-9, more training than test images."""
    raw_dir = os.path.join(data_dir, "MNIST", "raw")
    for folder in (data_dir, os.path.join(data_dir, "MNIST"), raw_dir):
        check_folder(folder)
    prefix = "train" if train else "t10k"
    stems = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
    every = [f"{p}-{k}" for p in ("train", "t10k") for k in ("images-idx3-ubyte", "labels-idx1-ubyte")]
    if any(_find(raw_dir, s) is None for s in stems):  # fetch all four files: a run reads both sets
        fetch_missing(raw_dir, [(s + ".gz", MIRROR + s + ".gz", FILES[s + ".gz"]) for s in every
                                if _find(raw_dir, s) is None], "MNIST", [s + ".gz" for s in every])
    image_path, label_path = _find(raw_dir, stems[0]), _find(raw_dir, stems[1])
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.dim() != 3:
        raise DataError(f"{image_path} holds labels, not images (magic number 2049): files swapped?")
    if labels.dim() != 1:
        raise DataError(f"{label_path} holds images, not labels (magic number 2051): files swapped?")
    if tuple(images.shape[1:]) != IMAGE:
        raise DataError(f"{image_path} holds images of {images.shape[1]}x{images.shape[2]} pixels, not 28x28: "
                        f"not MNIST")
    if images.shape[0] == 0:
        raise DataError(f"{image_path} holds no images")
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"MNIST files in {raw_dir} do not match: {images.shape[0]} images, "
                        f"{labels.shape[0]} labels")
    if int(labels.max()) > 9:
        raise DataError(f"{label_path} has labels outside 0-9: corrupt file")
    _check_not_swapped(raw_dir, train, images.shape[0])
    return images.unsqueeze(1), labels.long()
