#!/usr/bin/env python3
"""Methods that store data, over memory budgets, as the paper's compare_replay.py.

    ./compare_replay.py --experiment=splitMNIST --scenario=class --seed=2 --n-seeds=5 [--tau-per-budget]

ER, A-GEM, FROMP (budgets up to 1000) and iCaRL (class-IL) at each budget, with None and Joint as reference lines.
Writes <plot-dir>/summaryExactRep-<problem>.pdf (accuracy vs budget) and <results-dir>/summaryExactRep-<problem>
.csv/.json. Runs are reused from <results-dir> like compare.py's.
"""
import sys

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from sweep import run_cli
from sweep.budgets import BudgetSweep
from sweep.catalogue import BUDGET_METHODS, method


def add_args(group):
    group.add_argument("--budgets", help="comma-separated memory budgets (default: the paper's list)")
    group.add_argument("--tau-per-budget", action="store_true", help="FROMP: the paper's best tau for each budget")


SWEEP = BudgetSweep("compare_replay", "Methods that store data, over memory budgets.", ("no_fromp", "no_agem"),
                    add_args, methods=BUDGET_METHODS, references=[method("None"), method("Joint")],
                    budgets={"CIFAR100": [1, 2, 5, 10, 20, 50, 100, 200, 500],
                             "*": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]})  # split MNIST, others


def main(argv=None, **changes):
    return SWEEP.run(argv, **changes)


if __name__ == "__main__":
    sys.exit(run_cli(main))
