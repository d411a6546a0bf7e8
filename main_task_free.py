#!/usr/bin/env python3
"""Run one task-free continual-learning experiment: a stream whose contexts change gradually (or sharply, or at
random) without the learner being told where one ends. Every option of ./main.py, plus --stream, --fuzziness,
--labels-per-batch and --update-every (see README: Task-free experiments)."""
import sys

from cli.options import describe_defaults, parse
from cli.output import print_result
from cli.stamp import param_stamp
from train import experiment
from utils.errors import run_cli

PROG = "main_task_free"


def run(args):
    """Train (or load) and evaluate the run `args` describes; returns its result dictionary (also written as JSON)."""
    return experiment.run(args, param_stamp(args))


def main(argv=None):
    args = parse(argv, prog=PROG, task_free=True)
    if args.print_defaults:
        print(describe_defaults(argv, prog=PROG, task_free=True))
        return 0
    if args.get_stamp:
        print(param_stamp(args))
        return 0
    result = run(args)
    curve = result.get("curve", {})
    if curve.get("iterations"):
        print("test accuracy (%) per context over the stream (on --acc-n samples each):")
        print("iteration " + " ".join(f"{'C' + str(j + 1):>6}" for j in range(args.contexts)))
        for t, row in zip(curve["iterations"], curve["accuracy"]):
            print(f"{t:<9} " + " ".join(f"{100 * a:6.2f}" for a in row))
    print_result(args, result, phases="after the stream")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
