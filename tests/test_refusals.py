"""The one-line contract, as one table: every bad input a user can give (a flag, a flag combination, missing or
malformed data, an output folder that is a file, a missing pre-trained file) ends the script with exactly one line
on stderr that says what is wrong and starts with 'error: ' (argparse's with '<script>: error: '), the documented
exit code (1 data/output, 2 usage), no traceback, nothing else on stdout and no result written.

Rows run in-process through utils.errors.run_cli (what every script's __main__ calls: same line, same code, seconds
faster); the rows marked `proc` run the real script in a subprocess, to show that a user gets exactly that."""
import gzip
import importlib
import os
import pickle
import re
import shutil
import struct
import sys

import numpy as np
import pytest

from data import mnist
from tests.conftest import run_script, tiny
from tests.synthetic import write_cifar, write_mnist
from utils.errors import run_cli

OFFLINE = {"no_proxy": "", "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}  # closed port


def no_base(data_dir, tmp_path):
    return []


def row(script, flags, code, message, *, base=tiny, setup=None, check=None, proc=False, stdout="", id=None):
    """One refusal: `script` run with base(data_dir, tmp_path) + flags ends with `code` and a line holding `message`.
    setup(data_dir, tmp_path, monkeypatch) may return another data folder; check(line, tmp_path) asserts more;
    stdout is all that the run prints on stdout (a sweep's progress notes come before its refusal)."""
    name = id or f"{script} {' '.join(flags)}"
    return pytest.param(script, flags, code, message, base, setup, check, proc, stdout,
                        id=name + (" [proc]" * proc))


def exactly(expected):
    """A check that the line is `expected` ({tmp} standing for the test's tmp_path)."""
    def check(line, tmp_path):
        assert line == expected.replace("{tmp}", str(tmp_path))
    return check


# ---- flags -------------------------------------------------------------------------------------------------------

MAIN = [
    row("main.py", ["--scenario", "class", "--singlehead"], 2, "--singlehead"),
    row("main.py", ["--contexts", "11"], 2, "at most 10"),
    row("main.py", ["--experiment", "CIFAR100", "--contexts", "101"], 2, "at most 100"),
    row("main.py", ["--joint", "--cummulative"], 2, "exclude"),
    row("main.py", ["--grow-batch"], 2, "", check=exactly("error: --grow-batch only applies to --cummulative")),
    row("main.py", ["--eval-contexts=0"], 2, "--eval-contexts"),
    row("main.py", ["--eval-contexts=1,x"], 2, "--eval-contexts"),
    row("main.py", ["--eval-contexts=6"], 2, "", check=exactly("error: --eval-contexts: there are only 5 contexts")),
    row("main.py", ["--scenario", "task", "--active-classes", "current"], 2, "--active-classes"),
    row("main.py", ["--iters", "0"], 2, "--iters"),
    row("main.py", ["--scenario", "tusk"], 2, "invalid choice", proc=True),  # argparse's own error, one line too
    row("main.py", ["--seed=-1"], 2, "--seed"),
    row("main.py", ["--seed=4294967296"], 2, "--seed"),
    row("main.py", ["--lr=nan"], 2, "--lr"),
    row("main.py", ["--lr=0"], 2, "--lr"),
    row("main.py", ["--lr=-0.1"], 2, "--lr"),
    row("main.py", ["--lr=inf"], 2, "--lr"),
    row("main.py", ["--fc-drop=1.5"], 2, "--fc-drop"),
    row("main.py", ["--momentum=-1"], 2, "--momentum"),
    row("main.py", ["--visdom-port=0"], 2, "--visdom-port"),
    row("main.py", ["--visdom-port", "70000"], 2, "--visdom-port"),
    row("main.py", ["--loss-log", "0"], 2, "--loss-log"),
    row("main.py", ["--acc-log", "-1"], 2, "--acc-log"),
    row("main.py", ["--acc-n", "0"], 2, "--acc-n"),
    row("main.py", ["--sample-n", "0"], 2, "--sample-n"),
    row("main.py", ["--threads=0"], 2, "--threads"),
    row("main.py", ["--ewc", "--lambda=abc"], 2, "--lambda"),
    row("main.py", ["--ewc", "--lambda=nan"], 2, "--lambda"),
    row("main.py", ["--owm", "--weight-penalty", "--get-stamp"], 2, "OWM", base=no_base),
    row("main.py", ["--fromp", "--tau=inf"], 2, "--tau"),
    row("main.py", ["--fromp", "--replay=buffer"], 2, "--fromp cannot be combined with --replay=buffer"),
    row("main.py", ["--icarl", "--scenario=task"], 2, "--icarl can only be used with --scenario=class"),
    row("main.py", ["--replay=buffer", "--budget", "0"], 2, "--budget"),
    row("main.py", ["--replay=generative", "--g-iters", "-1"], 2, "--g-iters"),
    row("main.py", ["--brain-inspired", "--experiment=CIFAR10"], 2, "--pre-convE --freeze-convE"),
    row("main.py", ["--separate-networks", "--scenario", "domain"], 2, "",
        check=exactly("error: --separate-networks can only be used with --scenario=task")),
    row("main.py", ["--separate-networks", "--scenario", "class"], 2, "",
        check=exactly("error: --separate-networks can only be used with --scenario=task")),
    row("main.py", ["--xdg", "--scenario", "class"], 2, "", proc=True,
        check=exactly("error: --xdg can only be used with --scenario=task (the context must be known at test time)")),
    row("main.py", ["--xdg", "--scenario", "domain"], 2, "--xdg"),
    row("main.py", ["--xdg", "--scenario", "task", "--gating-prop", "1"], 2, "--gating-prop"),
    row("main.py", ["--xdg", "--scenario", "task", "--separate-networks"], 2, "--separate-networks"),
]

GEN_CLASSIFIER = [row("main.py", ["--gen-classifier", *flags], 2, message, base=no_base) for flags, message in [
    (["--scenario", "task"], "--gen-classifier can only be used with --scenario=class"),
    (["--scenario", "domain"], "--gen-classifier can only be used with --scenario=class"),
    (["--replay", "buffer"], "--gen-classifier cannot be combined with --replay"),
    (["--ewc"], "--gen-classifier cannot be combined with --weight-penalty"),
    (["--gc-compare", "--iters", "1"], "--iters=1: the Generative Classifier trains each class's VAE for --iters / 2"),
    (["--fc-units-gc", "30"], "--fc-units-gc sizes the VAEs of the paper's comparisons: add --gc-compare"),
    (["--experiment", "CIFAR10"], "--gen-classifier with conv layers models their frozen features: add --pre-convE "
                                  "--freeze-convE"),
]]

TASK_FREE = [row("main_task_free.py", ["--fuzziness", "5", *flags], 2, message, proc=proc) for flags, message, proc in [
    (["--ewc"], "is not supported in task-free experiments, which support: None", True),
    (["--ewc"], "--importance-weighting=fisher (set by --ewc) is not", False),  # the flag the user gave
    (["--kfac-ewc"], "(set by --kfac-ewc) is not supported", False),
    (["--fromp"], "is not supported in task-free experiments", False),
    (["--replay=generative"], "is not supported in task-free experiments", False),
    (["--cumulative"], "is not supported in task-free experiments", False),
    (["--replay=buffer", "--budget", "0"], "--budget must be at least 1", False),
    (["--fuzziness", "16"], "--fuzziness=16 is more than half of --iters=30", False),
    (["--update-every", "0"], "--update-every must be at least 1", False),
    (["--joint", "--stream", "academic-setting"], "--joint is the random stream", False),
    (["--active-classes", "all-so-far"], "--active-classes needs context boundaries", False),
    (["--add-buffer", "--replay=buffer"], "--add-buffer is not supported in task-free experiments", False),
]]

PRETRAIN = [row("main_pretrain.py", flags, 2, message, base=no_base) for flags, message in [
    (["--experiment", "MNIST", "--augment"], "--augment"),
    (["--epochs", "2", "--iters", "5"], "not allowed with"),
    (["--depth", "0"], "no conv layers"),
    (["--epochs", "0"], "--epochs"),
]]

SWEEPS = [row("compare.py", flags, 2, message) for flags, message in [
    (["--lambda=abc"], "--lambda"),
    (["--lambda=nan"], "--lambda"),
    (["--c=inf"], "--c"),
    (["--tau=-1", "--methods=None"], "--tau must be at least 0"),
    (["--methods=EWc"], "unknown method name(s) EWc"),
    (["--methods=,"], "unknown method name(s) (none given)"),
    (["--seed=-1"], "--seed"),
    (["--n-seeds=0"], "--n-seeds"),
    (["--seed=4294967295", "--n-seeds=2"], "at most 4294967295"),
    (["--workers=0"], "--workers"),
    (["--threads=two"], "--threads"),
    (["--lr=nan"], "--lr"),
    (["--experiment=nope"], "invalid choice"),
]] + [
    row("compare_replay.py", ["--methods=Foo"], 2, "unknown method name(s) Foo"),
    row("StabilityGap/stability_gap_example.py", ["--methods=Foo"], 2, "unknown method name(s) Foo", proc=True),
    row("NeurIPStutorial/compare_for_tutorial.py", ["--methods=BI-R"], 2, "unknown method name(s) BI-R", proc=True),
    row("compare_hyperParams.py", ["--methods=EWc"], 2, "unknown method name(s) EWc"),
    row("compare_task_free.py", ["--replay-update", "0"], 2, "--replay-update=0", proc=True),
    row("ICLRblogpost/compare_FI.py", ["--lambdas=1,x"], 2, "--lambdas=1,x: expected comma-separated positive",
        proc=True),
    row("ICLRblogpost/compare_FI.py", ["--fisher-n-all=0"], 2, "--fisher-n-all", proc=True),
    row("main.py", ["--reducedResNet", "--reducing-layers=6"], 2, "--reducing-layers must be between"),
    row("compare.py", ["--methods=iCaRL", "--scenario=task"], 2, "none of them applies",
        stdout="note: leaving out iCaRL: only for --scenario=class\n"),
    row("compare.py", ["--methods=None", "--ray-address=127.0.0.1:1"], 2, "--ray-address needs Ray",
        setup=lambda d, t, mp: mp.setitem(sys.modules, "ray", None),  # `import ray` raises ImportError
        stdout="1 runs: 0 already done, 1 to run on Ray at 127.0.0.1:1\n"),
]


# ---- data and outputs --------------------------------------------------------------------------------------------

def offline(data_dir, tmp_path, monkeypatch):
    """No data, and every download fails at once."""
    for name, value in OFFLINE.items():
        monkeypatch.setenv(name, value)
    return str(tmp_path / "nothing-here")


def made_no_folder(line, tmp_path):
    assert not (tmp_path / "nothing-here").exists()  # the failed download left no folder behind


def names_every_file_and_makes_no_folder(line, tmp_path):
    assert all(name in line for name in mnist.FILES)  # the test files too, not only the training files
    made_no_folder(line, tmp_path)


def file_in_the_way(data_dir, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")


def in_pretrained_check(line, tmp_path):
    assert str(tmp_path / "models" / "C3-5x4-bn-t2-s3") in line
    assert "./main_pretrain.py --experiment=CIFAR10 --augment --convE-stag=t2 --seed-to-stag --seed=3" in line
    assert "--channels=4" in line


OUTPUTS = [
    row("main.py", [], 1, "MNIST not found", setup=offline, check=names_every_file_and_makes_no_folder, proc=True,
        id="main.py offline, no MNIST"),
    row("main.py", ["--experiment=CIFAR10"], 1, "CIFAR-10 not found", setup=offline, check=made_no_folder,
        id="main.py offline, no CIFAR-10"),
    row("main.py", ["--results-dir", "{tmp}/file"], 1, "", setup=file_in_the_way,
        check=exactly("error: --results-dir {tmp}/file is a file, not a folder")),
    row("main.py", ["--results-dir", "{tmp}/file/sub"], 1, "file", setup=file_in_the_way),
    row("compare.py", ["--results-dir", "{tmp}/file"], 1, "is a file, not a folder", setup=file_in_the_way),
    row("compare.py", ["--plot-dir", "{tmp}/file", "--methods=None"], 1, "", setup=file_in_the_way,
        check=exactly("error: --plot-dir {tmp}/file is a file, not a folder")),  # before any run
    row("main.py", ["--experiment", "CIFAR100", "--contexts", "2", "--iters", "5", "--pre-convE", "--convE-ltag",
                    "t2", "--seed-to-ltag", "--seed", "3", "--fc-units", "20", "--channels", "4", "--freeze-convE"],
        1, "", check=in_pretrained_check, id="main.py --pre-convE, no pre-trained file"),
]


def gz(data):
    return gzip.compress(data)


def idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


IMAGES, LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
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
    "a folder": (IMAGES, None),  # a folder where the file should be
}


def malformed_mnist(target, content):
    def setup(data_dir, tmp_path, monkeypatch):
        root = write_mnist(str(tmp_path / "data"), n_train=100, n_test=3)
        path = os.path.join(root, "MNIST", "raw", target)
        os.remove(path)
        if content is None:
            os.mkdir(path)
        else:
            with open(path, "wb") as f:
                f.write(content)
        return root
    return setup


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


def malformed_cifar(batch=None, archive=None):
    """CIFAR-10 with data_batch_3 replaced by `batch`, or only a cifar-10-python.tar.gz holding `archive`."""
    def setup(data_dir, tmp_path, monkeypatch):
        root = write_cifar(str(tmp_path / "data"), 10)
        if batch is not None:
            with open(os.path.join(root, "cifar-10-batches-py", "data_batch_3"), "wb") as f:
                f.write(batch)
        else:
            shutil.rmtree(os.path.join(root, "cifar-10-batches-py"))
            with open(os.path.join(root, "cifar-10-python.tar.gz"), "wb") as f:
                f.write(archive)
        return root
    return setup


REPORT = [
    row("report.py", ["--results-dir={tmp}/none"], 2, "/none: no such folder", base=no_base),
    row("report.py", ["--bogus"], 2, "unrecognized arguments: --bogus", base=no_base),
    row("report.py", ["--results-dir={tmp}", "--out-dir={tmp}/file"], 1, "could not write", base=no_base,
        setup=file_in_the_way, id="report.py output folder is a file"),
]


SHORT = ["--iters", "1", "--contexts", "2", "--no-save"]
CIFAR_SMALL = [*SHORT, "--experiment=CIFAR10", "--channels=2", "--fc-units=10"]
DATA = [row("main.py", SHORT, 1, "MNIST", setup=malformed_mnist(*v), id=f"MNIST {k}")
        for k, v in MNIST_VARIANTS.items()] + \
       [row("main.py", CIFAR_SMALL, 1, "data_batch_3", setup=malformed_cifar(batch=v), id=f"CIFAR-10 {k}")
        for k, v in CIFAR_VARIANTS.items()] + \
       [row("main.py", CIFAR_SMALL, 1, "cifar-10-python.tar.gz is not a complete CIFAR archive",
            setup=malformed_cifar(archive=v), id=f"CIFAR-10 archive {k}")
        for k, v in (("not gzip", b"not a tar.gz"), ("no tar", gz(b"a gzip, but no tar inside")))]


def outcome(script, argv, capsys, proc):
    """Exit code, stdout and stderr of `script` run with `argv`, in-process (as its __main__ does) or not."""
    if proc:
        r = run_script(script, *argv)
        return r.returncode, r.stdout, r.stderr
    main = importlib.import_module(script[:-len(".py")]).main
    with pytest.raises(SystemExit) as stop:
        run_cli(main, argv)
    out, err = capsys.readouterr()
    return stop.value.code, out, err


@pytest.mark.parametrize("script,flags,code,message,base,setup,check,proc,stdout",
                         MAIN + GEN_CLASSIFIER + TASK_FREE + PRETRAIN + SWEEPS + REPORT + OUTPUTS + DATA)
def test_refusal_is_one_line(data_dir, tmp_path, capsys, monkeypatch, script, flags, code, message, base, setup,
                             check, proc, stdout):
    data = (setup(data_dir, tmp_path, monkeypatch) if setup else None) or data_dir
    argv = [a.replace("{tmp}", str(tmp_path)) for a in base(data, tmp_path) + flags]
    exit_code, out, err = outcome(script, argv, capsys, proc)
    lines = err.strip().splitlines()
    assert exit_code == code, err
    assert len(lines) == 1 and "Traceback" not in err and err.endswith("\n"), err
    assert re.match(r"(\S+: )?error: ", lines[0]) and message in lines[0], err  # argparse's lines name the script
    assert out == stdout
    results = tmp_path / "results"
    assert not results.is_dir() or not list(results.glob("*.json"))  # refused before anything was written
    if check:
        check(lines[0], tmp_path)
