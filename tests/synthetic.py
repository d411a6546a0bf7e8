"""Small, learnable datasets written in the official file formats (MNIST IDX .gz, CIFAR python pickles)."""
import gzip
import os
import pickle
import struct

import numpy as np


def _images(labels, shape, rng):
    """Each class gets its own bright block on a noisy background, so a small net can tell classes apart."""
    n = len(labels)
    images = rng.integers(0, 60, size=(n,) + shape, dtype=np.uint8)
    side = shape[-1]
    for k, label in enumerate(labels):
        r, c = divmod(int(label) % 100, 10)
        r0, c0 = (r * side) // 10, (c * side) // 10
        block = (Ellipsis, slice(r0, r0 + max(side // 5, 2)), slice(c0, c0 + max(side // 5, 2)))
        images[k][block] = 255
    return images


def write_idx(path, array):
    magic = 2049 if array.ndim == 1 else 2051
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_mnist(root, n_train=100, n_test=30, seed=0):
    """n_train / n_test samples per class."""
    rng = np.random.default_rng(seed)
    raw = os.path.join(root, "MNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.permutation(np.repeat(np.arange(10), n)).astype(np.uint8)
        write_idx(os.path.join(raw, f"{prefix}-images-idx3-ubyte.gz"), _images(labels, (28, 28), rng))
        write_idx(os.path.join(raw, f"{prefix}-labels-idx1-ubyte.gz"), labels)
    return root


def write_cifar(root, classes=10, n_train=20, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    if classes == 10:
        folder = os.path.join(root, "cifar-10-batches-py")
        files = [(f"data_batch_{i}", n_train // 5 or 1) for i in range(1, 6)] + [("test_batch", n_test)]
        key = b"labels"
    else:
        folder = os.path.join(root, "cifar-100-python")
        files = [("train", n_train), ("test", n_test)]
        key = b"fine_labels"
    os.makedirs(folder, exist_ok=True)
    for name, n in files:
        labels = rng.permutation(np.repeat(np.arange(classes), n))
        data = _images(labels, (3, 32, 32), rng).reshape(len(labels), -1)
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump({b"data": data, key: labels.tolist(), b"batch_label": name.encode()}, f, protocol=2)
    return root
