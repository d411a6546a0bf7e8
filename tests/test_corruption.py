"""Data errors beyond what a run shows (the runs' one-line refusals on malformed and missing data are rows of
tests/test_refusals.py): a file that cannot be read, a download that fails, and valid data still loading."""
import os
import shutil

import numpy as np
import pytest

import main
from data import files, mnist
from tests.synthetic import write_cifar, write_idx, write_mnist
from utils.errors import DataError, run_cli

RAW = os.path.join("MNIST", "raw")
IMAGES, LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"


def _data(tmp_path):
    root = str(tmp_path / "data")
    write_mnist(root, n_train=100, n_test=3)
    return root


def _cifar(tmp_path):
    root = str(tmp_path / "data")
    write_cifar(root, 10)
    return root


def _run(capsys, root, tmp_path, *flags):
    """./main.py on the data at `root`: it must stop with exit code 1 and one line; returns the line."""
    argv = ["--data-dir", root, "--results-dir", str(tmp_path / "results"), "--no-save", "--quiet", "--iters", "1",
            "--contexts", "2", *flags]
    with pytest.raises(SystemExit) as e:
        run_cli(main.main, argv)
    err = capsys.readouterr().err
    assert e.value.code == 1 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


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
