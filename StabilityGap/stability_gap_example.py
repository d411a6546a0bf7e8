#!/usr/bin/env python3
"""The stability gap, as the paper's code's StabilityGap/stability_gap_example.py shows it (De Lange et al., ICLR
2023; Hess et al., 2023): rotated MNIST (0, 80, 160 degrees), domain-IL, a fully connected 2 x 400 network trained
by incremental joint training (all data so far, a batch of 128 per context seen; SGD, lr 0.1, 500 iterations per
context), with context 1 tested on 2000 test samples after every iteration. The accuracy on context 1 drops for a
while after each switch, although every earlier context is trained on again.

    python3 StabilityGap/stability_gap_example.py [--n-seeds=N] [any option of ./main.py]
    python3 StabilityGap/stability_gap_example.py --replay=buffer       # the gap of another method instead
    python3 StabilityGap/stability_gap_example.py --methods="Incremental Joint,None,ER,EWC"   # in one figure

Writes <plot-dir>/stability_gap_example-<problem>-<seeds>-<hash>.pdf (context 1's accuracy over the iterations per
method, the switches marked) and <results-dir>/...csv/.json (per switch: accuracy before it, the lowest after it,
the depth, and the iterations until it is back within 1 point). Runs are reused from <results-dir> like
./compare.py's.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from sweep import run_cli  # noqa: E402
from sweep.catalogue import PAPER_METHODS, Method  # noqa: E402
from sweep.curves import CurveSweep  # noqa: E402

SWEEP = CurveSweep(
    "StabilityGap/stability_gap_example", "The stability gap: accuracy on context 1 after every iteration.",
    methods=[Method("Incremental Joint", "--cummulative --grow-batch", color="black")]
    + [m for m in PAPER_METHODS if m.name != "Joint"],
    defaults=("--experiment=rotMNIST", "--rotations=0,80,160", "--scenario=domain", "--fc-layers=3",
              "--fc-units=400", "--optimizer=sgd", "--lr=0.1", "--iters=500", "--batch=128",
              "--eval-contexts=1", "--eval-every=1", "--eval-n=2000"),
    ylim=(70, 100))


def main(argv=None, **changes):
    return SWEEP.run(argv, **changes)


if __name__ == "__main__":
    sys.exit(run_cli(main))
