#!/usr/bin/env python3
"""The reproduction report: the paper's tables from the stored results, ours beside the published figures.

    ./report.py [--results-dir=./store/results] [--out-dir=./store]

Writes <out-dir>/report.md and <out-dir>/report.pdf in seconds, from whatever runs are stored (a cell without runs
says "pending", with the command that fills it). It never trains. See README: Reproduction report.
"""
import os
import sys
import time

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

from cli.options import Parser
from utils.errors import UsageError, run_cli


def main(argv=None):
    p = Parser("./report.py", description="The paper's tables from the stored results, with the "
                                "published figures and a verdict per cell.", allow_abbrev=False)
    p.add_argument("--results-dir", default="./store/results", help="the stored results (default: %(default)s)")
    p.add_argument("--out-dir", default="./store", help="where report.md and report.pdf go (default: %(default)s)")
    args = p.parse_args(argv)
    if not os.path.isdir(args.results_dir):
        raise UsageError(f"--results-dir={args.results_dir}: no such folder (run a comparison first, e.g. "
                         "./compare.py --seed=2 --n-seeds=3)")
    start = time.time()
    from sweep import reproduction
    parts = reproduction.build(args.results_dir)
    md, pdf = reproduction.write(parts, args.results_dir, args.out_dir)
    tally = ", ".join(f"{k}: {v}" for k, v in reproduction.counts(parts).items())
    print(f"=> report: {md} and {pdf} ({tally}; {time.time() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
