#!/usr/bin/env python3
"""Training seconds per iteration of every method of the paper's comparison, relative to None, side by side in one
run: the figures behind sweep/cost.py's cost model (which --plan and the sweeps' ETA use when no finished run of a
method exists yet). One short run per method (--iters per context, the default number of contexts), class-IL
(task-IL for the methods that exist only there), one torch thread as the sweeps run them; the seconds are the
training loop's (data loading and evaluation excluded).

Usage: CL_DATA_DIR=... python3 bench/method_costs.py [--experiment splitMNIST|permMNIST|CIFAR10|CIFAR100]
       [--iters N]
CIFAR runs with frozen conv layers (--freeze-convE, randomly initialised: their values do not change the cost), so
every method but DGR trains on the features computed once. CIFAR-100 is not on this machine: synthetic data of its
format and size (tests/synthetic.py) give the same arithmetic.

Each line also extrapolates the whole default protocol (e.g. CIFAR-100: 5000 iterations x 10 contexts): the
measured seconds per iteration x its iterations, plus the measured rest of the run (data loading, features
computed once, the evaluation after each context: none of it depends on --iters). The Generative Classifier's
evaluation grows linearly with --eval-s (one decoder pass per importance sample), so its line also gives it at the
paper's CIFAR-100 --eval-s=10000.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sweep  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--experiment", default="splitMNIST", choices=["splitMNIST", "permMNIST", "CIFAR10", "CIFAR100"])
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--methods", help="comma-separated names (default: all)")
    p.add_argument("--results-dir", default="/tmp/method_costs")
    a = p.parse_args()
    extra = ["--freeze-convE"] if a.experiment.startswith("CIFAR") else []
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
        defaults = sweep.try_parse([t for t in shared if not t.startswith("--iters")])[0]
        out = sweep.run_one(argv)
        if "error" in out:
            print(f"{method.name:22s} failed: {out['error']}")
            continue
        r = out["result"]
        parsed = sweep.try_parse(argv)[0]
        iterations = sweep.cost_of(parsed, False)[1]  # the iterations the cost model counts
        per_iter = r["seconds"]["train"] / iterations
        if base is None:
            base = per_iter
        full_argv = [t for t in argv if not t.startswith("--iters")] + sweep.method_tokens(method, defaults)
        full = sweep.cost_of(sweep.try_parse(full_argv)[0], False)[1]  # the default protocol's iterations
        rest = r["seconds"]["total"] - r["seconds"]["train"]  # loading, features, evaluation: not per iteration
        line = (f"{method.name:22s} {1000 * per_iter:8.2f} ms/iter  {per_iter / base:5.2f}x None  "
                f"(eval {r['seconds']['eval']:.1f} s, {scenario}-IL)  full protocol ({full} iterations): "
                f"{(per_iter * full + rest) / 3600:.1f} h")
        if method.name == "Generative Classifier":
            paper = per_iter * full + rest + r["seconds"]["eval"] * (10000 / parsed.eval_s - 1)
            line += f"; at --eval-s=10000: {paper / 3600:.1f} h"
        print(line, flush=True)


if __name__ == "__main__":
    main()
