#!/usr/bin/env python3
"""What does the task-free stream cost per iteration, next to a training step?

On synthetic uint8 images with split MNIST's context sizes, times per iteration: the stream's draw (fuzzy
boundaries, one context per sample and per batch), the academic loop's BatchSampler for comparison, the reservoir
update of a 1000-slot buffer, and one training step of the default split MNIST MLP (784-400-400-10, Adam, batch
128) including the batch's gather and preprocessing. Alternates them `--repeats` times and keeps the best of each,
so that a busy machine penalises all alike.

    python3 bench/stream_cost.py [--steps 500] [--repeats 3] [--device cpu]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from data.stream import Stream  # noqa: E402
from data.tensorset import BatchSampler, TensorSet  # noqa: E402
from methods.reservoir import Reservoir  # noqa: E402

SPLIT_MNIST_TRAIN = (12665, 12089, 11263, 12183, 11800)  # training samples of digits 0-1, 2-3, ... 8-9


def per_iteration(fn, steps, device):
    fn(0)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(steps):
        fn(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def run(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=500, help="iterations timed per measurement")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    device = torch.device(a.device)
    torch.manual_seed(0)
    sets = [TensorSet.of_context(torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, device=device),
                                 torch.randint(2 * c, 2 * c + 2, (n,), device=device), c)
            for c, n in enumerate(SPLIT_MNIST_TRAIN)]
    iters = 2000  # the paper's iterations per context; the stream is 10000 iterations long
    per_sample = Stream(sets, "fuzzy-boundaries", iters, a.batch, fuzziness=500)
    per_batch = Stream(sets, "fuzzy-boundaries", iters, a.batch, fuzziness=500, labels_per_batch=True)
    sampler = BatchSampler(sets[0], a.batch)
    reservoir = Reservoir(1000)
    data = per_sample.data
    model = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10))
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999))
    index = per_sample.draw(0)[0]

    def train_step(_):
        x = data.images[index].float().div_(255).flatten(1)
        loss = nn.functional.cross_entropy(model(x), data.labels[index])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # where in the stream does not change the work; spread the draws over it anyway
    stride = len(per_sample) // a.steps or 1
    timed = {
        "stream draw, context per sample": lambda i: per_sample.draw(i * stride % len(per_sample)),
        "stream draw, context per batch": lambda i: per_batch.draw(i * stride % len(per_batch)),
        "academic BatchSampler (main.py)": lambda i: next(sampler),
        "reservoir update, budget 1000": lambda i: reservoir.add(index),
        "training step (gather + MLP + Adam)": train_step,
    }
    best = {name: float("inf") for name in timed}
    for r in range(a.repeats):
        for name, fn in timed.items():
            best[name] = min(best[name], per_iteration(fn, a.steps, device))
        print(f"repeat {r + 1}: " + ", ".join(f"{name} {1e6 * best[name]:.0f} us" for name in timed))
    step = best["training step (gather + MLP + Adam)"]
    print(f"device: {device}, threads: {torch.get_num_threads()}, batch: {a.batch}, steps: {a.steps}")
    for name, s in best.items():
        print(f"{name:<40} {1e6 * s:8.1f} us per iteration   {100 * s / step:7.2f} % of a training step")


if __name__ == "__main__":
    run()
