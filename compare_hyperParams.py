#!/usr/bin/env python3
"""The paper's hyper-parameter grid searches (on one seed by default), as in its compare_hyperParams.py.

    ./compare_hyperParams.py --experiment=splitMNIST --scenario=task --seed=1 [--no-xdg --no-reg --no-fromp --no-bir]

For each grid: the average accuracy at every value, next to the baseline None (value 0, as the paper counts it);
the best value is printed. Writes <plot-dir>/hyperParams-<problem>.pdf (accuracy vs value, one page per grid) and
<results-dir>/hyperParams-<problem>.csv/.json. Runs are reused from <results-dir> like compare.py's.
"""
import sys

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from sweep import run_cli
from sweep.catalogue import GRIDS
from sweep.grid import GridSearch


def add_args(group):
    group.add_argument("--budgets", help="comma-separated memory budgets for the FROMP grids (default: the paper's)")


SWEEP = GridSearch("compare_hyperParams", "Grid searches of the methods' hyper-parameters.",
                   ("no_xdg", "no_reg", "no_fromp", "no_bir"), add_args, grids=GRIDS)


def main(argv=None, **changes):
    return SWEEP.run(argv, **changes)


if __name__ == "__main__":
    sys.exit(run_cli(main))
