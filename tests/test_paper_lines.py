"""Every command line of the paper's code's all_results.sh (GMvandeVen/continual-learning at e6d795a, in its order)
runs here unchanged: each sweep line plans with --plan and exits 0, and each ./main_pretrain.py line parses."""
import os
import re
import shlex
import subprocess
import sys

import main_pretrain
from tests.conftest import ROOT

PAPER_LINES = [
    'python3 ICLRblogpost/compare_FI.py --seed=1 --n-seeds=30 --experiment=splitMNIST --scenario=task',
    'python3 ICLRblogpost/compare_FI.py --seed=1 --n-seeds=30 --experiment=CIFAR10 --scenario=task --reducedResNet --iters=2000 --lr=0.001',
    'python NeurIPStutorial/compare_for_tutorial.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=task',
    'python NeurIPStutorial/compare_for_tutorial.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=domain',
    'python NeurIPStutorial/compare_for_tutorial.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=class',
    './compare_hyperParams.py --seed=1 --experiment=splitMNIST --scenario=task',
    './compare_hyperParams.py --seed=1 --experiment=splitMNIST --scenario=domain',
    './compare_hyperParams.py --seed=1 --experiment=splitMNIST --scenario=class',
    './compare.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=task',
    './compare.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=domain',
    './compare.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=class',
    './compare_replay.py --seed=2 --n-seeds=5 --experiment=splitMNIST --scenario=task --tau-per-budget',
    './compare_replay.py --seed=2 --n-seeds=5 --experiment=splitMNIST --scenario=domain --tau-per-budget',
    './compare_replay.py --seed=2 --n-seeds=5 --experiment=splitMNIST --scenario=class --tau-per-budget',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=1',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=2',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=3',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=4',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=5',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=6',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=7',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=8',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=9',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=10',
    './main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=11',
    './compare_hyperParams.py --seed=1 --experiment=CIFAR100 --scenario=task --pre-convE --freeze-convE --seed-to-ltag --no-fromp',
    './compare_hyperParams.py --seed=1 --experiment=CIFAR100 --scenario=domain --pre-convE --freeze-convE --seed-to-ltag --no-fromp',
    './compare_hyperParams.py --seed=1 --experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE --seed-to-ltag --no-fromp',
    './compare.py --seed=2 --n-seeds=10 --experiment=CIFAR100 --scenario=task --pre-convE --freeze-convE --no-fromp --seed-to-ltag',
    './compare.py --seed=2 --n-seeds=10 --experiment=CIFAR100 --scenario=domain --pre-convE --freeze-convE --no-fromp --seed-to-ltag',
    './compare.py --seed=2 --n-seeds=10 --experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE --no-fromp --seed-to-ltag --eval-s=10000',
    './compare_replay.py --seed=2 --n-seeds=5 --experiment=CIFAR100 --scenario=task --pre-convE --freeze-convE --seed-to-ltag --no-fromp',
    './compare_replay.py --seed=2 --n-seeds=5 --experiment=CIFAR100 --scenario=domain --pre-convE --freeze-convE --seed-to-ltag --no-fromp',
    './compare_replay.py --seed=2 --n-seeds=5 --experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE --seed-to-ltag --no-fromp',
    './compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=task --fisher-n=1000 --no-xdg --no-fromp --no-bir',
    './compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=task --singlehead --fisher-n=1000 --no-reg --no-fromp --no-bir',
    './compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=task --singlehead --xdg --gating-prop=0.6 --fisher-n=1000 --no-xdg --no-fromp --no-bir',
    './compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=domain --fisher-n=1000 --no-fromp --no-bir',
    './compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=task --no-context-spec --no-fromp --no-bir --no-agem --fisher-n=1000',
    './compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=task --singlehead --xdg --gating-prop=0.6 --no-context-spec --no-fromp --no-bir --no-agem --fisher-n=1000',
    './compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=domain --no-fromp --no-bir --no-agem --fisher-n=1000',
    './compare_hyperParams_task_free.py --seed=1 --experiment=splitMNIST --scenario=task',
    './compare_hyperParams_task_free.py --seed=1 --experiment=splitMNIST --scenario=domain',
    './compare_hyperParams_task_free.py --seed=1 --experiment=splitMNIST --scenario=class',
    './compare_task_free.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=task --gating-prop=0.45 --c=10.',
    './compare_task_free.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=domain --c=10.',
    './compare_task_free.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=class --c=10.',
]


def test_every_sweep_line_plans(tmp_path):
    sweeps = [line for line in PAPER_LINES if "main_pretrain.py" not in line]
    stdin = "\n".join(f"{line} --results-dir={tmp_path / 'r'} --model-dir={tmp_path / 'm'}" for line in sweeps)
    env = dict(os.environ, CL_DATA_DIR=str(tmp_path / "no-data"))
    r = subprocess.run([sys.executable, os.path.join(ROOT, "plan_all.py")], input=stdin + "\n", cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    planned = re.findall(r"^plan: \./(\S+\.py) ", r.stdout, re.M)
    assert planned == [shlex.split(line)[1 if line.startswith("python") else 0].lstrip("./") for line in sweeps]
    assert re.search(rf"^all: \d+ runs in {len(sweeps)} sweeps, 0 done", r.stdout, re.M)
    assert not list((tmp_path / "r").glob("*.json"))


def test_every_pretrain_line_parses():
    pretrain = [shlex.split(line)[1:] for line in PAPER_LINES if "main_pretrain.py" in line]
    assert len(pretrain) == 11
    for seed, argv in enumerate(pretrain, 1):
        args = main_pretrain.parse(argv)
        assert (args.experiment, args.epochs, args.augment, args.seed) == ("CIFAR10", 100, True, seed)
