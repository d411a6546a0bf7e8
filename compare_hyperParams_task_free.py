#!/usr/bin/env python3
"""The paper's hyper-parameter grids for task-free experiments (its compare_hyperParams_task_free.py), on one seed
by default: SI's c over 0.001 ... 1e7 (decades; None is the value 0) and, in task-IL, XdG's proportion of gated
units over 0 ... 0.95 in steps of 0.05. Prints the best values; writes <plot-dir>/hyperParams-task-free-<problem>.pdf
and <results-dir>/hyperParams-task-free-<problem>.csv/.json. Runs are ./main_task_free.py's, reused from
<results-dir> like compare_task_free.py's.

    ./compare_hyperParams_task_free.py --experiment=splitMNIST --scenario=task --seed=1 [--no-xdg --no-si]
"""
import sys

from compare_hyperParams import TWENTIETHS, Grid, run_grids
from sweep import Method
from utils.errors import run_cli

DROPS = ("no_xdg", "no_si")
SI_C = [10.0 ** k for k in range(-3, 8)]  # 0.001 ... 1e7

GRIDS = [
    Grid(Method("XdG", "--xdg --gating-prop={value:g}", ("task",), "no_xdg", color="deepskyblue"),
         "gating_prop", {"*": TWENTIETHS}, log=False),
    Grid(Method("SI", "--si --c={value:g}", drop="no_si", color="yellowgreen"), "c", {"*": SI_C}),
]


def main(argv=None, grids=GRIDS):
    return run_grids(argv, grids, "compare_hyperParams_task_free",
                     "Grid searches of the methods' hyper-parameters on a task-free stream.", DROPS, task_free=True)


if __name__ == "__main__":
    sys.exit(run_cli(main))
