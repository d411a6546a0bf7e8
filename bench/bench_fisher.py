#!/usr/bin/env python3
"""Seconds for the diagonal Fisher of one split-MNIST context: vectorised (torch.func) vs one sample at a time.

The network is the paper's split-MNIST classifier (784-400-400-outputs). methods.fisher takes linear layers from
the outer-product form of per-sample gradients; --vmap-n also times the pure torch.func path (every per-sample
gradient materialised), which is memory-bound on a CPU. The per-sample loop (the paper's code's
definition) is timed on --loop-n samples and extrapolated linearly to --n; both estimates are compared on those
samples first. Example: OMP_NUM_THREADS=1 python3 bench/bench_fisher.py --units 10
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from methods import fisher  # noqa: E402
from models.classifier import Classifier  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=12000, help="samples in the context (split MNIST: ~12,000)")
    p.add_argument("--units", type=int, default=10, help="active output units (class-IL 10, task-IL 2)")
    p.add_argument("--labels", default="all", choices=fisher.LABEL_CHOICES)
    p.add_argument("--loop-n", type=int, default=200, help="samples on which the per-sample loop is timed")
    p.add_argument("--chunk", type=int, default=1024, help="samples preprocessed per call (as methods.fisher)")
    p.add_argument("--vmap-n", type=int, default=0,
                   help="also time the pure torch.func path (every parameter by vmap(grad)) on this many samples")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = Classifier(28, 1, args.units, fc_layers=3, fc_units=400).to(device).eval()
    x = torch.rand(args.n, 1, 28, 28, device=device)
    targets = torch.randint(0, args.units, (args.n,), device=device)
    uniforms = torch.rand(args.n, device=device)
    units = slice(0, args.units)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    m = args.loop_n
    fast_small = fisher.diagonal_fisher(model, x[:m], 0, units, args.labels, targets[:m], uniforms[:m])
    sync()
    start = time.perf_counter()
    slow_small = fisher.diagonal_fisher_loop(model, x[:m], 0, units, args.labels, targets[:m], uniforms[:m])
    sync()
    loop_seconds = (time.perf_counter() - start) * args.n / m
    worst = max(((fast_small[k] - slow_small[k]).abs().max() / slow_small[k].abs().max()).item() for k in slow_small)

    start = time.perf_counter()
    for s in range(0, args.n, args.chunk):
        sl = slice(s, s + args.chunk)
        fisher.diagonal_fisher(model, x[sl], 0, units, args.labels, targets[sl], uniforms[sl])
    sync()
    fast_seconds = time.perf_counter() - start

    vmap_seconds = None
    if args.vmap_n:
        start = time.perf_counter()
        k = args.vmap_n
        fisher.diagonal_fisher(model, x[:k], 0, units, args.labels, targets[:k], uniforms[:k], vmap_only=True)
        sync()
        vmap_seconds = (time.perf_counter() - start) * args.n / k

    print(f"device {device}, threads {torch.get_num_threads()}, {args.n} samples, {args.units} active units, "
          f"labels={args.labels}")
    print(f"per-sample loop : {loop_seconds:8.2f} s  (timed on {m} samples, extrapolated x{args.n / m:g})")
    print(f"vectorised      : {fast_seconds:8.2f} s")
    if vmap_seconds is not None:
        print(f"pure vmap(grad) : {vmap_seconds:8.2f} s  (timed on {args.vmap_n} samples, extrapolated)")
    print(f"speed-up        : {loop_seconds / fast_seconds:8.1f}x   (max relative difference on the {m} samples: "
          f"{worst:.1e})")


if __name__ == "__main__":
    main()
