#!/usr/bin/env python3
"""Training seconds per iteration of every method of the paper's comparison, relative to None, side by side in one
run: the figures behind sweep/cost.py's cost model (which --plan and the sweeps' ETA use when no finished run of a
method exists yet). One short run per method (--iters per context, the default number of contexts), class-IL
(task-IL for the methods that exist only there), one torch thread as the sweeps run them; the seconds are the
training loop's (data loading and evaluation excluded).

Usage: CL_DATA_DIR=... python3 bench/method_costs.py [--experiment splitMNIST|permMNIST|CIFAR10|CIFAR100]
       [--iters N]
CIFAR runs with frozen conv layers (--freeze-convE, randomly initialised: their values do not change the cost), so
every method but DGR trains on the features computed once. Where the data folder has no CIFAR-100 (as on this
machine), the bench writes synthetic data of its format and size (tests/synthetic.py: 500 training and 100 test
images per class) to a temporary folder and says so: the arithmetic is the same.

Each line also extrapolates the whole default protocol (e.g. CIFAR-100: 5000 iterations x 10 contexts): the
measured seconds per iteration x its iterations, plus the measured rest of the run (data loading, features
computed once, the evaluation after each context: none of it depends on --iters). Work a method does once per
context inside training (EWC's Fisher, iCaRL's herding, FROMP's memorable points) would be counted as per-iteration
cost by one short run; `--fit` runs each method also at 2x --iters and takes the per-iteration cost from the
difference, the rest as a fixed cost. The Generative Classifier's
evaluation grows linearly with --eval-s (one decoder pass per importance sample), so its line also gives it at the
paper's CIFAR-100 --eval-s=10000.
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sweep  # noqa: E402
from tests.synthetic import write_cifar  # noqa: E402
from utils.runtime import data_dir  # noqa: E402


def synthetic_cifar100_if_missing(experiment, scratch):
    """Point CL_DATA_DIR at synthetic CIFAR-100 of the official format and size when the data folder lacks it."""
    root = data_dir()
    if experiment != "CIFAR100" or any(os.path.exists(os.path.join(root, name))
                                       for name in ("cifar-100-python", "cifar-100-python.tar.gz")):
        return
    write_cifar(scratch, classes=100, n_train=500, n_test=100)
    os.environ["CL_DATA_DIR"] = scratch
    print(f"no CIFAR-100 in {root}: synthetic data of its format and size in {scratch}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--experiment", default="splitMNIST", choices=["splitMNIST", "permMNIST", "CIFAR10", "CIFAR100"])
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--methods", help="comma-separated names (default: all)")
    p.add_argument("--results-dir", default="/tmp/method_costs")
    p.add_argument("--fit", action="store_true",
                   help="also run 2x --iters and fit seconds = fixed + per-iteration x iterations (methods whose "
                        "consolidation between contexts costs more than a few iterations: EWC's Fisher...)")
    a = p.parse_args()
    scratch = tempfile.TemporaryDirectory()
    synthetic_cifar100_if_missing(a.experiment, scratch.name)
    extra = ["--freeze-convE"] if a.experiment.startswith("CIFAR") else []
    chosen = a.methods.split(",") if a.methods else None
    base = None
    runs = f"{a.iters} and {2 * a.iters}" if a.fit else f"{a.iters}"
    print(f"{a.experiment}, {runs} iterations per context, 1 thread: training seconds per iteration")
    for method in sweep.PAPER_METHODS:
        if chosen and method.name not in chosen:
            continue
        scenario = "class" if "class" in method.scenarios else "task"
        shared = [f"--experiment={a.experiment}", f"--scenario={scenario}", "--threads=1", "--no-save", "--quiet",
                  f"--results-dir={a.results_dir}", *extra]
        defaults = sweep.try_parse(shared)[0]
        measured = [measure(shared + [f"--iters={n}"] + sweep.method_tokens(method, defaults))
                    for n in ([a.iters, 2 * a.iters] if a.fit else [a.iters])]
        if any("error" in m for m in measured):
            print(f"{method.name:22s} failed: {next(m['error'] for m in measured if 'error' in m)}")
            continue
        r, parsed = measured[0]["result"], measured[0]["args"]
        (n1, t1), *second = [(m["iterations"], m["train"]) for m in measured]
        if second:  # per-context work (Fisher, herding, memorable points...) is the intercept, not per iteration
            n2, t2 = second[0]
            per_iter = (t2 - t1) / (n2 - n1)
            fixed = t1 - per_iter * n1
        else:
            per_iter, fixed = t1 / n1, 0.0
        if base is None:
            base = per_iter
        full = sweep.cost_of(sweep.try_parse(shared + sweep.method_tokens(method, defaults))[0], False)[1]
        rest = r["seconds"]["total"] - r["seconds"]["train"]  # loading, features, evaluation: not per iteration
        line = (f"{method.name:22s} {1000 * per_iter:8.2f} ms/iter  {per_iter / base:5.2f}x None  "
                + (f"(fixed {fixed:.1f} s) " if second else "")
                + f"(eval {r['seconds']['eval']:.1f} s, {scenario}-IL)  full protocol ({full} iterations): "
                f"{(per_iter * full + fixed + rest) / 3600:.1f} h")
        if method.name == "Generative Classifier":
            paper = per_iter * full + fixed + rest + r["seconds"]["eval"] * (10000 / parsed.eval_s - 1)
            line += f"; at --eval-s=10000: {paper / 3600:.1f} h"
        print(line, flush=True)


def measure(argv):
    """One run: its training seconds, the iterations the cost model counts, its record and its parsed options."""
    out = sweep.run_one(argv)
    if "error" in out:
        return out
    parsed = sweep.try_parse(argv)[0]
    return {"train": out["result"]["seconds"]["train"], "iterations": sweep.cost_of(parsed, False)[1],
            "result": out["result"], "args": parsed}


if __name__ == "__main__":
    main()
