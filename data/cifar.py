"""CIFAR-10 and CIFAR-100 from the official python-pickle batches, as an extracted folder or the .tar.gz."""
import io
import os
import pickle
import tarfile

import numpy as np
import torch

from data.files import download
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


def _batches(data_dir, spec, names, what):
    """Yield (name, bytes) of the batches, from the extracted folder if there, else from the archive."""
    folder = os.path.join(data_dir, spec["folder"])
    if all(os.path.exists(os.path.join(folder, n)) for n in names):
        for n in names:
            with open(os.path.join(folder, n), "rb") as f:
                yield os.path.join(folder, n), f.read()
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
                yield f"{archive}:{n}", member.read()
    except (tarfile.TarError, KeyError, OSError, EOFError) as e:
        raise DataError(f"{archive} is not a complete CIFAR archive ({e})") from None


def load_cifar(data_dir, classes=10, train=True):
    """Returns (images uint8 [N,3,32,32], labels int64 [N]); any batch files of the right format are accepted."""
    spec = SPEC[classes]
    names = spec["train"] if train else spec["test"]
    xs, ys = [], []
    for name, blob in _batches(data_dir, spec, names, f"CIFAR-{classes}"):
        d = _unpickle(blob, name)
        if b"data" not in d or spec["label_key"] not in d:
            raise DataError(f"{name} lacks the 'data' or labels entry of a CIFAR-{classes} batch")
        x = np.asarray(d[b"data"], dtype=np.uint8)
        y = np.asarray(d[spec["label_key"]], dtype=np.int64)
        if x.ndim != 2 or x.shape[1] != 3072 or x.shape[0] != y.shape[0]:
            raise DataError(f"{name} has data of shape {x.shape} for {y.shape[0]} labels: corrupt batch")
        if y.min() < 0 or y.max() >= classes:
            raise DataError(f"{name} has labels outside 0-{classes - 1}: corrupt batch")
        xs.append(x)
        ys.append(y)
    x = torch.from_numpy(np.concatenate(xs).reshape(-1, 3, 32, 32))
    return x, torch.from_numpy(np.concatenate(ys))
