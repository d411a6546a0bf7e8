#!/usr/bin/env python3
"""Run one continual-learning experiment in the academic setting (contexts with known boundaries)."""
import sys

from cli.options import describe_defaults, parse
from cli.output import print_result
from cli.stamp import param_stamp
from train import experiment
from train.experiment import build_learner  # noqa: F401  (tests and benchmarks build learners through main)
from utils.errors import run_cli


def run(args):
    """Train (or load) and evaluate the run `args` describes; returns its result dictionary (also written as JSON)."""
    return experiment.run(args, param_stamp(args))


def main(argv=None):
    args = parse(argv)
    if args.print_defaults:
        print(describe_defaults(argv))
        return 0
    if args.get_stamp:
        print(param_stamp(args))
        return 0
    result = run(args)
    print_result(args, result)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
