#!/usr/bin/env python3
"""Compare the paper's methods in task-free continual learning (./main_task_free.py runs), over several seeds.

    ./compare_task_free.py --experiment=splitMNIST --scenario=class --seed=2 --n-seeds=20 [any option of
        ./main_task_free.py] [--no-context-spec --no-si --no-agem --replay-update N]

The paper's list (its compare_task_free.py): None, Joint (the random stream), in task-IL Separate Networks and XdG,
SI, LwF, ER, A-GEM, in class-IL (modified) iCaRL and the Generative Classifier. ER, A-GEM and iCaRL update their
replay source every --replay-update iterations (default 1, as the paper), so replay starts at that iteration.
Results, resume, --workers, --ray-address, table, CSV/JSON and pdf as ./compare.py; the files are
summary-task-free-<problem>.*, and the pdf's second page is the average accuracy over the stream.
"""
import sys

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from sweep import UsageError, run_cli
from sweep.catalogue import TASK_FREE_METHODS
from sweep.compare import Comparison


def positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"--replay-update={text}: expected a positive integer")
    return value


def add_args(group):
    group.add_argument("--replay-update", type=positive, default=1, metavar="N", dest="replay_update",
                       help="ER, A-GEM, iCaRL: iterations between updates of the replay source, so replay starts at "
                            "iteration N (default: %(default)s)")


SWEEP = Comparison("compare_task_free", "Compare continual-learning methods on a task-free stream, over seeds.",
                   ("no_context_spec", "no_si", "no_agem"), add_args, task_free=True, methods=TASK_FREE_METHODS,
                   fmt=("replay_update",))


def main(argv=None, **changes):
    return SWEEP.run(argv, **changes)


if __name__ == "__main__":
    sys.exit(run_cli(main))
