"""A benchmark is one file plus a registry line: a toy benchmark defined here, registered by one line, runs through
every entry point (./main.py, ./main_task_free.py, ./compare.py --plan, --print-defaults) and every method resolves
its defaults on it, labelled where no paper gives them. The paper's four keep their defaults' sources."""
import pytest
import torch

import compare
import main
import main_task_free
import methods
from cli.options import describe_defaults, parse
from data import benchmarks
from data.benchmarks.base import Benchmark
from data.mnist import load_mnist
from sweep import cost
from utils.errors import run_cli


class Toy(Benchmark):
    """Four digits of MNIST at 14x14 in two contexts: a benchmark nobody published."""
    name = "toy"
    classes, image_size, channels, contexts = 4, 14, 1, 2
    protocol = {"iters": 50, "lr": 0.001, "batch": 32, "fc_units": 40}

    def read(self, data_dir, train):
        images, labels = load_mnist(data_dir, train)
        keep = labels < 4
        return images[keep][:, :, ::2, ::2].contiguous(), labels[keep]


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(benchmarks.BENCHMARKS, "toy", Toy())  # the registry line


def out(tmp_path):
    return ["--results-dir", str(tmp_path / "results"), "--plot-dir", str(tmp_path / "plots"), "--no-save",
            "--quiet", "--iters=10"]


@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
def test_main_and_task_free_run_on_a_new_benchmark(toy, data_dir, tmp_path, scenario):
    argv = ["--experiment=toy", f"--scenario={scenario}", "--data-dir", data_dir, *out(tmp_path)]
    assert run_cli(main.main, argv) == 0
    assert run_cli(main_task_free.main, argv + ["--fuzziness=2"]) == 0
    names = sorted(p.name for p in (tmp_path / "results").glob("*.json"))
    assert len(names) == 2 and all(n.startswith(f"toy2-{scenario}--") for n in names)


def test_compare_plans_and_prices_a_new_benchmark(toy, data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as planned:  # --plan prints the plan and stops
        run_cli(compare.main, ["--experiment=toy", "--scenario=class", "--data-dir", data_dir, "--plan",
                               *out(tmp_path)])
    assert planned.value.code == 0
    plan = capsys.readouterr().out
    assert "None" in plan and "EWC" in plan and "FROMP" in plan
    # priced from its sizes: 14x14 inputs and 40 units cost less per step than split MNIST's 28x28 and 400
    assert 0 < cost.seconds_per_iter("toy") < cost.seconds_per_iter("splitMNIST") < cost.seconds_per_iter("permMNIST")


METHODS = [("task", "--xdg"), ("task", "--separate-networks"), ("class", "--ewc"), ("class", "--si"),
           ("class", "--kfac-ewc"), ("task", "--ncl"), ("class", "--owm"), ("class", "--lwf"), ("class", "--fromp"),
           ("class", "--replay=buffer"), ("class", "--agem"), ("class", "--icarl"), ("class", "--replay=generative"),
           ("class", "--brain-inspired"), ("class", "--gen-classifier"), ("class", "--gen-classifier --gc-compare"),
           ("class", "--joint"),
           ("class", "--cummulative")]


@pytest.mark.parametrize("scenario, flag", METHODS)
def test_every_method_resolves_its_defaults_on_a_new_benchmark(toy, scenario, flag):
    argv = ["--experiment=toy", f"--scenario={scenario}", *flag.split()]
    args = parse(argv)
    assert methods.enabled_components(args)
    text = describe_defaults(argv)
    assert "paper default (toy" not in text  # nothing claims the paper for a benchmark it never ran
    assert "no published value (toy" in text


@pytest.mark.parametrize("flag, dest", [("--xdg", "gating-prop"), ("--ewc", "lambda"), ("--si", "c"),
                                        ("--fromp", "tau"), ("--brain-inspired", "dg-prop"),
                                        ("--replay=buffer", "budget"), ("--gen-classifier --gc-compare", "z-dim-gc"),
                                        ("--separate-networks", "fc-units")])
def test_a_methods_fallback_is_labelled_and_the_papers_value_named(toy, flag, dest):
    scenario = "task" if flag in ("--xdg", "--separate-networks") else "class"

    def line(experiment):
        text = describe_defaults([f"--experiment={experiment}", f"--scenario={scenario}", *flag.split()])
        return next(x for x in text.splitlines() if x.split()[0] == f"--{dest}")
    assert "no published value (toy)" in line("toy")
    paper = "permMNIST" if flag.startswith("--gen-classifier") else "splitMNIST"
    assert "paper default (" in line(paper) or "set by" in line(paper)


STAMPS = [  # options -> stamp, recorded before benchmarks became files (bench/fingerprints.py)
    ("--experiment=CIFAR100 --scenario=class --brain-inspired --pre-convE --freeze-convE",
     "CIFAR10010-class--CS5x16r4-bn-F3x2000--i5000-lr0.0001-b256-pCvE-e100-fCvE-adam--CondVAE=z100-GMMpc_cg0.7--"
     "generative-KD2-s0"),
    ("--experiment=CIFAR100 --scenario=task --xdg",
     "CIFAR10010-task--CS5x16r4-bn-F3x2000--i5000-lr0.0001-b256-adam--XdG0.85-s0"),
    ("--experiment=CIFAR100 --scenario=domain --ewc",
     "CIFAR10010-domain--CS5x16r4-bn-F3x2000--i5000-lr0.0001-b256-adam--PReg1000-FIdiagNAll-offline-s0"),
    ("--experiment=CIFAR100 --scenario=class --si",
     "CIFAR10010-class--CS5x16r4-bn-F3x2000--i5000-lr0.0001-b256-adam--PReg5-SI0.1-s0"),
    ("--experiment=CIFAR100 --scenario=class --gen-classifier --gc-compare --pre-convE --freeze-convE",
     "CIFAR10010-class--CS5x16r4-bn-F2x85--i5000-lr0.001-b256-pCvE-e100-fCvE-adam--GenC-z20-S50-s0"),
    ("--experiment=CIFAR10 --scenario=task --fromp",
     "CIFAR105-task--CS5x16r4-bn-F3x2000--i5000-lr0.0001-b256-adam--fromp1-b100fromp-s0"),
    ("--experiment=permMNIST --scenario=task --xdg",
     "permMNIST10-task--F3x1000--i5000-lr0.0001-b128-adam--XdG0.6-s0"),
    ("--experiment=splitMNIST --scenario=class --agem",
     "splitMNIST5-class--F3x400--i2000-lr0.001-b128-adam--buffer-aGEM--b100-s0"),
    ("--seed=0 --threads=1 --iters=100 --scenario=class --ewc",
     "splitMNIST5-class--F3x400--i100-lr0.001-b128-adam--PReg1e+09-FIdiagNAll-offline-s0"),
    ("--seed=0 --threads=1 --iters=100 --scenario=class --si",
     "splitMNIST5-class--F3x400--i100-lr0.001-b128-adam--PReg5000-SI0.1-s0"),
    ("--seed=0 --threads=1 --iters=100 --scenario=task --xdg",
     "splitMNIST5-task--F3x400--i100-lr0.001-b128-adam--XdG0.9-s0"),
    ("--seed=0 --threads=1 --iters=100 --scenario=class --fromp",
     "splitMNIST5-class--F3x400--i100-lr0.001-b128-adam--fromp1000-b100fromp-s0"),
    ("--seed=0 --threads=1 --iters=100 --scenario=class --brain-inspired --iters=50",
     "splitMNIST5-class--F3x400--i50-lr0.001-b128-adam--CondVAE=z100-GMMpc_cg0.1--generative-KD2-s0"),
    ("--seed=0 --threads=1 --iters=100 --scenario=class --gen-classifier --gc-compare",
     "splitMNIST5-class--F3x85--i100-lr0.001-b128-adam--GenC-z5-S50-s0"),
    ("--seed=0 --threads=1 --iters=100 --experiment=permMNIST --scenario=domain --contexts=3 --iters=50 --si",
     "permMNIST3-domain--F3x1000--i50-lr0.0001-b128-adam--PReg10-SI0.1-s0"),
    ("--seed=0 --threads=1 --iters=100 --experiment=CIFAR10 --scenario=class --contexts=2 --iters=10 --replay=buffer",
     "CIFAR102-class--CS5x16r4-bn-F3x2000--i10-lr0.0001-b256-adam--buffer--b100-s0"),
]


@pytest.mark.parametrize("options, stamp", STAMPS)
def test_the_papers_benchmarks_keep_their_stamps(options, stamp):
    assert main.param_stamp(parse(options.split())) == stamp


def test_a_toy_run_records_its_data(toy, data_dir, tmp_path):
    record = main.run(parse(["--experiment=toy", "--data-dir", data_dir, *out(tmp_path)]))
    assert len(record["accuracy_matrix"]) == 2 and record["options"]["experiment"] == "toy"
    assert torch.tensor(record["accuracy_matrix"]).shape == (2, 2)


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--xdg", "--ewc", "--si", "--fromp", "--brain-inspired"])
@pytest.mark.parametrize("data", ["rotMNIST", "custom"])
def test_the_methods_run_on_rotated_mnist_and_own_data(data_dir, tmp_path, flag, data):
    from tests.test_custom import write_npz
    where = ["--experiment=rotMNIST", "--data-dir", data_dir] if data == "rotMNIST" else \
        ["--experiment=custom", f"--data-file={write_npz(tmp_path / 'own.npz')}", "--contexts=2"]
    scenario = "--scenario=task" if flag == "--xdg" else "--scenario=class"
    no_norm = ["--no-norm"] if data == "custom" and flag == "--brain-inspired" else []  # (its one-line refusal says so)
    argv = [*where, scenario, flag, *no_norm, "--fc-units=30", "--batch=16", *out(tmp_path)]
    assert run_cli(main.main, argv) == 0
    text = describe_defaults(argv)
    assert "no published value" in text and "paper default" not in text
