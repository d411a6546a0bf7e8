#!/usr/bin/env python3
"""Wall time of one comparison with its runs dispatched longest first (as the sweeps do) and in the list's order
(as they did before), one after the other in one run, each into a fresh results folder. Default: the task-IL split MNIST
comparison with --iters cut to a tenth (200) and 2 workers.

Usage: CL_DATA_DIR=... python3 bench/dispatch_order.py [--workers 2] [compare.py options ...]
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import compare  # noqa: E402
import sweep  # noqa: E402
from sweep import preview  # noqa: E402


def jobs_of(argv):
    s = sweep.setup(argv, "compare", "", compare.SWEEP.drops)
    jobs = []
    for method in sweep.PAPER_METHODS:
        if sweep.applies(method, s.args.scenario, s.sweep):
            jobs += sweep.method_jobs(s, method) or []
    return s, jobs


def main():
    argv = sys.argv[1:] or ["--experiment=splitMNIST", "--scenario=task", "--iters=200", "--workers=2"]
    times = {}
    for order in ("list order", "longest first"):
        with tempfile.TemporaryDirectory() as folder:
            s, jobs = jobs_of([*argv, f"--results-dir={folder}", "--no-save", "--quiet"])
            survey = preview.survey(jobs, s.expect, s.sweep.workers or 2)
            costs = {j.path: e.seconds for j, _, e in survey.runs} if order.startswith("longest") else None
            start = time.perf_counter()
            assert sweep.execute(jobs, s.sweep.workers, None, s.expect, costs) == 0
            times[order] = time.perf_counter() - start
            print(f"{order:14s} {times[order]:7.1f} s wall for {len(jobs)} runs", flush=True)
    print(f"longest first / list order: {times['longest first'] / times['list order']:.2f}")


if __name__ == "__main__":
    main()
