"""Readers, downloads, context sets and scenarios."""
import gzip
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

from data import files
from data.cifar import load_cifar
from data.experiments import build_experiment, class_order
from data.mnist import load_mnist, read_idx
from data.scenario import Scenario
from data.tensorset import BatchSampler, TensorSet
from tests.synthetic import write_cifar, write_idx, write_mnist
from utils.errors import DataError


def test_mnist_reader_gz_and_plain(tmp_path):
    write_mnist(str(tmp_path), n_train=3, n_test=2)
    x, y = load_mnist(str(tmp_path), train=True)
    assert x.shape == (30, 1, 28, 28) and x.dtype == torch.uint8 and y.dtype == torch.int64
    assert sorted(y.tolist()) == sorted(list(range(10)) * 3)
    raw = tmp_path / "MNIST" / "raw"
    for name in os.listdir(raw):  # the same files uncompressed are read the same
        with gzip.open(raw / name) as f:
            (raw / name[:-3]).write_bytes(f.read())
        os.remove(raw / name)
    x2, y2 = load_mnist(str(tmp_path), train=True)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_mnist_truncated_and_bad_magic(tmp_path):
    write_mnist(str(tmp_path), n_train=3, n_test=2)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(DataError, match="corrupt"):
        load_mnist(str(tmp_path))
    path.write_bytes(gzip.compress(b"\x00\x00\x09\x99" + data[4:]))
    with pytest.raises(DataError, match="magic"):
        load_mnist(str(tmp_path))
    path.write_bytes(path.read_bytes()[:20])  # a cut-off gzip stream
    with pytest.raises(DataError):
        load_mnist(str(tmp_path))


def test_idx_roundtrip(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(str(tmp_path / "a.gz"), a)
    assert torch.equal(read_idx(str(tmp_path / "a.gz")), torch.from_numpy(a))


def test_cifar_folder_and_archive(tmp_path):
    write_cifar(str(tmp_path / "d"), 10, n_train=5, n_test=2)
    x, y = load_cifar(str(tmp_path / "d"), 10, train=True)
    assert x.shape == (50, 3, 32, 32) and x.dtype == torch.uint8 and set(y.tolist()) == set(range(10))
    # the same batches as the official .tar.gz archive, without the extracted folder
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "d" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    x2, y2 = load_cifar(str(tmp_path), 10, train=True)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_cifar100_and_corrupt_batch(tmp_path):
    write_cifar(str(tmp_path), 100, n_train=2, n_test=1)
    x, y = load_cifar(str(tmp_path), 100, train=False)
    assert x.shape == (100, 3, 32, 32) and y.max() == 99
    path = tmp_path / "cifar-100-python" / "test"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match="corrupt"):
        load_cifar(str(tmp_path), 100, train=False)
    path.write_bytes(pickle.dumps({b"data": np.zeros((3, 100), np.uint8), b"fine_labels": [0, 1, 2]}, protocol=2))
    with pytest.raises(DataError, match="shape"):
        load_cifar(str(tmp_path), 100, train=False)


def test_download_md5_checked_and_offline_message(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_mnist(str(src), n_train=2, n_test=1)
    raw = src / "MNIST" / "raw"
    md5s = {n: files.md5sum(str(raw / n)) for n in os.listdir(raw)}
    import data.mnist as mnist
    monkeypatch.setattr(mnist, "MIRROR", raw.as_uri() + "/")
    monkeypatch.setattr(mnist, "FILES", md5s)
    x, _ = load_mnist(str(tmp_path / "dl"))  # downloaded from the (file://) mirror, md5 checked
    assert x.shape[0] == 20
    bad = dict(md5s, **{"t10k-images-idx3-ubyte.gz": "0" * 32})
    monkeypatch.setattr(mnist, "FILES", bad)
    with pytest.raises(DataError, match="md5"):
        load_mnist(str(tmp_path / "dl2"), train=False)
    assert not (tmp_path / "dl2" / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").exists()
    monkeypatch.setattr(mnist, "MIRROR", "http://127.0.0.1:9/")  # nothing listens: offline
    with pytest.raises(DataError, match="expected train-images"):
        load_mnist(str(tmp_path / "dl3"))


def test_split_mnist_contexts(data_dir):
    exp = build_experiment("splitMNIST", 5, data_dir, seed=3)
    assert exp.classes_per_context == 2 and len(exp.train) == 5
    order = exp.class_order
    assert sorted(order) == list(range(10)) and order != list(range(10))
    x, y = load_mnist(data_dir, train=True)
    for c, s in enumerate(exp.train):
        assert set(s.labels.tolist()) == {2 * c, 2 * c + 1}
        # each global label k holds exactly the images of original class order[k]
        for k in (2 * c, 2 * c + 1):
            assert (s.labels == k).sum() == (y == order[k]).sum()
    assert build_experiment("splitMNIST", 5, data_dir, seed=0).class_order == list(range(10))


def test_class_order_is_the_papers():
    """The paper's code: np.random.seed(seed); p = np.random.permutation(10); original class y gets label p[y]."""
    np.random.seed(2)
    p = np.random.permutation(list(range(10)))
    order = class_order(10, 2)
    assert all(p[order[k]] == k for k in range(10))
    assert order == [3, 1, 5, 6, 0, 2, 7, 4, 9, 8]  # seed 2: contexts {3,1} {5,6} {0,2} {7,4} {9,8}


def test_perm_mnist_contexts(data_dir):
    exp = build_experiment("permMNIST", 3, data_dir, seed=1)
    assert exp.image_size == 32 and exp.classes_per_context == 10
    s0, s1 = exp.train[0], exp.train[1]
    assert torch.equal(s1.labels, s0.labels + 10)
    x0 = exp.preprocess(s0.images[:4], 0)
    x1 = exp.preprocess(s1.images[:4], 1)
    assert x0.shape == (4, 1, 32, 32)
    raw = s0.images[:4].flatten(1).float() / 255
    perms = exp.preprocess.permutations
    assert torch.allclose(x0.flatten(1), raw[:, perms[0]]) and torch.allclose(x1.flatten(1), raw[:, perms[1]])
    assert not torch.equal(x0, x1)
    # as the paper's code: every context permuted, drawn from numpy seeded with the seed; seed 0 leaves context 0 as is
    rng = np.random.RandomState(1)
    assert all(torch.equal(perms[c], torch.from_numpy(rng.permutation(1024))) for c in range(3))
    perms0 = build_experiment("permMNIST", 3, data_dir, seed=0).preprocess.permutations
    rng = np.random.RandomState(0)
    assert torch.equal(perms0[0], torch.arange(1024)) and torch.equal(perms0[1], torch.from_numpy(rng.permutation(1024)))
    # a mixed batch (per-sample contexts) is permuted sample by sample
    mixed = exp.preprocess(torch.cat([s0.images[:2], s1.images[:2]]), torch.tensor([0, 0, 1, 1]))
    assert torch.equal(mixed[:2], x0[:2]) and torch.equal(mixed[2:], x1[:2])


def test_cifar_normalised(data_dir):
    exp = build_experiment("CIFAR10", 5, data_dir, seed=0)
    x = exp.preprocess(exp.train[0].images, 0)
    raw = exp.train[0].images.float() / 255
    assert torch.allclose(x[:, 0], (raw[:, 0] - 0.4914) / 0.2470, atol=1e-5)
    exp100 = build_experiment("CIFAR100", 10, data_dir, seed=1)
    assert exp100.classes_per_context == 10 and set(exp100.test[9].labels.tolist()) == set(range(90, 100))


def test_sampler_is_shuffled_epochs_without_replacement():
    s = TensorSet.of_context(torch.zeros(10, 1, 2, 2, dtype=torch.uint8), torch.arange(10), 0)
    sampler = BatchSampler(s, 3)
    seen = torch.cat([next(sampler) for _ in range(3)])
    assert len(set(seen.tolist())) == 9  # one pass: no repeats, the last incomplete batch dropped
    assert len(next(sampler)) == 3


def test_scenario_label_maps():
    scores = torch.arange(2 * 10, dtype=torch.float).view(2, 10)
    y = torch.tensor([4, 5])
    task = Scenario("task", 5, 2)
    s, t = task.select(scores, y, 2, upto=2)
    assert torch.equal(s, scores[:, 4:6]) and t.tolist() == [0, 1]
    s, t = task.select(scores, torch.tensor([1, 5]), torch.tensor([0, 2]), upto=2)  # per-sample heads
    assert s.tolist() == [[0, 1], [14, 15]] and t.tolist() == [1, 1]
    dom = Scenario("domain", 5, 2)
    assert dom.n_outputs == 2 and dom.select(scores[:, :2], y, 2, 2)[1].tolist() == [0, 1]
    cls = Scenario("class", 5, 2)
    assert cls.n_outputs == 10 and cls.select(scores, y, 2, 2)[0].shape == (2, 10)
    so_far = Scenario("class", 5, 2, active_classes="all-so-far")
    assert so_far.select(scores, y, 1, upto=1)[0].shape == (2, 4)
    current = Scenario("class", 5, 2, active_classes="current")
    s, t = current.select(scores, y, 2, upto=2)
    assert s.shape == (2, 2) and t.tolist() == [0, 1]
    s, t = current.select(scores, y, 2, upto=2, train=False)  # at test: all classes seen so far
    assert s.shape == (2, 6) and t.tolist() == [4, 5]
    assert Scenario("task", 5, 2, singlehead=True).n_outputs == 2


@pytest.mark.parametrize("seed, left_out", [(0, "class 9"), (2, "class 8")])
def test_contexts_that_leave_classes_out_say_which(data_dir, capsys, seed, left_out):
    """--contexts=3 on split MNIST: 3 classes each, as in the paper's code; the class that fills no context (the
    last of the seed's class order) is named in one warning, and the run goes on."""
    exp = build_experiment("splitMNIST", 3, data_dir, seed=seed)
    assert exp.classes_per_context == 3 and len(exp.train) == 3
    assert exp.class_order[9] == int(left_out.split()[1])
    assert all(9 not in s.labels.tolist() for s in exp.train + exp.test)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: ") and err[0].endswith(f"leaves out {left_out}")
    build_experiment("splitMNIST", 5, data_dir, seed=seed)
    assert capsys.readouterr().err == ""
