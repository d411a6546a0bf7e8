#!/usr/bin/env python3
"""The task-free None run next to a ./main.py None run with the same total number of iterations, in one process.

Both train the default split MNIST MLP on split MNIST (real data from $CL_DATA_DIR when there, else synthetic data
of the same shapes), --iters per context x 5 contexts; the task-free run draws its batches from the fuzzy-boundaries
stream (one context per sample) and, as every task-free run, logs the accuracy curve at --acc-log points (reported
apart: 'logging'). Alternates the two `--repeats` times and keeps the best of each, so that a busy machine penalises
both alike. Target: task-free training within 1.15x of main.py's.

    python3 bench/task_free_vs_main.py [--iters 500] [--repeats 3]
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cli.options import parse  # noqa: E402
from cli.stamp import param_stamp  # noqa: E402
from train.experiment import run  # noqa: E402


def data_dir():
    given = os.environ.get("CL_DATA_DIR")
    if given and os.path.exists(os.path.join(given, "MNIST", "raw")):
        return given, "real MNIST"
    from tests.synthetic import write_mnist
    root = tempfile.mkdtemp()
    write_mnist(root, n_train=6000, n_test=1000)
    return root, "synthetic MNIST-sized data"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=500, help="iterations per context (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    root, what = data_dir()
    out = tempfile.mkdtemp()
    common = ["--data-dir", root, "--results-dir", out, "--no-save", "--quiet", "--no-gpus", "--iters", str(a.iters)]
    runs = {"main.py None (academic)": (common, False),
            "main_task_free.py None (fuzzy)": (common + ["--fuzziness", str(min(500, a.iters // 2))], True)}
    best = {name: {"train": float("inf")} for name in runs}
    for r in range(a.repeats):
        this = {}
        for name, (argv_, task_free) in runs.items():
            args = parse(argv_, prog="main_task_free" if task_free else "main", task_free=task_free)
            this[name] = run(args, param_stamp(args) + f"-bench{r}")["seconds"]
            if this[name]["train"] < best[name]["train"]:
                best[name] = this[name]
        print(f"repeat {r + 1}: " + ", ".join(f"{n} {s['train']:.2f} s" for n, s in this.items()), flush=True)
    print(f"{what}, {a.iters} iterations x 5 contexts, batch 128")
    base = best["main.py None (academic)"]["train"]
    for name, s in best.items():
        logging = s.get("logging", 0.0)
        print(f"{name:<34} training {s['train']:7.2f} s (of which logging {logging:5.2f} s)   "
              f"{s['train'] / base:5.3f}x   without logging {(s['train'] - logging) / base:5.3f}x")


if __name__ == "__main__":
    main()
