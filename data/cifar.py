"""CIFAR-10 and CIFAR-100 from the official python-pickle batches, as an extracted folder or the .tar.gz."""
import os
import pickle
import tarfile

import numpy as np
import torch

from data.files import check_folder, download
from utils.errors import DataError

SPEC = {
    10: dict(folder="cifar-10-batches-py", archive="cifar-10-python.tar.gz",
             url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", md5="c58f30108f718f92721af3b95e74349a",
             train=[f"data_batch_{i}" for i in range(1, 6)], test=["test_batch"], label_key=b"labels",
             n_train=50000, n_test=10000),
    100: dict(folder="cifar-100-python", archive="cifar-100-python.tar.gz",
              url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", md5="eb9058c3a382ffc7106e4002c42a8d85",
              train=["train"], test=["test"], label_key=b"fine_labels", n_train=50000, n_test=10000),
}


def _unpickle(blob, name):
    try:
        return pickle.loads(blob, encoding="bytes")
    except Exception as e:  # a truncated or foreign pickle raises many kinds of errors
        raise DataError(f"{name} is not a readable CIFAR batch ({type(e).__name__}): corrupt file") from None


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except PermissionError:
        raise DataError(f"cannot read {path}: permission denied") from None
    except OSError as e:
        raise DataError(f"cannot read {path} ({e.strerror or type(e).__name__})") from None


def _batches(data_dir, spec, names, what):
    """Yield (name, bytes) of the batches, from the extracted folder if there, else from the archive."""
    folder = os.path.join(data_dir, spec["folder"])
    for f in (data_dir, folder):
        check_folder(f)
    if all(os.path.exists(os.path.join(folder, n)) for n in names):
        for n in names:
            yield os.path.join(folder, n), _read(os.path.join(folder, n))
        return
    archive = os.path.join(data_dir, spec["archive"])
    if not os.path.exists(archive):
        try:
            download(spec["url"], archive, spec["md5"])
        except DataError as e:
            raise DataError(f"{what} not found: expected {folder}/ "
                            f"({', '.join(names)}) or {archive}, and {e}") from None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for n in names:
                member = tar.extractfile(f"{spec['folder']}/{n}")
                if member is None:
                    raise DataError(f"{archive}: {spec['folder']}/{n} is not a file: not a CIFAR archive")
                yield f"{archive}:{n}", member.read()
    except (tarfile.TarError, KeyError, OSError, EOFError, ValueError) as e:
        raise DataError(f"{archive} is not a complete CIFAR archive ({type(e).__name__}: {e})") from None


def _array(value, name, what, ndim):
    """`value` as an integer numpy array of `ndim` dimensions, or a DataError naming what is wrong."""
    try:
        a = np.asarray(value)
    except Exception:
        a = None
    if a is None or a.dtype == object or not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool) \
            or a.ndim != ndim:
        kind = type(value).__name__ if a is None else f"{type(value).__name__} of {a.dtype}, {a.ndim} dimension(s)"
        raise DataError(f"{name}: its {what} is a {kind}, not {ndim}-dimensional integers: not a CIFAR batch")
    return a


def check_batch(d, name, classes, label_key):
    """(images uint8 [n, 3072], labels int64 [n]) of one unpickled batch, checked against the format."""
    if not isinstance(d, dict):
        raise DataError(f"{name} holds a {type(d).__name__}, not the dictionary of a CIFAR batch")
    key = label_key.decode()
    if b"data" not in d or label_key not in d:
        raise DataError(f"{name} lacks the 'data' or '{key}' entry of a CIFAR-{classes} batch")
    x = _array(d[b"data"], name, "'data'", 2)
    y = _array(d[label_key], name, f"'{key}'", 1)
    if x.shape[0] == 0:
        raise DataError(f"{name} holds no images: empty batch")
    if x.shape[1] != 3072 or x.shape[0] != y.shape[0]:
        raise DataError(f"{name} has data of shape {x.shape} for {y.shape[0]} labels (expected n x 3072 for n "
                        f"labels): corrupt batch")
    if x.min() < 0 or x.max() > 255:
        raise DataError(f"{name} has pixel values outside 0-255: corrupt batch")
    if y.min() < 0 or y.max() >= classes:
        raise DataError(f"{name} has labels outside 0-{classes - 1}: corrupt batch")
    return x.astype(np.uint8), y.astype(np.int64)


def load_cifar(data_dir, classes=10, train=True):
    """Returns (images uint8 [N,3,32,32], labels int64 [N]); any batch files of the right format are accepted."""
    spec = SPEC[classes]
    names = spec["train"] if train else spec["test"]
    xs, ys = [], []
    for name, blob in _batches(data_dir, spec, names, f"CIFAR-{classes}"):
        x, y = check_batch(_unpickle(blob, name), name, classes, spec["label_key"])
        xs.append(x)
        ys.append(y)
    x = torch.from_numpy(np.concatenate(xs).reshape(-1, 3, 32, 32))
    return x, torch.from_numpy(np.concatenate(ys))
