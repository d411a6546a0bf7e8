import os
import subprocess
import sys

import pytest

from tests.synthetic import write_cifar, write_mnist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(os.path.dirname(ROOT), "shared", "datasets")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A data folder with synthetic MNIST, CIFAR-10 and CIFAR-100 in the official formats."""
    root = str(tmp_path_factory.mktemp("datasets"))
    write_mnist(root)
    write_cifar(root, 10)
    write_cifar(root, 100, n_train=4, n_test=2)
    return root


def run_script(script, *args, cwd=None, env=None, timeout=300):
    """Run a top-level script the way a user does; returns the CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def tiny(data_dir, tmp_path, *extra):
    """Options for a seconds-long run on the synthetic data, writing under tmp_path."""
    return ["--data-dir", data_dir, "--results-dir", str(tmp_path / "results"), "--model-dir",
            str(tmp_path / "models"), "--plot-dir", str(tmp_path / "plots"), "--iters", "30", "--batch", "32",
            "--fc-units", "50", "--quiet", "--no-gpus", *extra]


real_mnist = pytest.mark.skipif(not os.path.exists(os.path.join(SHARED_DATA, "MNIST", "raw")),
                                reason="real MNIST not found in ../shared/datasets")


def tiny_cifar(data_dir, tmp_path, *extra, experiment="CIFAR10"):
    """tiny() on the synthetic CIFAR with small frozen conv layers (4 channels: 256 conv output units), randomly
    initialised, on one thread (see one_thread): enough to run a method's conv / feature path end to end
    (tests/test_features.py pre-trains some)."""
    return tiny(data_dir, tmp_path, f"--experiment={experiment}", "--freeze-convE", "--channels", "4",
                "--fc-units", "20", "--threads", "1", *extra)


@pytest.fixture
def one_thread():
    """One torch thread for the test (as tiny_cifar's --threads 1): small conv passes on 2 threads of a busy machine
    cost 10-30x more than on one."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TAG = "t2"  # the pre-trained conv layers of conv_file: 2 epochs on the synthetic CIFAR-10


@pytest.fixture(scope="session")
def conv_file(data_dir, tmp_path_factory):
    """Conv layers pre-trained for a few seconds by ./main_pretrain.py (random ones pass on too little signal)."""
    import main_pretrain
    model_dir = tmp_path_factory.mktemp("pretrained")
    assert main_pretrain.main(["--data-dir", data_dir, "--model-dir", str(model_dir), "--epochs", "2", "--batch",
                               "32", "--lr", "0.003", "--convE-stag", TAG, "--quiet", "--channels", "4",
                               "--fc-units", "20", "--no-gpus"]) == 0
    return model_dir / f"C3-5x4-bn-{TAG}"


def prepare_dirs(root, conv_file):
    """`root`/models holding the pre-trained conv layers (results go to `root`/results)."""
    os.makedirs(root / "models", exist_ok=True)
    os.link(conv_file, root / "models" / conv_file.name)
    return root


def cifar10_pretrained(data_dir, root, *extra):
    """tiny() on the synthetic CIFAR-10 through conv_file's layers, frozen (prepare_dirs(root, conv_file) first)."""
    return tiny(data_dir, root, "--experiment", "CIFAR10", "--contexts", "5", "--iters", "20", "--batch", "16",
                "--fc-units", "20", "--channels", "4", "--pre-convE", "--freeze-convE", "--convE-ltag", TAG, *extra)


CIFAR_CONV_UNITS = 256  # 64 channels x 2 x 2: the output of tiny_cifar's conv layers
