"""Data errors beyond what a run shows (the runs' one-line refusals on malformed and missing data are rows of
tests/test_refusals.py): a file that cannot be read, a download that fails, and valid data still loading."""
import os

import numpy as np
import pytest

from data import files, mnist
from tests.synthetic import write_idx, write_mnist
from utils.errors import DataError

RAW = os.path.join("MNIST", "raw")
IMAGES, LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"


def _data(tmp_path):
    root = str(tmp_path / "data")
    write_mnist(root, n_train=100, n_test=3)
    return root


def test_unreadable_file_is_reported_as_unreadable(tmp_path, monkeypatch):
    """(As root, permissions cannot be taken away: the OS's PermissionError is raised by hand here.)"""
    root = _data(tmp_path)
    path = os.path.join(root, RAW, IMAGES)

    def refuse(name, mode="rb"):
        raise PermissionError(13, "Permission denied", name)
    monkeypatch.setattr(mnist.gzip, "open", refuse)
    with pytest.raises(DataError, match=f"cannot read {path}: permission denied"):
        mnist.read_idx(path)
    monkeypatch.setattr(mnist.os, "access", lambda p, mode: False)
    with pytest.raises(DataError, match="cannot read data folder .*: permission denied"):
        mnist.load_mnist(root)


def test_download_leaves_nothing_behind(tmp_path):
    target = tmp_path / "a" / "b" / "file.gz"
    with pytest.raises(DataError, match="could not download"):
        files.download("http://127.0.0.1:9/file.gz", str(target), "0" * 32)
    assert not (tmp_path / "a").exists()


def test_valid_synthetic_data_still_loads(tmp_path):
    root = _data(tmp_path)
    x, y = mnist.load_mnist(root)
    assert x.shape == (1000, 1, 28, 28) and int(y.max()) == 9
    write_idx(os.path.join(root, RAW, LABELS), np.arange(1000) % 10)
    assert mnist.load_mnist(root)[1].tolist()[:3] == [0, 1, 2]
