#!/usr/bin/env python3
"""EWC with five ways of computing its diagonal Fisher, over lambda, as the paper's code's ICLRblogpost/compare_FI.py
(the ICLR 2025 blog post "On the computation of the Fisher Information in continual learning"):

    python3 ICLRblogpost/compare_FI.py --experiment=splitMNIST --scenario=task --seed=1 --n-seeds=30
    python3 ICLRblogpost/compare_FI.py --experiment=CIFAR10 --scenario=task --reducedResNet --iters=2000 --lr=0.001

None, and EWC with the Fisher EXACT (all samples, every label weighted by its probability), EXACT on --fisher-n-all
samples, SAMPLE (a label drawn from the prediction), EMPIRICAL (the true label) and BATCHED (true labels, gradients
of batches of 128), each at lambda 1, 10, ..., 1e13 (--lambdas to choose). As there, EWC is Online EWC with gamma 1
unless --offline is given. Prints each Fisher's accuracy per lambda, its best lambda and the seconds its estimates
took; writes <plot-dir>/FI-<problem>-...pdf (accuracy vs lambda, best accuracies, Fisher seconds) and
<results-dir>/FI-<problem>-....csv/.json. Runs are reused from <results-dir> like compare.py's.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from the project root

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from sweep import run_cli  # noqa: E402
from sweep.catalogue import FISHER_GRIDS  # noqa: E402
from sweep.fisher_study import FisherStudy  # noqa: E402
from utils import argtypes as t  # noqa: E402


def add_args(group):
    group.add_argument("--fisher-n-all", type=t.count, default=500, metavar="N",
                       help="samples of the Fisher 'EXACT (n=N)' (default: %(default)s)")
    group.add_argument("--lambdas", help="comma-separated values of lambda (default: 1, 10, ..., 1e13)")


SWEEP = FisherStudy("ICLRblogpost/compare_FI", "Compare EWC with different ways of computing the Fisher Information.",
                    (), add_args, grids=FISHER_GRIDS, fmt=("fisher_n_all",), values_option="lambdas")


def main(argv=None, **changes):
    return SWEEP.run(argv, **changes)


if __name__ == "__main__":
    sys.exit(run_cli(main))
