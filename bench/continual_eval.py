#!/usr/bin/env python3
"""What continual evaluation costs: the stability-gap example's run (rotated MNIST 0/80/160, incremental joint
training with a growing batch, SGD) without evaluation, then with context 1 tested on 2000 samples after every
iteration, alternated in one process; beside them, the bare forward passes that evaluation needs (the same number of
passes of the same network over the same 2000 preprocessed test samples, in eval mode, without gradients).

Evaluation adds no more than its forward passes when the run's logging seconds (the evaluation, timed inside the run)
are about the bare passes' seconds; the difference of the two runs' wall times says the same, more noisily (the
data are built in each run).

    python3 bench/continual_eval.py [--iters 500] [--repeats 2]      (real MNIST from $CL_DATA_DIR)
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

import main  # noqa: E402
from cli.options import parse  # noqa: E402
from train.experiment import build  # noqa: E402
from utils.nn import eval_mode  # noqa: E402

EXAMPLE = {"experiment": "rotMNIST", "rotations": "0,80,160", "scenario": "domain", "fc_layers": 3, "fc_units": 400,
           "optimizer": "sgd", "lr": 0.1, "batch": 128, "cumulative": True, "grow_batch": True}


@torch.no_grad()
def forward_passes(n_passes, n_samples, iters):
    """Seconds of n_passes forward passes of the example's (untrained) network over n_samples test samples."""
    args = parse(["--experiment=rotMNIST", "--scenario=domain", "--fc-layers=3", "--fc-units=400",
                  f"--iters={iters}", "--no-save", "--no-gpus"])
    setup = build(args)
    learner, test = setup.learner, setup.data.test[0]
    batch = learner.batch(test, torch.arange(min(n_samples, len(test))))
    start = time.perf_counter()
    with eval_mode(learner.model):
        for _ in range(n_passes):
            (learner.predict(batch.x, batch.context).argmax(1) == batch.y).sum().item()
    return time.perf_counter() - start


def main_(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=500, help="iterations per context (default: %(default)s)")
    p.add_argument("--eval-n", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    common = {**EXAMPLE, "results_dir": tempfile.mkdtemp(), "save": False, "quiet": True, "cuda": False,
              "iters": a.iters, "threads": 1}
    runs = {"without evaluation": {},
            "context 1 every iteration": {"eval_contexts": "1", "acc_log": 1, "acc_n": a.eval_n}}
    best = {}
    for r in range(a.repeats):
        for name, options in runs.items():
            start = time.perf_counter()
            record = main.run(**common, **options, seed=0)
            wall = time.perf_counter() - start
            if name not in best or wall < best[name][0]:
                best[name] = (wall, record["seconds"])
            print(f"repeat {r + 1}: {name:<27} wall {wall:6.2f} s  training {record['seconds']['train']:6.2f} s",
                  flush=True)
        passes = forward_passes(3 * a.iters, a.eval_n, a.iters)
        if "forward" not in best or passes < best["forward"]:
            best["forward"] = passes
        print(f"repeat {r + 1}: {3 * a.iters} bare forward passes on {a.eval_n} samples: {passes:6.2f} s", flush=True)
    (plain, _), (evaluated, seconds) = best["without evaluation"], best["context 1 every iteration"]
    print(f"best of {a.repeats}, {a.iters} iterations x 3 contexts, one thread:")
    print(f"  without evaluation            {plain:7.2f} s")
    print(f"  with, every iteration         {evaluated:7.2f} s   (of which logging {seconds['logging']:.2f} s)")
    print(f"  added                         {evaluated - plain:7.2f} s")
    print(f"  the bare forward passes       {best['forward']:7.2f} s")
    print(f"  logging / bare passes = {seconds['logging'] / best['forward']:.3f}x, "
          f"added wall / bare passes = {(evaluated - plain) / best['forward']:.3f}x")


if __name__ == "__main__":
    main_()
