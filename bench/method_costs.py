#!/usr/bin/env python3
"""Training seconds per iteration of every method of the paper's comparison, relative to None, side by side in one
run: the figures behind sweep/cost.py's cost model (which --plan and the sweeps' ETA use when no finished run of a
method exists yet). One short run per method (--iters per context, the default number of contexts), class-IL
(task-IL for the methods that exist only there), one torch thread as the sweeps run them; the seconds are the
training loop's (data loading and evaluation excluded).

Usage: CL_DATA_DIR=... python3 bench/method_costs.py [--experiment splitMNIST|permMNIST|CIFAR10] [--iters N]
CIFAR10 runs with frozen conv layers (--freeze-convE, randomly initialised: their values do not change the cost).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sweep  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--experiment", default="splitMNIST", choices=["splitMNIST", "permMNIST", "CIFAR10"])
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--methods", help="comma-separated names (default: all)")
    p.add_argument("--results-dir", default="/tmp/method_costs")
    a = p.parse_args()
    extra = ["--freeze-convE"] if a.experiment == "CIFAR10" else []
    chosen = a.methods.split(",") if a.methods else None
    base = None
    print(f"{a.experiment}, {a.iters} iterations per context, 1 thread: training seconds per iteration")
    for method in sweep.PAPER_METHODS:
        if chosen and method.name not in chosen:
            continue
        scenario = "class" if "class" in method.scenarios else "task"
        shared = [f"--experiment={a.experiment}", f"--scenario={scenario}", f"--iters={a.iters}", "--threads=1",
                  "--no-save", "--quiet", f"--results-dir={a.results_dir}", *extra]
        argv = shared + sweep.method_tokens(method, sweep.try_parse(shared)[0])
        out = sweep.run_one(argv)
        if "error" in out:
            print(f"{method.name:22s} failed: {out['error']}")
            continue
        r = out["result"]
        iterations = sweep.cost_of(sweep.try_parse(argv)[0], False)[1]  # the iterations the cost model counts
        per_iter = r["seconds"]["train"] / iterations
        if base is None:
            base = per_iter
        print(f"{method.name:22s} {1000 * per_iter:8.2f} ms/iter  {per_iter / base:5.2f}x None  "
              f"(eval {r['seconds']['eval']:.1f} s, {scenario}-IL)", flush=True)


if __name__ == "__main__":
    main()
