#!/usr/bin/env python3
"""Run one task-free continual-learning experiment: a stream whose contexts change gradually (or sharply, or at
random) without the learner being told where one ends. Every option of ./main.py, plus --stream, --fuzziness,
--labels-per-batch and --update-every (see README: Task-free experiments).

From Python: `import main_task_free; record = main_task_free.run(scenario="class", replay="buffer")`."""
import sys

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from cli.options import argv_of, describe_defaults, hinting_divergence, parse
from cli.output import check_outputs_written, print_result
from cli.stamp import param_stamp
from train import experiment
from utils.errors import run_cli

PROG = "main_task_free"


def run(args=None, **options):
    """Train (or load) and evaluate one run; returns its record (also written as JSON). `args`: options parsed by
    cli.options.parse; else `options`, keywords as on the command line (see cli.options.argv_of)."""
    if args is None:
        args = parse(argv_of(options, prog=PROG, task_free=True), prog=PROG, task_free=True)
    return experiment.run(args, param_stamp(args))


def main(argv=None):
    args = parse(argv, prog=PROG, task_free=True)
    if args.print_defaults:
        print(describe_defaults(argv, prog=PROG, task_free=True))
        return 0
    if args.get_stamp:
        print(param_stamp(args))
        return 0
    with hinting_divergence(args, argv, PROG, task_free=True):
        result = run(args)
    curve = result.get("curve", {})
    if curve.get("iterations"):
        print("test accuracy (%) per context over the stream (on --acc-n samples each):")
        print("iteration " + " ".join(f"{'C' + str(j + 1):>6}" for j in range(args.contexts)))
        for t, row in zip(curve["iterations"], curve["accuracy"]):
            print(f"{t:<9} " + " ".join(f"{100 * a:6.2f}" for a in row))
    print_result(args, result, phases="after the stream")
    check_outputs_written(args, result)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
