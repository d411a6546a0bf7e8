"""Train, save, then evaluate the saved model with --test: the test record's one row equals the training's last row
bit for bit, for every kind of saved state (a plain network, XdG's gates, iCaRL's class means, generators, the
Generative Classifier's VAEs, pre-trained frozen conv layers, task-free streams), and the training record stays
byte-identical. A row that did not reload all of its state would test a different model."""
import importlib
import json

import pytest

from tests.conftest import cifar10_pretrained, prepare_dirs, tiny, tiny_cifar
from utils.errors import run_cli


def case(flags, script="main.py", base=tiny, absent=None, id=None):
    """`script` run with base(data_dir, tmp_path, *flags); `absent`: what --test must not print."""
    return pytest.param(script, base, flags, absent, id=id or " ".join(flags))


def generative(scenario, *extra):
    return ["--replay=generative", f"--scenario={scenario}", "--iters", "10", "--contexts", "3", *extra]


def brain_inspired(scenario, *extra):
    return ["--brain-inspired", f"--scenario={scenario}", "--iters", "5", "--contexts", "3", "--z-dim", "8", *extra]


def on_cifar(*flags, scenario="class"):
    return case([*flags, f"--scenario={scenario}", "--iters", "3"], base=tiny_cifar,
                id=f"CIFAR-10 {' '.join(flags)} {scenario}")


CASES = [
    case(["--scenario", "domain", "--experiment", "permMNIST", "--contexts", "3"], id="None domain permMNIST"),
    case(["--scenario", "task", "--xdg"]),
    case(["--icarl", "--active-classes", "all-so-far"]),
    case(["--gen-classifier", "--gc-compare", "--iters", "10", "--fc-units-gc", "30", "--eval-s", "5", "--lr", "0.01"]),
    case(generative("task")),
    case(generative("domain", "--distill")),
    case(generative("class")),
    case(brain_inspired("task")),
    case(brain_inspired("domain")),
    case(brain_inspired("class")),
    on_cifar("--gen-classifier", "--gc-compare", "--eval-s", "3"),
    *[on_cifar("--replay=generative", "--g-z-dim", "8", "--g-fc-uni", "20", scenario=s)
      for s in ("task", "domain", "class")],
    *[on_cifar("--brain-inspired", "--z-dim", "8", scenario=s) for s in ("task", "domain", "class")],
    on_cifar("--brain-inspired", "--z-dim", "8", "--si"),
    case([], base=cifar10_pretrained, absent="features computed once", id="CIFAR-10 pre-trained frozen conv layers"),
    case(["--fuzziness", "5", "--iters", "12", "--icarl"], script="main_task_free.py", id="task-free iCaRL"),
]


@pytest.mark.parametrize("script,base,flags,absent", CASES)
def test_test_reproduces_the_last_row_of_training(data_dir, tmp_path, capsys, request, script, base, flags, absent):
    if base is cifar10_pretrained:
        prepare_dirs(tmp_path, request.getfixturevalue("conv_file"))
    argv = base(data_dir, tmp_path, *flags, "--threads", "1")  # one thread: seconds, even on a busy machine
    main = importlib.import_module(script[:-len(".py")]).main
    assert run_cli(main, argv) == 0
    (record,) = (tmp_path / "results").glob("*.json")
    before = record.read_bytes()
    trained = json.loads(before)
    assert trained["record"] == "training" and trained["status"] == "finished"
    capsys.readouterr()

    assert run_cli(main, argv + ["--test"]) == 0
    out = capsys.readouterr().out
    assert record.read_bytes() == before  # the training run's record is untouched
    tested = json.loads((tmp_path / "results" / f"{trained['stamp']}-test.json").read_text())
    assert tested["record"] == "test" and tested["stamp"] == trained["stamp"]
    assert tested["accuracy_matrix"] == [trained["accuracy_matrix"][-1]]
    assert f"{trained['stamp']}-test.json" in out
    assert absent is None or absent not in out
