#!/usr/bin/env bash
# The paper's experiments, in the order of its all_results.sh (van de Ven, Tuytelaars & Tolias 2022).
# Options given to this script are added to every command, e.g.
#   ./all_results.sh --workers 8                   # 8 runs at a time on this machine
#   ./all_results.sh --ray-address=10.0.0.1:6379   # on a Ray cluster
# Every run is kept in ./store/results and reused: after an interruption, run this script again.
# A command whose runs partly failed reports them and the script goes on.
cd "$(dirname "$0")"

## Split MNIST
./compare_hyperParams.py --seed=1 --experiment=splitMNIST --scenario=task "$@"
./compare_hyperParams.py --seed=1 --experiment=splitMNIST --scenario=domain "$@"
./compare_hyperParams.py --seed=1 --experiment=splitMNIST --scenario=class "$@"

./compare.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=task "$@"
./compare.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=domain "$@"
./compare.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=class "$@"

./compare_replay.py --seed=2 --n-seeds=5 --experiment=splitMNIST --scenario=task --tau-per-budget "$@"
./compare_replay.py --seed=2 --n-seeds=5 --experiment=splitMNIST --scenario=domain --tau-per-budget "$@"
./compare_replay.py --seed=2 --n-seeds=5 --experiment=splitMNIST --scenario=class --tau-per-budget "$@"

## Split CIFAR-100
# The conv layers are pre-trained on CIFAR-10 (100 epochs, augmented), once per seed (1: hyper-parameter grids,
# 2-11: the comparisons), then loaded and frozen. A pre-training whose file (in ./store/models) exists is skipped.
for seed in $(seq 1 11); do
  [ -e "./store/models/C3-5x16-bn-e100-s${seed}" ] ||
    ./main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed="${seed}" ||
    exit 1
done
./compare_hyperParams.py --seed=1 --experiment=CIFAR100 --scenario=task --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"
./compare_hyperParams.py --seed=1 --experiment=CIFAR100 --scenario=domain --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"
./compare_hyperParams.py --seed=1 --experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"

./compare.py --seed=2 --n-seeds=10 --experiment=CIFAR100 --scenario=task --pre-convE --freeze-convE --no-fromp --seed-to-ltag "$@"
./compare.py --seed=2 --n-seeds=10 --experiment=CIFAR100 --scenario=domain --pre-convE --freeze-convE --no-fromp --seed-to-ltag "$@"
# --eval-s=10000: importance samples of the Generative Classifier (its runs only), as the paper
./compare.py --seed=2 --n-seeds=10 --experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE --no-fromp --seed-to-ltag --eval-s=10000 "$@"

./compare_replay.py --seed=2 --n-seeds=5 --experiment=CIFAR100 --scenario=task --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"
./compare_replay.py --seed=2 --n-seeds=5 --experiment=CIFAR100 --scenario=domain --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"
./compare_replay.py --seed=2 --n-seeds=5 --experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"

## Permuted MNIST (--fisher-n is EWC's: 1000 samples for the Fisher information)
./compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=task --fisher-n=1000 --no-xdg --no-fromp --no-bir "$@"
./compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=task --singlehead --fisher-n=1000 --no-reg --no-fromp --no-bir "$@"
./compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=task --singlehead --xdg --gating-prop=0.6 --fisher-n=1000 --no-xdg --no-fromp --no-bir "$@"
./compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=domain --fisher-n=1000 --no-fromp --no-bir "$@"
./compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=class --fisher-n=1000 --no-fromp --no-bir "$@"

./compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=task --no-context-spec --no-fromp --no-bir --no-agem --fisher-n=1000 "$@"
./compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=task --singlehead --xdg --gating-prop=0.6 --no-context-spec --no-fromp --no-bir --no-agem --fisher-n=1000 "$@"
./compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=domain --no-fromp --no-bir --no-agem --fisher-n=1000 "$@"
./compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=class --no-fromp --no-bir --no-agem --fisher-n=1000 "$@"

## Task-free split MNIST (./main_task_free.py runs: fuzzy boundaries, an update every 100 iterations)
./compare_hyperParams_task_free.py --seed=1 --experiment=splitMNIST --scenario=task "$@"
./compare_hyperParams_task_free.py --seed=1 --experiment=splitMNIST --scenario=domain "$@"
./compare_hyperParams_task_free.py --seed=1 --experiment=splitMNIST --scenario=class "$@"

./compare_task_free.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=task --gating-prop=0.45 --c=10 "$@"
./compare_task_free.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=domain --c=10 "$@"
./compare_task_free.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=class --c=10 "$@"
