#!/usr/bin/env python3
"""Compare the paper's continual-learning methods on one experiment and scenario, over several seeds.

    ./compare.py --experiment=splitMNIST --scenario=task --seed=2 --n-seeds=20 [any option of ./main.py]

Every run's result is <results-dir>/<stamp>.json (reused when complete and made the same way, so a stopped sweep
resumes; see sweep/stored.py). Prints a table (mean +- SEM of the average accuracy per method, beside the
published figure and a verdict where the runs follow the paper's protocol: sweep/paper.py) and writes
<plot-dir>/summary-<problem>-s<seeds>-<hash>.pdf (bar chart; accuracy on the contexts so far vs number of contexts
learned) and <results-dir>/summary-<problem>-s<seeds>-<hash>.csv/.json, named by the runs they cover.
"""
import sys

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from sweep import run_cli
from sweep.catalogue import PAPER_METHODS
from sweep.compare import Comparison

SWEEP = Comparison("compare", "Compare continual-learning methods over seeds.",
                   ("no_context_spec", "no_reg", "no_fromp", "no_bir", "no_agem"), methods=PAPER_METHODS)


def main(argv=None, **changes):
    return SWEEP.run(argv, **changes)


if __name__ == "__main__":
    sys.exit(run_cli(main))
