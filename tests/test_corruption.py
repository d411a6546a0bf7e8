"""Malformed variants of every data format (MNIST IDX .gz, CIFAR python pickles and archive): each run of
./main.py ends in one line naming the file and the data error's exit code (1), never a traceback."""
import gzip
import os
import pickle
import shutil
import struct

import numpy as np
import pytest

import main
from data import files, mnist
from tests.synthetic import write_cifar, write_idx, write_mnist
from utils.errors import DataError, run_cli

RAW = os.path.join("MNIST", "raw")
IMAGES, LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"


def gz(data):
    return gzip.compress(data)


def idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


MNIST_VARIANTS = {
    "empty file": (IMAGES, b""),
    "not gzip": (IMAGES, b"this is not a gzip file at all"),
    "truncated gzip": (IMAGES, gz(idx(2051, [10, 28, 28], bytes(7840)))[:40]),
    "short header": (IMAGES, gz(b"\x00\x00\x08\x03\x00\x00")),
    "bad magic": (IMAGES, gz(idx(1234, [10, 28, 28], bytes(7840)))),
    "header says more": (IMAGES, gz(idx(2051, [11, 28, 28], bytes(7840)))),
    "zero items": (IMAGES, gz(idx(2051, [0, 28, 28], b""))),
    "zero labels": (LABELS, gz(idx(2049, [0], b""))),
    "27x28 images": (IMAGES, gz(idx(2051, [1000, 27, 28], bytes(1000 * 27 * 28)))),
    "labels above 9": (LABELS, gz(idx(2049, [1000], bytes([12]) * 1000))),
    "fewer labels": (LABELS, gz(idx(2049, [999], bytes(999)))),
    "labels file holds images": (LABELS, gz(idx(2051, [1000, 28, 28], bytes(1000 * 784)))),
    "images file holds labels": (IMAGES, gz(idx(2049, [1000], bytes(1000)))),
    "a folder": (IMAGES, None),
}


def _data(tmp_path):
    root = str(tmp_path / "data")
    write_mnist(root, n_train=100, n_test=3)
    return root


def _run(capsys, root, tmp_path, *flags):
    argv = ["--data-dir", root, "--results-dir", str(tmp_path / "results"), "--no-save", "--quiet", "--iters", "1",
            "--contexts", "2", *flags]
    with pytest.raises(SystemExit) as e:
        run_cli(main.main, argv)
    err = capsys.readouterr().err
    assert e.value.code == 1 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize("name", list(MNIST_VARIANTS))
def test_malformed_mnist_one_line_exit_1(tmp_path, capsys, name):
    root = _data(tmp_path)
    target, content = MNIST_VARIANTS[name]
    path = os.path.join(root, RAW, target)
    os.remove(path)
    if content is None:
        os.mkdir(path)
    else:
        with open(path, "wb") as f:
            f.write(content)
    line = _run(capsys, root, tmp_path)
    assert "MNIST" in line  # names the file or its folder


def _cifar(tmp_path):
    root = str(tmp_path / "data")
    write_cifar(root, 10)
    return root


def _pickled(obj):
    return pickle.dumps(obj, protocol=2)


def _batch(data=None, labels=None, drop=None):
    d = {b"data": np.zeros((4, 3072), dtype=np.uint8) if data is None else data,
         b"labels": [0, 1, 2, 3] if labels is None else labels}
    if drop:
        del d[drop]
    return _pickled(d)


CIFAR_VARIANTS = {
    "not a pickle": b"plain text, not a pickle",
    "truncated pickle": _batch()[:100],
    "empty file": b"",
    "a list": _pickled([1, 2, 3]),
    "no data entry": _batch(drop=b"data"),
    "no labels entry": _batch(drop=b"labels"),
    "data is a string": _batch(data="pixels"),
    "data is None": _pickled({b"data": None, b"labels": [0, 1, 2, 3]}),
    "data of floats": _batch(data=np.zeros((4, 3072), dtype=np.float32)),
    "data one-dimensional": _batch(data=np.zeros(4 * 3072, dtype=np.uint8)),
    "data of 100 values": _batch(data=np.zeros((4, 100), dtype=np.uint8)),
    "pixels above 255": _batch(data=np.full((4, 3072), 300, dtype=np.int64)),
    "empty batch": _batch(data=np.zeros((0, 3072), dtype=np.uint8), labels=[]),
    "labels are strings": _batch(labels=["cat", "dog", "cat", "dog"]),
    "labels out of range": _batch(labels=[0, 1, 2, 10]),
    "negative labels": _batch(labels=[0, 1, 2, -1]),
    "fewer labels": _batch(labels=[0, 1, 2]),
    "labels a dict": _batch(labels={0: 1}),
}


@pytest.mark.parametrize("name", list(CIFAR_VARIANTS))
def test_malformed_cifar_batch_one_line_exit_1(tmp_path, capsys, name):
    root = _cifar(tmp_path)
    with open(os.path.join(root, "cifar-10-batches-py", "data_batch_3"), "wb") as f:
        f.write(CIFAR_VARIANTS[name])
    line = _run(capsys, root, tmp_path, "--experiment=CIFAR10", "--channels=2", "--fc-units=10")
    assert "data_batch_3" in line


@pytest.mark.parametrize("archive", [b"not a tar.gz", gz(b"a gzip, but no tar inside")])
def test_malformed_cifar_archive_one_line_exit_1(tmp_path, capsys, archive):
    root = _cifar(tmp_path)
    shutil.rmtree(os.path.join(root, "cifar-10-batches-py"))
    with open(os.path.join(root, "cifar-10-python.tar.gz"), "wb") as f:
        f.write(archive)
    line = _run(capsys, root, tmp_path, "--experiment=CIFAR10")
    assert "cifar-10-python.tar.gz is not a complete CIFAR archive" in line


def test_offline_names_every_file_and_creates_no_folder(tmp_path, capsys, monkeypatch):
    for var in ("http_proxy", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # a closed port: every download fails at once
    monkeypatch.setenv("no_proxy", "")
    root = tmp_path / "nothing-here"
    line = _run(capsys, str(root), tmp_path)
    for name in mnist.FILES:
        assert name in line  # the test files too, not only the training files
    assert not root.exists()  # the failed download left no folder behind
    line = _run(capsys, str(root), tmp_path, "--experiment=CIFAR10")
    assert "CIFAR-10 not found" in line and not root.exists()


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


def test_swapped_mnist_train_and_test_files_one_line(tmp_path, capsys):
    root = _data(tmp_path)  # 1000 training images, 30 test images
    raw = os.path.join(root, RAW)
    for kind in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"):  # the two sets' files swapped
        os.rename(os.path.join(raw, f"train-{kind}"), os.path.join(raw, "tmp"))
        os.rename(os.path.join(raw, f"t10k-{kind}"), os.path.join(raw, f"train-{kind}"))
        os.rename(os.path.join(raw, "tmp"), os.path.join(raw, f"t10k-{kind}"))
    line = _run(capsys, root, tmp_path)
    assert "look swapped" in line and "30" in line and "1000" in line
    with pytest.raises(DataError, match="look swapped"):  # whichever set is read first
        mnist.load_mnist(root, train=False)


@pytest.mark.parametrize("which", ["data folder", "CIFAR folder"])
def test_cifar_folder_that_is_a_file_one_line(tmp_path, capsys, which):
    root = _cifar(tmp_path)
    folder = os.path.join(root, "cifar-10-batches-py")
    if which == "data folder":
        shutil.rmtree(root)
        folder = root
    else:
        shutil.rmtree(folder)
    with open(folder, "w") as f:
        f.write("not a folder")
    line = _run(capsys, root, tmp_path, "--experiment=CIFAR10")
    assert f"data folder {folder} is a file, not a folder" in line
