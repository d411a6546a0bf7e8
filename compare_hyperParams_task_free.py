#!/usr/bin/env python3
"""The paper's hyper-parameter grids for task-free experiments (its compare_hyperParams_task_free.py), on one seed
by default: SI's c over 0.001 ... 1e7 (decades; None is the value 0) and, in task-IL, XdG's proportion of gated
units over 0 ... 0.95 in steps of 0.05. Prints the best values; writes <plot-dir>/hyperParams-task-free-<problem>.pdf
and <results-dir>/hyperParams-task-free-<problem>.csv/.json. Runs are ./main_task_free.py's, reused from
<results-dir> like compare_task_free.py's.

    ./compare_hyperParams_task_free.py --experiment=splitMNIST --scenario=task --seed=1 [--no-xdg --no-si]
"""
import sys

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from sweep import run_cli
from sweep.catalogue import TASK_FREE_GRIDS
from sweep.grid import GridSearch

SWEEP = GridSearch("compare_hyperParams_task_free",
                   "Grid searches of the methods' hyper-parameters on a task-free stream.", ("no_xdg", "no_si"),
                   task_free=True, grids=TASK_FREE_GRIDS)


def main(argv=None, **changes):
    return SWEEP.run(argv, **changes)


if __name__ == "__main__":
    sys.exit(run_cli(main))
