#!/usr/bin/env python3
"""The comparison of the NeurIPS 2022 tutorial "Lifelong Learning Machines" (the paper's code's
NeurIPStutorial/compare_for_tutorial.py): two example methods per computational strategy on one experiment and
scenario, over seeds.

    python3 NeurIPStutorial/compare_for_tutorial.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=class

None and Joint; EWC and SI (parameter regularisation); LwF and FROMP (functional regularisation); DGR and ER
(replay); Separate Networks and XdG (context-specific components, task-IL only); the Generative Classifier and
iCaRL (template-based classification, class-IL only). Colours per strategy, as the tutorial's.
Writes <plot-dir>/tutorialplots-<problem>-<seeds>-<hash>.pdf (bar chart of the average accuracy after all contexts
with 95% confidence intervals when there are several seeds; the average accuracy on the contexts so far as
training goes on) and <results-dir>/tutorialplots-...csv/.json. Its runs are ./compare.py's: each reuses the other's.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from sweep import run_cli  # noqa: E402
from sweep.catalogue import TUTORIAL_METHODS  # noqa: E402
from sweep.compare import Comparison  # noqa: E402

SWEEP = Comparison("NeurIPStutorial/compare_for_tutorial", "Compare and plot two methods per strategy, as the "
                   "NeurIPS 2022 tutorial.", methods=TUTORIAL_METHODS, prefix="tutorialplots", ci=True)


def main(argv=None, **changes):
    return SWEEP.run(argv, **changes)


if __name__ == "__main__":
    sys.exit(run_cli(main))
