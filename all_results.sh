#!/usr/bin/env bash
# The paper's experiments, in the order of its all_results.sh (van de Ven, Tuytelaars & Tolias 2022).
# Options given to this script are added to every command, e.g.
#   ./all_results.sh --workers 8                   # 8 runs at a time on this machine
#   ./all_results.sh --ray-address=10.0.0.1:6379   # on a Ray cluster
# Every run is kept in ./store/results and reused: after an interruption, run this script again.
#   ./all_results.sh --plan                        # what it will run, what is done, how long the rest takes
# A command whose runs partly failed reports them and the script goes on.
cd "$(dirname "$0")"
PLAN=
for option in "$@"; do [ "$option" = "--plan" ] && PLAN=1; done

run() {  # one of the paper's commands; with --plan it is only listed, and plan_all.py adds the plans up
  if [ -n "$PLAN" ]; then printf '%q ' "$@"; echo; else "$@"; fi
}

experiments() {

  ## The ICLR 2025 blog post on the Fisher Information: EWC with five ways of computing it, over lambda 1 ... 1e13
  run python3 ICLRblogpost/compare_FI.py --seed=1 --n-seeds=30 --experiment=splitMNIST --scenario=task "$@"
  run python3 ICLRblogpost/compare_FI.py --seed=1 --n-seeds=30 --experiment=CIFAR10 --scenario=task --reducedResNet --iters=2000 --lr=0.001 "$@"

  ## The NeurIPS 2022 tutorial "Lifelong Learning Machines": two methods per strategy (its runs are ./compare.py's)
  run python3 NeurIPStutorial/compare_for_tutorial.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=task "$@"
  run python3 NeurIPStutorial/compare_for_tutorial.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=domain "$@"
  run python3 NeurIPStutorial/compare_for_tutorial.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=class "$@"

  ## Split MNIST
  run ./compare_hyperParams.py --seed=1 --experiment=splitMNIST --scenario=task "$@"
  run ./compare_hyperParams.py --seed=1 --experiment=splitMNIST --scenario=domain "$@"
  run ./compare_hyperParams.py --seed=1 --experiment=splitMNIST --scenario=class "$@"

  run ./compare.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=task "$@"
  run ./compare.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=domain "$@"
  run ./compare.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=class "$@"

  run ./compare_replay.py --seed=2 --n-seeds=5 --experiment=splitMNIST --scenario=task --tau-per-budget "$@"
  run ./compare_replay.py --seed=2 --n-seeds=5 --experiment=splitMNIST --scenario=domain --tau-per-budget "$@"
  run ./compare_replay.py --seed=2 --n-seeds=5 --experiment=splitMNIST --scenario=class --tau-per-budget "$@"

  ## Split CIFAR-100
  # The conv layers are pre-trained on CIFAR-10 (100 epochs, augmented), once per seed (1: hyper-parameter grids,
  # 2-11: the comparisons), then loaded and frozen. A pre-training whose file (in ./store/models) exists is skipped.
  for seed in $(seq 1 11); do
    [ -e "./store/models/C3-5x16-bn-e100-s${seed}" ] ||
      run ./main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed="${seed}" ||
      exit 1
  done
  run ./compare_hyperParams.py --seed=1 --experiment=CIFAR100 --scenario=task --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"
  run ./compare_hyperParams.py --seed=1 --experiment=CIFAR100 --scenario=domain --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"
  run ./compare_hyperParams.py --seed=1 --experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"

  run ./compare.py --seed=2 --n-seeds=10 --experiment=CIFAR100 --scenario=task --pre-convE --freeze-convE --no-fromp --seed-to-ltag "$@"
  run ./compare.py --seed=2 --n-seeds=10 --experiment=CIFAR100 --scenario=domain --pre-convE --freeze-convE --no-fromp --seed-to-ltag "$@"
  # --eval-s=10000: importance samples of the Generative Classifier (its runs only), as the paper
  run ./compare.py --seed=2 --n-seeds=10 --experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE --no-fromp --seed-to-ltag --eval-s=10000 "$@"

  run ./compare_replay.py --seed=2 --n-seeds=5 --experiment=CIFAR100 --scenario=task --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"
  run ./compare_replay.py --seed=2 --n-seeds=5 --experiment=CIFAR100 --scenario=domain --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"
  run ./compare_replay.py --seed=2 --n-seeds=5 --experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE --seed-to-ltag --no-fromp "$@"

  ## Permuted MNIST (--fisher-n is EWC's: 1000 samples for the Fisher information)
  run ./compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=task --fisher-n=1000 --no-xdg --no-fromp --no-bir "$@"
  run ./compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=task --singlehead --fisher-n=1000 --no-reg --no-fromp --no-bir "$@"
  run ./compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=task --singlehead --xdg --gating-prop=0.6 --fisher-n=1000 --no-xdg --no-fromp --no-bir "$@"
  run ./compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=domain --fisher-n=1000 --no-fromp --no-bir "$@"
  run ./compare_hyperParams.py --seed=1 --experiment=permMNIST --scenario=class --fisher-n=1000 --no-fromp --no-bir "$@"

  run ./compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=task --no-context-spec --no-fromp --no-bir --no-agem --fisher-n=1000 "$@"
  run ./compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=task --singlehead --xdg --gating-prop=0.6 --no-context-spec --no-fromp --no-bir --no-agem --fisher-n=1000 "$@"
  run ./compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=domain --no-fromp --no-bir --no-agem --fisher-n=1000 "$@"
  run ./compare.py --seed=2 --n-seeds=5 --experiment=permMNIST --scenario=class --no-fromp --no-bir --no-agem --fisher-n=1000 "$@"

  ## Task-free split MNIST (./main_task_free.py runs: fuzzy boundaries, an update every 100 iterations)
  run ./compare_hyperParams_task_free.py --seed=1 --experiment=splitMNIST --scenario=task "$@"
  run ./compare_hyperParams_task_free.py --seed=1 --experiment=splitMNIST --scenario=domain "$@"
  run ./compare_hyperParams_task_free.py --seed=1 --experiment=splitMNIST --scenario=class "$@"

  run ./compare_task_free.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=task --gating-prop=0.45 --c=10 "$@"
  run ./compare_task_free.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=domain --c=10 "$@"
  run ./compare_task_free.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=class --c=10 "$@"
}

if [ -n "$PLAN" ]; then
  experiments "$@" | python3 plan_all.py
else
  experiments "$@"
  results=  # the report reads the folder the runs went to (given as --results-dir=...)
  for option in "$@"; do case "$option" in --results-dir=*) results="$option" ;; esac; done
  ./report.py $results  # every stored result -> store/report.md and store/report.pdf (seconds; it trains nothing)
fi
