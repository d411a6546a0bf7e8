#!/usr/bin/env python3
"""How much does our training loop cost over bare PyTorch?

Times the default `./main.py --experiment=splitMNIST --scenario=class` run (training phases only, and in total)
and a bare loop doing the same forward/backward/Adam steps on the same 784-400-400-10 MLP and batch size, on
tensors already in memory. Alternates the two `--repeats` times and reports the best of each, so that a busy
machine penalises both alike.

    CL_DATA_DIR=../shared/datasets python3 bench/bench_loop.py [--iters 2000] [--repeats 2]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import main  # noqa: E402
from cli.options import parse  # noqa: E402


def bare_loop(iters_total, batch, lr, data_dir):
    from data.mnist import load_mnist
    images, labels = load_mnist(data_dir, train=True)
    x = images.float().div(255).flatten(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10))
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    start = time.perf_counter()
    perm, pos = torch.randperm(len(x)), 0
    for _ in range(iters_total):
        if pos + batch > len(x):
            perm, pos = torch.randperm(len(x)), 0
        idx = perm[pos:pos + batch]
        pos += batch
        loss = nn.functional.cross_entropy(model(x[idx]), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def ours(iters, data_dir):
    args = parse(["--experiment=splitMNIST", "--scenario=class", f"--iters={iters}", "--no-save", "--quiet",
                  f"--data-dir={data_dir}", "--results-dir=./store/bench"])
    result = main.run(args)
    return result["seconds"]["train"], result["seconds"]["total"], result["average_accuracy"]


def run(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=2000, help="iterations per context (paper: 2000)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--data-dir", default=os.environ.get("CL_DATA_DIR", "./store/datasets"))
    a = p.parse_args(argv)
    best_bare, best_ours = float("inf"), (float("inf"), 0.0, 0.0)
    for r in range(a.repeats):
        bare = bare_loop(5 * a.iters, 128, 0.001, a.data_dir)
        mine = ours(a.iters, a.data_dir)
        print(f"repeat {r + 1}: bare loop {bare:.1f} s, ours {mine[0]:.1f} s training "
              f"({mine[1]:.1f} s with data loading and evaluation), class-IL accuracy {mine[2]:.4f}")
        best_bare, best_ours = min(best_bare, bare), min(best_ours, mine)
    print(f"threads: {torch.get_num_threads()}, iterations: {5 * a.iters}")
    print(f"best: bare {best_bare:.1f} s, ours {best_ours[0]:.1f} s training, {best_ours[1]:.1f} s total")
    print(f"ratio ours/bare (training): {best_ours[0] / best_bare:.3f}")


if __name__ == "__main__":
    run()
