#!/usr/bin/env python3
"""Seconds per 100 training iterations of each method on split CIFAR-10 at the paper's CIFAR architecture
(conv 16-32-64-128-256 frozen, fc 2000-2000, batch 256), with --freeze-convE: None, BI-R and the Generative
Classifier train on the features computed once, DGR on the images (its generator is a conv VAE and its samples go
through the conv layers). Random (not pre-trained) frozen conv layers: the arithmetic does not depend on them.

Each method is one ./main.py run (main.run) of --iters per context over 5 contexts, one after another on this
machine with --threads; the figure is the training time of contexts 2-5 (where the replay methods replay) per
100 iterations. The methods run in turn, `--repeats` times, and the median is shown (a busy machine penalises all).

    CL_DATA_DIR=/work/shared/datasets flock /work/cpu.lock python3 bench/cifar_methods.py [--iters 20]
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cli.options import parse  # noqa: E402
from cli.stamp import param_stamp  # noqa: E402
from train.experiment import run  # noqa: E402

METHODS = {"None": [], "DGR": ["--replay=generative"], "BI-R": ["--brain-inspired"],
           "Generative Classifier": ["--gen-classifier", "--gc-compare", "--eval-s=50"]}


def seconds_per_100(flags, iters, threads, out):
    args = parse(["--experiment=CIFAR10", "--scenario=class", "--freeze-convE", f"--iters={iters}", "--no-save",
                  "--quiet", f"--threads={threads}", f"--results-dir={out}", "--no-gpus", *flags])
    result = run(args, param_stamp(args))
    phases = result["seconds"]["train_per_phase"][1:]
    iterations = sum(iters // (2 if "--gen-classifier" in flags else 1) for _ in phases)  # GC: iters / classes
    return 100 * sum(phases) / iterations, result["seconds"]["eval"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--methods", default=",".join(METHODS))
    a = p.parse_args()
    names = a.methods.split(",")
    times = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as out:
        for r in range(a.repeats):
            for n in names:
                times[n].append(seconds_per_100(METHODS[n], a.iters, a.threads, os.path.join(out, f"{r}{n}")))
    base = statistics.median(t for t, _ in times["None"]) if "None" in times else None
    print(f"split CIFAR-10 class-IL, --freeze-convE, {a.threads} thread(s), --iters={a.iters} per context")
    for n in names:
        t = statistics.median(s for s, _ in times[n])
        e = statistics.median(s for _, s in times[n])
        ratio = f"  ({t / base:.1f}x None)" if base else ""
        print(f"{n:24s} {t:7.1f} s per 100 iterations{ratio}   evaluation total {e:.1f} s")


if __name__ == "__main__":
    main()
