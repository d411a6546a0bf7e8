#!/usr/bin/env python3
"""Run one continual-learning experiment in the academic setting (contexts with known boundaries).

From Python (a notebook): `import main; record = main.run(experiment="splitMNIST", scenario="class", si=True)`
takes the command line's options as keywords and returns the run's record (the results JSON's contents)."""
import sys

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from cli.options import argv_of, describe_defaults, hinting_divergence, parse
from cli.output import check_outputs_written, print_result
from cli.stamp import param_stamp
from train import experiment
from utils.errors import run_cli


def run(args=None, **options):
    """Train (or load) and evaluate one run; returns its record (also written as JSON). `args`: options parsed by
    cli.options.parse; else `options`, keywords as on the command line (see cli.options.argv_of)."""
    args = parse(argv_of(options)) if args is None else args
    return experiment.run(args, param_stamp(args))


def main(argv=None):
    args = parse(argv)
    if args.print_defaults:
        print(describe_defaults(argv))
        return 0
    if args.get_stamp:
        print(param_stamp(args))
        return 0
    with hinting_divergence(args, argv, "main"):
        result = run(args)
    print_result(args, result)
    check_outputs_written(args, result)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
